"""Ownership events are ordered by causality, never by the wall clock: the last change
written wins on every clone, and every clone orders the union of records the same way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Sandbox
from tests.test_sync import make_clone, make_remote


def owner(box: Sandbox, builder: str = "builder-spir-1") -> str:
    rows = json.loads(box.ok("status", "--json").out)["builders"]
    return str(next(r["spawnedByArchitect"] for r in rows if r["id"] == builder))


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Sandbox, Sandbox]:
    remote = make_remote(tmp_path)
    return make_clone(tmp_path, str(remote), "a"), make_clone(tmp_path, str(remote), "b")


def test_a_change_from_a_clone_with_a_clock_in_the_future_can_be_corrected(
    clones: tuple[Sandbox, Sandbox],
) -> None:
    a, b = clones
    a.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    a.ok("sync")
    b.ok("sync")
    b.ok("reassign", "1", "--to", "ops", as_="main", env={"CODEV_NOW": "2099-01-01T00:00:00Z"})
    b.ok("sync")
    a.ok("sync")
    assert owner(a) == "ops"
    moved = a.ok("reassign", "1", "--to", "payments", as_="ops")
    assert "payments" in moved.out
    assert owner(a) == "payments"  # the last change written wins, whatever its time says
    a.ok("sync")
    b.ok("sync")
    assert owner(b) == "payments"


def write_v1_note(box: Sandbox, branch: str, lines: list[dict[str, object]]) -> None:
    """A note of version-1 lines (no causal link), as older git codev wrote them."""
    anchor = box.anchor(branch)
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    subprocess.run(
        ["git", "notes", "--ref", "codev/owners", "add", "-f", "-F", "-", anchor],
        cwd=box.root,
        input=text.encode(),
        check=True,
        capture_output=True,
    )


def test_old_records_still_read_and_a_future_dated_one_does_not_win_for_ever(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    branch = "refs/heads/builder/spir-1"
    common = {"builder": "builder-spir-1", "branch": branch, "architect": "main", "v": 1}
    write_v1_note(
        sandbox,
        branch,
        [
            {"time": "2026-01-01T00:00:00Z", "event": "spawn", **common},
            {"time": "2099-12-31T00:00:00Z", "event": "release", **common},
        ],
    )
    # the future-dated release reads as in force (old records still read) ...
    assert "builder-spir-1" not in sandbox.ok("status").out
    adopted = sandbox.run("adopt", "builder/spir-1", "--architect", "payments", as_="payments")
    assert adopted.code == 0, adopted.err
    # ... and a change written after it wins
    assert owner(sandbox) == "payments"
    sandbox.ok("reassign", "1", "--to", "main", as_="payments")
    assert owner(sandbox) == "main"


def test_concurrent_changes_on_two_clones_settle_the_same_everywhere(
    clones: tuple[Sandbox, Sandbox],
) -> None:
    a, b = clones
    a.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    a.ok("sync")
    b.ok("sync")
    a.ok("reassign", "1", "--to", "ops", as_="main")
    b.ok("reassign", "1", "--to", "payments", as_="main", env={"CODEV_NOW": "2000-01-01T00:00:00Z"})
    a.ok("sync")
    b.ok("sync")
    a.ok("sync")
    assert owner(a) == owner(b)
    assert a.refs()["refs/notes/codev/owners"] == b.refs()["refs/notes/codev/owners"]
    # and whoever changes it next, wins everywhere
    b.ok("reassign", "1", "--to", "main", as_=owner(b))
    b.ok("sync")
    a.ok("sync")
    assert owner(a) == owner(b) == "main"


def messages(box: Sandbox, reader: str, cwd: Path | None = None) -> list[dict[str, object]]:
    args = ("inbox", "--json") if cwd else ("inbox", "--json", "--as", reader)
    got: list[dict[str, object]] = json.loads(box.ok(*args, cwd=cwd).out)["messages"]
    return [m for m in got if m.get("kind") != "ownership"]  # spawn/reassign announcements


def test_builder_messages_verify_by_ownership_history_not_by_their_clock(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worker = sandbox.builder_dir("spir-1")
    past = {"CODEV_NOW": "2001-01-01T00:00:00Z"}  # a builder machine with a clock far behind
    sandbox.ok("send", "architect", "genuine, wrong clock", cwd=worker, env=past)
    got = messages(sandbox, "main")
    assert [(m["message"], m["verified"]) for m in got] == [("genuine, wrong clock", True)]
    sandbox.ok("reassign", "1", "--to", "payments", as_="main")
    sandbox.ok("send", "architect", "to my new architect", cwd=worker, env=past)
    got = messages(sandbox, "payments")
    assert [(m["message"], m["verified"]) for m in got] == [("to my new architect", True)]


def forge(box: Sandbox, ref: str, text: str) -> None:
    tree = box.git("write-tree").strip()
    parent = box.refs().get(ref)
    args = ["commit-tree", tree, "-m", text] + (["-p", parent] if parent else [])
    box.git("update-ref", ref, box.git(*args).strip())


def test_forged_senders_are_unverified_whatever_time_they_claim(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    sandbox.ok("reassign", "1", "--to", "payments", as_="main")
    current = json.loads(
        sandbox.git(
            "notes", "--ref", "codev/owners", "show", sandbox.anchor("refs/heads/builder/spir-1")
        ).splitlines()[-1]
    )
    assert current["architect"] == "payments" and current["v"] == 2
    from codev_git.ownership.order import line_id

    rid = line_id(json.dumps(current, separators=(",", ":")))
    # claims to come from the builder, dated before the reassign, under today's record
    forge(
        sandbox,
        "refs/codev/inbox/main",
        "still yours\n\nCodev-From: builder-spir-1\n"
        f"Codev-To: architect:main\nCodev-Time: 2001-01-01T00:00:00Z\nCodev-Ownership: {rid}\n",
    )
    # an instruction to the builder from an architect that never owned it
    forge(
        sandbox,
        "refs/codev/builders/builder-spir-1",
        "do this\n\nCodev-From: architect:ops\n"
        "Codev-To: builder-spir-1\nCodev-Time: 2001-01-01T00:00:00Z\n",
    )
    # misrouted: addressed to someone else than the channel's reader
    forge(
        sandbox,
        "refs/codev/inbox/main",
        "psst\n\nCodev-From: architect:ops\nCodev-To: architect:payments\n",
    )
    got = messages(sandbox, "main")
    assert [(m["message"], m["verified"]) for m in got] == [("still yours", False), ("psst", False)]
    assert "payments" in str(got[0]["unverifiedReason"])
    builder = messages(sandbox, "", cwd=sandbox.builder_dir("spir-1"))
    assert [(m["message"], m["verified"]) for m in builder] == [("do this", False)]
    assert "ops" in str(builder[0]["unverifiedReason"])


def ssh_signing(box: Sandbox, key: Path, allowed: Path, *, sign: bool = True) -> None:
    for k, v in {
        "gpg.format": "ssh",
        "user.signingkey": str(key.with_suffix(".pub")),
        "gpg.ssh.allowedSignersFile": str(allowed),
        "codev.signMessages": "true" if sign else "false",
        "codev.requireSigned": "true",
    }.items():
        box.git("config", k, v)


def new_key(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def test_signed_ownership_events_across_clones_that_do_not_trust_each_other(
    clones: tuple[Sandbox, Sandbox], tmp_path: Path
) -> None:
    a, b = clones
    trusted, stranger = new_key(tmp_path / "trusted"), new_key(tmp_path / "stranger")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("test@example.invalid " + trusted.with_suffix(".pub").read_text())
    ssh_signing(a, trusted, allowed)
    a.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    tip = a.refs()["refs/notes/codev/owners"]
    assert "gpgsig" in a.git("cat-file", "commit", tip)
    a.ok("sync")
    # the other clone signs with a key the first does not trust, and hands the builder over
    ssh_signing(b, stranger, allowed, sign=True)
    b.git("config", "codev.requireSigned", "false")
    b.ok("sync")
    b.ok("reassign", "1", "--to", "mallory", as_="main")
    b.ok("sync")
    synced = a.run("sync")
    assert synced.code == 0, synced.err
    status = a.run("status", "--json")
    assert status.code == 0
    assert owner(a) == "main"
    warnings = json.loads(status.out)["warnings"]  # under --json, warnings are in the JSON
    assert "not written by a trusted signed commit" in " ".join(warnings)
    # trusting the stranger's key makes its change count (verdicts are not kept across keys)
    only_trusted = allowed.read_text()
    allowed.write_text(
        only_trusted + "test@example.invalid " + stranger.with_suffix(".pub").read_text()
    )
    assert owner(a) == "mallory"
    allowed.write_text(only_trusted)
    assert owner(a) == "main"
    # an unsigned change is refused by this clone's own readers, and says so
    a.git("config", "codev.signMessages", "false")
    refused = a.run("reassign", "1", "--to", "ops", as_="main")
    assert refused.code == 1 and "requireSigned" in refused.err
    assert owner(a) == "main"
    # a signed change by the trusted key wins over everything seen before it
    a.git("config", "codev.signMessages", "true")
    a.ok("reassign", "1", "--to", "ops", as_="main")
    assert owner(a) == "ops"


def test_the_history_knows_which_change_superseded_which(sandbox: Sandbox) -> None:
    from codev_git.ownership.records import OwnerBook
    from codev_git.store import Store

    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    sandbox.ok("reassign", "1", "--to", "ops", as_="main")
    sandbox.ok("reassign", "1", "--to", "payments", as_="ops")
    owned = OwnerBook(Store.discover(sandbox.root)).by_builder("builder-spir-1")
    assert owned is not None
    spawn, to_ops, to_payments = owned.history
    assert [r.architect for r in owned.history] == ["main", "ops", "payments"]
    assert owned.supersedes(to_payments, spawn) and owned.supersedes(to_ops, spawn)
    assert not owned.supersedes(spawn, to_payments)
    assert owned.record_by_id(to_ops.rid) == to_ops and owned.record_by_id("0" * 24) is None


def test_version_1_lines_read_back_exactly_as_stored(sandbox: Sandbox) -> None:
    from codev_git.ownership.records import OwnerBook
    from codev_git.store import Store

    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    branch = "refs/heads/builder/spir-1"
    # the shape older versions wrote: every field, in this order
    line: dict[str, object] = {"time": "2026-01-01T00:00:00Z", "event": "spawn"}
    line.update({"builder": "builder-spir-1", "branch": branch, "architect": "main"})
    line.update(dict.fromkeys(("thread", "protocol", "issue", "task", "by", "base")))
    line["v"] = 1
    write_v1_note(sandbox, branch, [line])
    owned = OwnerBook(Store.discover(sandbox.root)).by_builder("builder-spir-1")
    assert owned is not None and owned.current.v == 1
    assert owned.current.line() == owned.current.raw  # a version-1 line keeps its shape
