"""The architect registry: architects are registered in the repository and sync with it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Sandbox, git, run_inprocess


def names(box: Sandbox) -> list[str]:
    rows = json.loads(box.ok("architect", "list", "--json").out)["architects"]
    return [r["name"] for r in rows]


def test_send_to_an_unknown_architect_is_refused_and_creates_nothing(sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    result = sandbox.run("send", "architect:ghost", "x", as_="main")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "known: main" in result.err and "git codev architect add ghost" in result.err
    assert sandbox.snapshot() == before
    assert "ghost" not in sandbox.ok("status").out


def test_as_and_filters_name_known_architects(sandbox: Sandbox) -> None:
    assert sandbox.run("whoami", "--as", "ghost").code == 2
    assert sandbox.run("status", "--architect", "ghost").code == 2
    assert sandbox.run("inbox", "--as", "ghost").code == 2
    sandbox.ok("architect", "add", "ghost")
    assert sandbox.ok("whoami", "--as", "ghost").code == 0
    assert sandbox.ok("status", "--architect", "ghost").code == 0


def test_add_auto_numbers_and_main_is_reserved(sandbox: Sandbox) -> None:
    one = json.loads(sandbox.ok("architect", "add", "--auto", "--json").out)
    two = json.loads(sandbox.ok("architect", "add", "--auto", "--json").out)
    assert (one["name"], two["name"]) == ("architect-1", "architect-2")
    assert one["added"] and len(one["commit"]) == 40
    again = json.loads(sandbox.ok("architect", "add", "architect-1", "--json").out)
    assert again == {"name": "architect-1", "added": False, "commit": None}
    assert sandbox.run("architect", "add", "main").code == 2
    assert sandbox.run("architect", "remove", "main").code == 2
    assert names(sandbox) == ["architect-1", "architect-2", "main"]


def test_spawn_registers_and_remove_is_refused_while_owning(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="payments")
    rows = json.loads(sandbox.ok("architect", "list", "--json").out)["architects"]
    pay = next(r for r in rows if r["name"] == "payments")
    assert pay["registered"] and pay["builders"] == ["builder-spir-1"]
    assert pay["lastActivity"].endswith("Z")
    refused = sandbox.run("architect", "remove", "payments")
    assert refused.code == 2 and "builder-spir-1" in refused.err and "reassign" in refused.err
    sandbox.ok("reassign", "1", "--to", "main", as_="payments")
    sandbox.ok("architect", "remove", "payments")
    assert "payments" not in names(sandbox)
    assert sandbox.run("send", "architect:payments", "x", as_="main").code == 2
    sandbox.ok("architect", "add", "payments")  # and back again: the last event wins
    assert "payments" in names(sandbox)


def test_older_repositories_know_owners_and_inboxes(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="ops")
    sandbox.git("update-ref", "-d", "refs/codev/architects")  # as if made before the registry
    blob = sandbox.git("rev-parse", "HEAD").strip()
    sandbox.git("update-ref", "refs/codev/inbox/legacy", blob)
    assert names(sandbox) == ["legacy", "main", "ops"]
    sandbox.ok("send", "architect:ops", "still works", as_="main")
    sandbox.ok("send", "architect:legacy", "so does this", as_="main")


def test_registry_syncs_and_concurrent_adds_merge(sandbox: Sandbox, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    sandbox.git("remote", "add", "origin", str(remote))
    sandbox.git("push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(remote), "other")
    other = Sandbox(tmp_path / "other")
    other.ok("init")
    sandbox.ok("architect", "add", "alpha")
    other.ok("architect", "add", "beta")
    sandbox.ok("sync")
    other.ok("sync")
    sandbox.ok("sync")
    assert names(sandbox) == names(other) == ["alpha", "beta", "main"]
    # a removal on one clone wins over the older add everywhere (causal order, not clocks)
    other.ok("architect", "remove", "alpha")
    other.ok("sync")
    sandbox.ok("sync")
    assert names(sandbox) == names(other) == ["beta", "main"]
    assert (
        run_inprocess(
            sandbox.root, ["send", "architect:alpha", "x"], {"CODEV_ARCHITECT_NAME": "main"}
        ).code
        == 2
    )


def test_forged_registry_events_are_skipped_with_one_warning(sandbox: Sandbox) -> None:
    tree = sandbox.git("write-tree").strip()
    bad = sandbox.git(
        "commit-tree",
        tree,
        "-m",
        'x\n\nCodev-Architect: {"event":"add","name":"Bad\\u001b","clock":1}',
    ).strip()
    sandbox.git("update-ref", "refs/codev/architects", bad)
    listed = sandbox.run("architect", "list", "--json")
    assert listed.code == 0
    data = json.loads(listed.out)
    assert [r["name"] for r in data["architects"]] == ["main"] and len(data["warnings"]) == 1


def test_thread_new_registers_its_owner_as_spawn_does(sandbox: Sandbox) -> None:
    """A thread owned by an architect nobody can write to would be an owner without an
    address: its owner is registered on the spot, as spawn registers the owner it names."""
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "alpha", "--architect", "payments", as_="main")
    sandbox.ok("thread", "new", "beta", as_="newbie")  # an architect named only by the env
    assert names(sandbox) == ["main", "newbie", "payments"]
    sandbox.ok("send", "architect:payments", "your thread", as_="main")
    sandbox.ok("send", "architect:newbie", "yours too", as_="main")
    before = sandbox.snapshot()
    assert sandbox.run("thread", "new", "alpha", "--architect", "ops", as_="main").code == 1
    assert sandbox.snapshot() == before and "ops" not in names(sandbox)  # refused: no trace


def test_a_builder_cannot_add_or_remove_architects(sandbox: Sandbox) -> None:
    """Architects are registered by architects (or by spawn/adopt naming one): a builder's
    worktree is refused, as reassign and release refuse it, and nothing is written."""
    sandbox.ok("spawn", "5", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-5")
    before = sandbox.snapshot()
    for args in (("architect", "add", "intruder"), ("architect", "remove", "main")):
        refused = sandbox.run(*args, cwd=worktree, env={"CODEV_ARCHITECT_NAME": "main"})
        assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1, refused.err
        assert "builder builder-spir-5 cannot" in refused.err
    assert sandbox.snapshot() == before
