"""Spawn on real repositories: rollback, repair of a half-done spawn, who may change
ownership, announcements, one live builder per issue, fresh bases."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import Sandbox, git

STRESS = bool(os.environ.get("CODEV_STRESS"))


def note_lines(box: Sandbox, branch: str) -> list[dict[str, object]]:
    blob = box.git("rev-parse", f"refs/notes/codev/owners:{box.anchor(branch)}").strip()
    return [json.loads(line) for line in box.git("cat-file", "-p", blob).splitlines()]


def inbox(box: Sandbox, **kwargs: Any) -> list[dict[str, Any]]:
    out = box.ok("inbox", "--peek", "--json", **kwargs).out
    return list(json.loads(out)["messages"])


def consistent(box: Sandbox) -> None:
    """No builder branch without a record, no record without its branch, no lock left,
    and git's own fsck clean."""
    branches = {ref.removeprefix("refs/heads/") for ref in box.refs("refs/heads/builder/")}
    rows = json.loads(box.ok("status", "--json").out)["builders"]
    recorded = {r["branch"] for r in rows}
    assert branches == recorded, (branches, recorded)
    assert all(r["branchState"] != "gone" for r in rows)
    assert list((box.root / ".git").rglob("*.lock")) == []
    fsck = subprocess.run(["git", "fsck"], cwd=box.root, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


# -- a failed spawn takes back only its own record -------------------------------------------
def test_failed_spawn_keeps_an_older_builders_history(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    old = sandbox.builder_dir("spir-1")
    sandbox.ok("send", "architect", "from the first builder", cwd=old)
    sandbox.git("worktree", "remove", str(old))
    sandbox.ok("release", "spir-1", as_="main")
    sandbox.git("branch", "-D", "builder/spir-1")
    history = note_lines(sandbox, "refs/heads/builder/spir-1")
    # the worktree cannot be made: .builders is a file now
    (sandbox.root / ".builders").rmdir()
    (sandbox.root / ".builders").write_text("in the way\n")
    failed = sandbox.run("spawn", "1", "--protocol", "spir", as_="main")
    assert failed.code == 1 and "worktree add" in failed.err
    assert note_lines(sandbox, "refs/heads/builder/spir-1") == history
    assert "refs/heads/builder/spir-1" not in sandbox.refs()
    (message,) = [m for m in inbox(sandbox, as_="main") if m["from"] == "builder-spir-1"]
    assert message["verified"] is True
    consistent(sandbox)


# -- a half-done spawn is finished by running it again ----------------------------------------
def test_spawn_again_repairs_a_missing_worktree(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "3", "--protocol", "spir", "--no-worktree", as_="main")
    again = sandbox.ok("spawn", "3", "--protocol", "spir", as_="main")
    assert "repaired builder-spir-3: created the missing worktree" in again.out
    assert (sandbox.builder_dir("spir-3") / ".thread").is_file()
    twice = sandbox.run("spawn", "3", "--protocol", "spir", as_="main")
    assert twice.code == 1 and "builder-spir-3 already exists" in twice.err
    consistent(sandbox)


def test_spawn_again_repairs_a_branch_left_without_record(sandbox: Sandbox) -> None:
    """What a spawn killed between its branch and its record leaves: a branch whose only
    reflog entry is the spawn's. Any other branch is not taken over silently."""
    head = sandbox.git("rev-parse", "HEAD").strip()
    sandbox.git(
        "update-ref", "-m", "codev: spawn builder-spir-4", "refs/heads/builder/spir-4", head
    )
    again = sandbox.ok("spawn", "4", "--protocol", "spir", as_="main")
    assert "repaired builder-spir-4: created the missing ownership record" in again.out
    assert sandbox.builder_dir("spir-4").is_dir()
    sandbox.git("branch", "builder/spir-5")
    mine = sandbox.run("spawn", "5", "--protocol", "spir", as_="main")
    assert mine.code == 1 and "adopt" in mine.err
    sandbox.git("branch", "-D", "builder/spir-5")  # the user's own branch, not a builder
    consistent(sandbox)


def test_stale_owners_lock_leaves_no_branch_without_record(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    lock = sandbox.root / ".git" / "refs" / "notes" / "codev" / "owners.lock"
    lock.write_text("")
    old = time.time() - 3600
    os.utime(lock, (old, old))
    refused = sandbox.run("spawn", "2", "--protocol", "spir", as_="main")
    assert refused.code == 1 and "owners.lock" in refused.err
    assert "refs/heads/builder/spir-2" not in sandbox.refs()
    assert not sandbox.builder_dir("spir-2").exists()
    lock.unlink()
    sandbox.ok("spawn", "2", "--protocol", "spir", as_="main")
    consistent(sandbox)


# -- only the owner changes ownership ------------------------------------------------------------
def test_only_the_owner_reassigns_or_releases(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    before = sandbox.snapshot()
    for args in (("reassign", "1", "--to", "payments"), ("release", "1")):
        refused = sandbox.run(*args, as_="payments")
        assert refused.code == 2 and "belongs to main" in refused.err and "--force" in refused.err
    assert sandbox.snapshot() == before
    sandbox.ok(
        "reassign", "1", "--to", "payments", "--force", "--reason", "main is away", as_="ops"
    )
    last = note_lines(sandbox, "refs/heads/builder/spir-1")[-1]
    assert last["architect"] == "payments" and last["by"] == "ops"
    assert last["force"] is True and last["reason"] == "main is away"
    sandbox.ok("release", "1", as_="payments")  # the owner now
    assert "force" not in note_lines(sandbox, "refs/heads/builder/spir-1")[-1]


def test_spawning_into_another_architects_thread_needs_force(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    (sandbox.root / "codev" / "README.md").write_text("codev state\n")
    sandbox.git("add", "codev")
    sandbox.git("commit", "-q", "-m", "codev dir")
    sandbox.ok("thread", "new", "checkout", "--headline", "Checkout", as_="payments")
    refused = sandbox.run("spawn", "1", "--protocol", "spir", "--thread", "checkout", as_="main")
    assert refused.code == 2 and "belongs to payments" in refused.err
    sandbox.ok("spawn", "1", "--protocol", "spir", "--thread", "checkout", as_="payments")
    sandbox.ok(
        "spawn", "2", "--protocol", "spir", "--thread", "checkout", "--force", "--reason", "pair",
        as_="main",
    )  # fmt: skip
    assert note_lines(sandbox, "refs/heads/builder/spir-2")[-1]["force"] is True


# -- reassign retags the worktree and tells everyone concerned -----------------------------------
def test_reassign_retags_worktree_and_announces(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="ops")
    b = sandbox.builder_dir("spir-1487")
    assert "architect: ops" in (b / ".thread").read_text()
    sandbox.ok("reassign", "1487", "--to", "payments", as_="ops")
    assert "architect: payments" in (b / ".thread").read_text()
    whoami = json.loads(sandbox.ok("whoami", "--json", cwd=b).out)
    assert whoami["architect"] == "payments"
    told = [m["message"] for m in inbox(sandbox, cwd=b)]
    assert (
        told[-1]
        == "ownership: builder-spir-1487 now belongs to payments (was ops); reassigned by ops"
    )
    assert told[-1] in [m["message"] for m in inbox(sandbox, as_="payments")]
    # forced by a third architect: the old owner is told too, once
    sandbox.ok("reassign", "1487", "--to", "main", "--force", "--reason", "rebalance", as_="ops")
    pay = [m["message"] for m in inbox(sandbox, as_="payments")]
    assert pay[-1].startswith("ownership: builder-spir-1487 now belongs to main (was payments)")
    assert sum("now belongs to main" in m for m in pay) == 1
    sandbox.ok("release", "1487", as_="main")
    assert not (b / ".thread").exists()
    last = sandbox.git("log", "-1", "--format=%B", "refs/codev/builders/builder-spir-1487")
    assert last.startswith("ownership: builder-spir-1487 was released by main")


def test_spawn_for_another_architect_tells_it(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "9", "--protocol", "air", "--architect", "payments", as_="main")
    (told,) = inbox(sandbox, as_="payments")
    assert told["message"].startswith("ownership: builder-air-9 was spawned by main for payments")
    assert told["from"] == "architect:main"
    (own,) = inbox(sandbox, cwd=sandbox.builder_dir("air-9"))
    assert own["message"] == told["message"]
    assert inbox(sandbox, as_="main") == []  # the actor is not told what it just did


# -- one issue, one builder ----------------------------------------------------------------------
def test_second_live_builder_for_an_issue_is_refused(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "42", "--protocol", "spir", as_="main")
    before = sandbox.snapshot()
    dup = sandbox.run("spawn", "42", "--protocol", "bugfix", as_="payments")
    assert dup.code == 2 and len(dup.err.strip().splitlines()) == 1
    assert "issue 42 already has a live builder: builder-spir-42 of main" in dup.err
    assert "reassign builder-spir-42 --to payments" in dup.err and "--force" in dup.err
    assert sandbox.snapshot() == before
    forced = sandbox.ok(
        "spawn", "42", "--protocol", "bugfix", "--force", "--reason", "hotfix first",
        "--json", as_="payments",
    )  # fmt: skip
    data = json.loads(forced.out)
    assert data["forced"] is True
    assert data["reason"] == "hotfix first; overrides builder-spir-42 of main"
    last = note_lines(sandbox, "refs/heads/builder/bugfix-42")[-1]
    assert last["force"] is True and last["reason"] == data["reason"]


def test_merged_or_released_builders_do_not_block(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "7", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-7")
    (b / "f.txt").write_text("work\n")
    git(b, "add", "f.txt")
    git(b, "commit", "-q", "-m", "work")
    sandbox.git("merge", "-q", "builder/spir-7")
    sandbox.ok("spawn", "7", "--protocol", "bugfix", as_="payments")  # spir-7 is merged
    sandbox.ok("release", "bugfix-7", as_="payments")
    sandbox.ok("spawn", "7", "--protocol", "air", "--no-worktree", as_="ops")


def test_builders_afx_knows_count(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.git("branch", "builder/spir-77")
    farm = tmp_path / "farm"
    farm.mkdir()
    conn = sqlite3.connect(farm / "global.db")
    conn.execute(
        "CREATE TABLE builders (workspace_path TEXT, id TEXT, status TEXT, phase TEXT, "
        "branch TEXT, protocol_name TEXT, issue_number INTEGER, spawned_by_architect TEXT, "
        "task_text TEXT)"
    )
    conn.execute(
        "INSERT INTO builders VALUES (?, 'builder-spir-77', 'implementing', 'implement', "
        "'builder/spir-77', 'spir', 77, 'ops', NULL)",
        (os.path.realpath(sandbox.root),),
    )
    conn.commit()
    conn.close()
    env: dict[str, str | None] = {"CODEV_AGENT_FARM_DIR": str(farm)}
    dup = sandbox.run("spawn", "77", "--protocol", "bugfix", as_="main", env=env)
    assert dup.code == 2 and "builder-spir-77 of ops (known to afx)" in dup.err
    sandbox.ok("spawn", "78", "--protocol", "bugfix", "--no-worktree", as_="main", env=env)


def test_32_concurrent_spawns_of_one_issue_make_one_builder(sandbox: Sandbox) -> None:
    attempts = 64 if STRESS else 32
    procs = []
    for n in range(attempts):
        who = "main" if n % 2 else "payments"
        proto = ("spir", "bugfix", "air", "pir")[n % 4]
        args = ["spawn", "500", "--protocol", proto]
        if n % 3 == 0:
            args.append("--no-worktree")
        procs.append(
            subprocess.Popen(
                ["git", "codev", *args],
                cwd=sandbox.root,
                env={**os.environ, "CODEV_ARCHITECT_NAME": who},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode == 0:  # a spawn, or the same spawn adding the winner's worktree
            outcomes.append(out.decode().split(" ", 1)[0])
        else:
            assert b"issue 500 already has a live builder" in err or b"already exists" in err, err
    assert outcomes.count("spawned") == 1 and set(outcomes) <= {"spawned", "repaired"}
    rows = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert [r["issueNumber"] for r in rows] == [500]
    consistent(sandbox)


def laptop(sandbox: Sandbox, tmp_path: Path) -> Sandbox:
    """A second clone of the sandbox through a bare remote that both call origin."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    sandbox.git("remote", "add", "origin", str(remote))
    sandbox.git("push", "-q", "origin", "main")
    other = Sandbox(tmp_path / "laptop")
    git(tmp_path, "clone", "-q", str(remote), str(other.root))
    other.ok("init")
    return other


def test_duplicate_across_clones_is_reported_by_sync(sandbox: Sandbox, tmp_path: Path) -> None:
    other = laptop(sandbox, tmp_path)
    sandbox.ok("spawn", "5", "--protocol", "spir", "--no-fetch", as_="main")
    other.ok("spawn", "5", "--protocol", "bugfix", "--no-fetch", as_="payments")
    sandbox.git("push", "-q", "origin", "builder/spir-5")
    other.git("push", "-q", "origin", "builder/bugfix-5")
    sandbox.ok("sync", as_="main")
    other.git("fetch", "-q", "origin")
    got = other.ok("sync", "--json", as_="payments")
    text = (
        "issue 5 has two live builders after sync: "
        "builder-bugfix-5 of payments and builder-spir-5 of main"
    )
    data = json.loads(got.out)
    assert text in data["warnings"]  # under --json, warnings are in the JSON
    assert data["duplicates"][0]["issueNumber"] == 5
    assert {b["id"] for b in data["duplicates"][0]["builders"]} == {
        "builder-bugfix-5",
        "builder-spir-5",
    }
    sandbox.git("fetch", "-q", "origin")
    again = sandbox.ok("sync", as_="main")  # told already: no second message
    assert text in again.err
    for box, name in ((other, "payments"), (sandbox, "main")):
        box.ok("sync", as_=name)
        told = [m for m in inbox(box, as_=name) if "two live builders" in m["message"]]
        assert len(told) == 1, (name, told)


def test_sync_without_an_architect_says_how_to_name_one(sandbox: Sandbox, tmp_path: Path) -> None:
    """The warning names a way that exists: sync takes --as like every command that acts as
    an architect, and with it the owners are told."""
    other = laptop(sandbox, tmp_path)
    sandbox.ok("spawn", "5", "--protocol", "spir", "--no-fetch", as_="main")
    other.ok("spawn", "5", "--protocol", "bugfix", "--no-fetch", as_="payments")
    sandbox.ok("sync", as_="main")
    third = Sandbox(tmp_path / "third")
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(third.root))
    anonymous = other.ok("sync")
    assert "two live builders" in anonymous.err
    assert "not told" in anonymous.err and "--as" in anonymous.err, anonymous.err
    other.ok("sync", as_="payments")  # publishes payments's record
    named = third.ok("sync", "--as", "payments")
    assert "two live builders" in named.err and "not told" not in named.err
    told = [m for m in inbox(third, as_="payments") if "two live builders" in m["message"]]
    assert len(told) == 1
    assert third.run("sync", "--as", "Bad Name").code == 2
    assert "no architect named ghost" in third.ok("sync", "--as", "ghost").err


def test_a_builder_brought_in_by_sync_counts(sandbox: Sandbox, tmp_path: Path) -> None:
    """The other clone has not pushed the builder's branch: its record alone refuses."""
    other = laptop(sandbox, tmp_path)
    sandbox.ok("spawn", "8", "--protocol", "spir", "--no-fetch", as_="main")
    sandbox.ok("sync")
    other.ok("sync")
    dup = other.run("spawn", "8", "--protocol", "air", "--no-fetch", as_="payments")
    assert dup.code == 2
    assert "builder-spir-8 of main (its branch is not in this clone)" in dup.err
    assert "'git codev release builder-spir-8'" in dup.err


# -- fresh bases ---------------------------------------------------------------------------------
def test_spawn_starts_from_the_fetched_upstream(sandbox: Sandbox, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    sandbox.git("remote", "add", "origin", str(remote))
    sandbox.git("push", "-q", "-u", "origin", "main")
    elsewhere = tmp_path / "elsewhere"
    git(tmp_path, "clone", "-q", str(remote), str(elsewhere))
    (elsewhere / "new.txt").write_text("new\n")
    git(elsewhere, "add", "new.txt")
    git(elsewhere, "commit", "-q", "-m", "newer upstream")
    git(elsewhere, "push", "-q", "origin", "main")
    upstream = git(elsewhere, "rev-parse", "HEAD").strip()
    data = json.loads(sandbox.ok("spawn", "1", "--protocol", "spir", "--json", as_="main").out)
    assert data["base"] == upstream and data["baseFetchedFrom"] == "origin/main"
    assert note_lines(sandbox, "refs/heads/builder/spir-1")[-1]["base"] == upstream
    local = sandbox.git("rev-parse", "main").strip()
    skip = json.loads(
        sandbox.ok("spawn", "2", "--protocol", "spir", "--no-fetch", "--json", as_="main").out
    )
    assert skip["base"] == local and skip["baseFetchedFrom"] is None
    # a local branch ahead of its upstream is the base: nothing was taken from the upstream
    sandbox.git("pull", "-q", "--ff-only")
    sandbox.git("commit", "-q", "--allow-empty", "-m", "local work")
    ahead = sandbox.git("rev-parse", "main").strip()
    mine = json.loads(sandbox.ok("spawn", "4", "--protocol", "spir", "--json", as_="main").out)
    assert mine["base"] == ahead and mine["baseFetchedFrom"] is None
    sandbox.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    offline = sandbox.run("spawn", "3", "--protocol", "spir", as_="main")
    assert offline.code == 0 and "warning: could not fetch main's upstream" in offline.err


def test_creating_a_branch_survives_a_sibling_being_deleted(sandbox: Sandbox) -> None:
    """Deleting a branch prunes its empty directories (refs/heads/builder/, and the same under
    logs/); a process creating a sibling branch (a spawn) in that instant must retry, not fail
    with "could not open .../logs/refs/heads/builder/... for writing"."""
    script = (
        "import sys\n"
        "from codev_git.store import Store\n"
        "store = Store.discover()\n"
        "head = store.resolve_commit('HEAD')\n"
        "name = 'refs/heads/builder/churn-' + sys.argv[1]\n"
        "for _ in range(300):\n"
        "    store.cas_update(name, lambda old: head if old is None else None, 'codev: spawn')\n"
        "    assert store.delete_ref(name, head)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(n)], cwd=sandbox.root, stderr=subprocess.PIPE
        )
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-300:]


def test_spawn_again_repairs_a_worktree_killed_before_git_wrote_its_commondir(
    sandbox: Sandbox,
) -> None:
    """``git worktree add`` killed early leaves an admin directory locked "initializing"
    with no ``commondir``, which ``git worktree remove`` cannot read: the same spawn again
    clears what git left and makes the worktree."""
    sandbox.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")
    path = sandbox.builder_dir("spir-2")
    admin = sandbox.root / ".git" / "worktrees" / "spir-2"
    admin.mkdir(parents=True)
    (admin / "locked").write_text("initializing")
    (admin / "gitdir").write_text(f"{path / '.git'}\n")
    path.mkdir(parents=True)
    (path / ".git").write_text(f"gitdir: {admin}\n")
    failed = subprocess.run(
        ["git", "worktree", "remove", "--force", "--force", str(path)],
        cwd=sandbox.root,
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0  # what the repair met: git cannot remove it
    sandbox.ok("spawn", "2", "--protocol", "spir", as_="main")
    row = json.loads(sandbox.ok("status", "--json").out)["builders"][0]
    assert row["id"] == "builder-spir-2" and row["worktree"] == str(path)
    assert sandbox.git("-C", str(path), "rev-parse", "--abbrev-ref", "HEAD").strip() == (
        "builder/spir-2"
    )


def test_refusals_never_tell_the_owner_to_take_over_its_own_builder(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.ok("spawn", "1481", "--protocol", "spir", as_="payments")
    sandbox.ok("thread", "new", "checkout-v2", as_="payments")
    before = sandbox.snapshot()
    again = sandbox.run(
        "spawn", "1481", "--protocol", "spir", "--thread", "checkout-v2", as_="payments"
    )
    other = sandbox.run("spawn", "1481", "--protocol", "bugfix", as_="payments")
    adopt = sandbox.run("adopt", "builder/spir-1481", "--thread", "checkout-v2", as_="payments")
    for result in (again, other, adopt):
        assert result.code in (1, 2) and len(result.err.strip().splitlines()) == 1, result.err
        assert "--to payments" not in result.err, result.err
    assert "yours" in again.err and "work with builder-spir-1481" in other.err
    assert "release" in adopt.err and "--thread" in adopt.err
    assert sandbox.snapshot() == before
    # another architect is still shown how to take it over
    theirs = sandbox.run("spawn", "1481", "--protocol", "bugfix", as_="main")
    assert "git codev reassign builder-spir-1481 --to main" in theirs.err
