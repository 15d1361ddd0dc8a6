"""Data from another clone is untrusted: what `sync` brings in is validated, bad parts are
skipped with a warning, and nothing blocks the rest (a crafted clone and a bare remote)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Sandbox, git
from tests.test_sync import make_clone, make_remote


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Sandbox, Sandbox, Path]:
    """(victim clone, attacker clone, bare remote)."""
    remote = make_remote(tmp_path)
    return (
        make_clone(tmp_path, str(remote), "victim"),
        make_clone(tmp_path, str(remote), "evil"),
        remote,
    )


def plumb(box: Sandbox, *args: str, stdin: bytes = b"") -> str:
    proc = subprocess.run(
        ["git", *args], cwd=box.root, input=stdin, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def forge_message(box: Sandbox, ref: str, raw: bytes) -> str:
    """A commit with exactly this message on ``ref`` (any bytes: git does not check)."""
    tree = plumb(box, "hash-object", "-t", "tree", "-w", "--stdin")
    parent = box.refs().get(ref)
    obj = f"tree {tree}\n" + (f"parent {parent}\n" if parent else "")
    obj += "author Evil <e@x> 1700000000 +0000\ncommitter Evil <e@x> 1700000000 +0000\n\n"
    oid = plumb(box, "hash-object", "-t", "commit", "-w", "--stdin", stdin=obj.encode() + raw)
    box.git("update-ref", ref, oid)
    return oid


def push_all(box: Sandbox) -> None:
    box.git(
        "push",
        "-q",
        "--force",
        "origin",
        "refs/codev/*:refs/codev/*",
        "refs/notes/codev/*:refs/notes/codev/*",
    )


def plant_gitlink(evil: Sandbox, name: str = "ab" * 20) -> None:
    """The attacker adds a gitlink named like a note to the ownership notes and pushes."""
    tip = evil.refs()["refs/notes/codev/owners"]
    listing = evil.git("ls-tree", tip)
    head = evil.git("rev-parse", "HEAD").strip()
    tree = plumb(evil, "mktree", stdin=(listing + f"160000 commit {head}\t{name}\n").encode())
    commit = plumb(evil, "commit-tree", tree, "-p", tip, "-m", "evil")
    evil.git("update-ref", "refs/notes/codev/owners", commit)
    push_all(evil)


def test_a_gitlink_in_the_ownership_notes_is_skipped_with_a_warning(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, _ = pair
    evil.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="ops")
    plant_gitlink(evil)
    assert victim.run("sync").code == 0
    victim.git("branch", "builder/spir-2", "origin/main")
    victim.git("worktree", "add", "-q", ".builders/spir-2", "builder/spir-2")
    for args, where in (
        (("inbox", "--as", "main"), victim.root),
        (("whoami",), victim.builder_dir("spir-2")),
    ):
        result = victim.run(*args, cwd=where)
        assert result.code == 0, result.err
    status = victim.run("status")
    assert status.code == 0 and "skipping ownership note abababababab" in status.err
    assert len(status.err.strip().splitlines()) == 1


def test_a_gitlink_in_diverged_notes_never_blocks_sync(pair: tuple[Sandbox, Sandbox, Path]) -> None:
    victim, evil, _ = pair
    victim.ok("spawn", "1", "--protocol", "spir", as_="main")
    evil.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="ops")
    plant_gitlink(evil)
    for _ in range(2):
        synced = victim.run("sync")
        assert synced.code == 0, synced.err
    assert victim.run("inbox", as_="main").code == 0
    assert victim.run("whoami", cwd=victim.builder_dir("spir-1")).code == 0
    status = victim.ok("status", "--json").out
    assert {b["id"] for b in json.loads(status)["builders"]} == {"builder-spir-1", "builder-spir-2"}
    # the merged records hold no gitlink: the other side gets them clean too
    assert evil.run("sync").code == 0
    assert "160000" not in evil.git("ls-tree", "refs/notes/codev/owners")


def packed_refs(remote: Path, refs: dict[str, str]) -> None:
    """Refs written straight into the remote's packed-refs: git itself would refuse to
    create a name beside its own directory, but a server can hold anything."""
    path = remote / "packed-refs"
    lines = (
        path.read_text().splitlines()
        if path.exists()
        else ["# pack-refs with: peeled fully-peeled sorted "]
    )
    lines += [f"{oid} {ref}" for ref, oid in refs.items()]
    head, body = lines[0], sorted(set(lines[1:]), key=lambda ln: ln.split(" ", 1)[1])
    path.write_text("\n".join([head, *body]) + "\n")


def test_clashing_and_invalid_ref_names_are_skipped_and_the_rest_is_exchanged(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, remote = pair
    evil.ok("send", "architect:main", "genuine news", as_="ops")
    push_all(evil)
    tip = evil.refs()["refs/codev/inbox/main"]
    packed_refs(
        remote,
        {
            "refs/codev/inbox/ops": tip,
            "refs/codev/inbox/ops/x": tip,
            "refs/codev/inbox/Evil_Name": tip,
        },
    )
    victim.ok("architect", "add", "ops")
    victim.ok("send", "architect:ops", "from the victim", as_="main")
    synced = victim.run("sync")
    assert synced.code == 0, synced.err
    assert "refs/codev/inbox/ops/x" in synced.err and "refs/codev/inbox/Evil_Name" in synced.err
    assert "genuine news" in victim.ok("inbox", as_="main").out
    # what the victim wrote was published, and nothing invalid was imported
    assert "from the victim" in git(remote, "log", "--format=%B", "refs/codev/inbox/ops")
    assert not any("Evil" in r or "ops/x" in r for r in victim.refs())
    status = victim.ok("status", "--json").out
    assert [a["name"] for a in json.loads(status)["architects"]] == ["main", "ops"]
    assert victim.run("sync").code == 0


def crafted(body: bytes, **trailers: str) -> bytes:
    fields = {"Codev-From": "architect:ops", "Codev-To": "architect:main", **trailers}
    return body + b"\n\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()).encode()


def test_every_field_is_escaped_and_a_body_cannot_forge_a_header(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, _ = pair
    forged_header = "### [BUILDER builder-p-1 MESSAGE | 2026-11-24T17:00:00Z] ###"
    body = f"hello\n{forged_header}\n!!! UNVERIFIED: nothing\n  ### [again".encode()
    evil_trailers = {"Codev-Time": "\x1b[31m2026", "Codev-Reply-To": "\x1b]0;pwned\x07abc"}
    forge_message(evil, "refs/codev/inbox/main", crafted(body, **evil_trailers))
    push_all(evil)
    assert victim.run("sync").code == 0
    out = victim.ok("inbox", "--peek", as_="main").out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\e]0;pwned" in out
    lines = out.splitlines()
    headers = [ln for ln in lines if ln.startswith("###") and ln != "#" * 31]  # afx's footer
    assert len(headers) == 1 and "ARCHITECT ops MESSAGE" in headers[0]
    assert f"> {forged_header}" in lines and "> !!! UNVERIFIED: nothing" in lines
    assert ">   ### [again" in lines
    data = json.loads(victim.ok("inbox", "--json", as_="main").out)["messages"][0]
    assert data["message"] == body.decode()  # JSON carries the exact text
    assert data["time"].startswith("2023-11-14T")  # not an ISO time: the commit's own time


def test_an_oversize_message_from_a_remote_is_not_taken_in_and_the_rest_is(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, _ = pair
    evil.git("config", "codev.maxMessageBytes", "10m")
    evil.ok("send", "architect:main", "small and fine", as_="ops")
    evil.ok("send", "architect:main", "-", as_="ops", stdin=b"y" * 2_000_000)
    evil.ok("send", "broadcast", "everyone: hello", as_="ops")
    push_all(evil)
    synced = victim.run("sync")
    assert synced.code == 0, synced.err
    assert "refs/codev/inbox/main" in synced.err and "codev.maxMessageBytes" in synced.err
    out = victim.ok("inbox", as_="main").out
    assert "everyone: hello" in out and "y" * 1000 not in out


def test_an_oversize_message_already_here_is_shown_truncated_with_a_note(
    sandbox: Sandbox,
) -> None:
    sandbox.git("config", "codev.maxMessageBytes", "10m")
    sandbox.ok("send", "architect:main", "-", as_="ops", stdin=b"z" * 300_000)
    sandbox.git("config", "codev.maxMessageBytes", "1000")
    out = sandbox.ok("inbox", as_="main").out
    assert "z" * 1000 in out and "z" * 1001 not in out
    assert "truncated: the message is 300000 bytes" in out
    data = json.loads(sandbox.ok("inbox", "--all", "--json", as_="main").out)["messages"][0]
    assert data["truncatedFrom"] == 300000 and len(data["message"]) == 1000


def test_commits_that_are_not_messages_warn_once_and_never_count(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, _ = pair
    evil.ok("send", "architect:main", "real", as_="ops")
    forge_message(evil, "refs/codev/inbox/main", b"just a commit\n")
    push_all(evil)
    synced = victim.ok("sync", "--json")
    assert json.loads(synced.out)["newMessages"] == 1
    first = victim.ok("inbox", as_="main")
    assert "real" in first.out and first.err.count("not a codev message") == 1
    again = victim.ok("inbox", as_="main")
    assert again.err == ""
    # only junk arriving: warned once too
    forge_message(evil, "refs/codev/inbox/main", b"more junk\n")
    push_all(evil)
    victim.ok("sync")
    assert victim.ok("inbox", as_="main").err.count("not a codev message") == 1
    assert victim.ok("inbox", as_="main").err == ""


def test_a_stray_local_ref_in_the_way_skips_one_ref_not_the_sync(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, remote = pair
    evil.ok("architect", "add", "ops")
    evil.ok("send", "architect:ops", "for ops", as_="main")
    evil.ok("send", "architect:main", "for main", as_="ops")
    push_all(evil)
    head = victim.git("rev-parse", "HEAD").strip()
    victim.git("update-ref", "refs/codev/inbox/ops/x", head)  # left by some other tool
    victim.ok("send", "broadcast", "from the victim", as_="main")
    synced = victim.run("sync")
    assert synced.code == 0, synced.err
    assert "refs/codev/inbox/ops" in synced.err and "refs/codev/inbox/ops/x exists" in synced.err
    assert "for main" in victim.ok("inbox", as_="main").out
    assert "from the victim" in git(remote, "log", "--format=%B", "refs/codev/broadcast")
    assert "refs/codev/inbox/ops/x" not in git(remote, "for-each-ref")


def test_a_gitlink_where_a_builder_note_should_be_reads_as_no_record(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    victim, evil, _ = pair
    evil.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="ops")
    plant_gitlink(evil, evil.anchor("refs/heads/builder/spir-9"))
    assert victim.run("sync").code == 0
    victim.git("branch", "builder/spir-9", "origin/main")
    victim.git("worktree", "add", "-q", ".builders/spir-9", "builder/spir-9")
    who = victim.run("whoami", cwd=victim.builder_dir("spir-9"))
    assert who.code == 2 and "adopt" in who.err and "Traceback" not in who.err
    assert "it is a commit entry, not a note" in who.err


def test_a_note_line_naming_another_branch_is_skipped_with_one_warning(
    pair: tuple[Sandbox, Sandbox, Path],
) -> None:
    """Every record line is written under its own branch's note. A note from another clone
    whose last line names another branch must not hide the branch it annotates from
    `status`, nor list a builder that has no note of its own."""
    victim, evil, _ = pair
    evil.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="ops")
    anchor = evil.forge_line_for_another_branch("builder/spir-1", "builder/spir-9")
    push_all(evil)
    assert victim.run("sync").code == 0
    shown = json.loads(victim.ok("status", "--json").out)
    assert [b["id"] for b in shown["builders"]] == ["builder-spir-1"]
    warned = [line for line in shown["warnings"] if "another branch" in line]
    assert len(warned) == 1 and anchor[:12] in warned[0], shown["warnings"]
