"""The paths that protect data when something goes wrong: rollbacks, lost races, retries that
run out. Each is driven on a real repository into the failure it guards against."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from codev_git.errors import OperationalError
from codev_git.layout import OWNERS_REF
from codev_git.store import CasConflict, Ident, Store
from tests.helpers import Sandbox, git

ACTOR = Ident("Test Architect", "test@example.invalid")


def _hook(root: Path, name: str, script: str) -> None:
    hooks = root / "hooks" if (root / "HEAD").is_file() else root / ".git" / "hooks"
    path = hooks / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _thread_ready(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir(exist_ok=True)


# -- thread edits roll back when git refuses the commit -----------------------------------------
def test_thread_new_rolls_back_when_the_commit_is_refused(sandbox: Sandbox) -> None:
    _thread_ready(sandbox)
    before = sandbox.snapshot()
    _hook(sandbox.root, "pre-commit", "echo 'policy: no commits today' >&2\nexit 1\n")
    result = sandbox.run("thread", "new", "checkout-v2", as_="main")
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    assert not (sandbox.root / "codev" / "checkout-v2-thread.md").exists()
    assert sandbox.snapshot() == before  # no commit, nothing staged, no file left


def test_thread_refresh_and_archive_roll_back_when_the_commit_is_refused(
    sandbox: Sandbox,
) -> None:
    _thread_ready(sandbox)
    sandbox.ok("thread", "new", "checkout-v2", as_="main")
    sandbox.ok("spawn", "7", "--protocol", "air", "--thread", "checkout-v2", as_="main")
    path = sandbox.root / "codev" / "checkout-v2-thread.md"
    text = path.read_text()
    marker = "<!-- codev:roster:begin -->"
    assert marker in text
    path.write_text(text.replace(marker, marker + "\nstale roster line"))
    sandbox.git("commit", "-q", "-am", "a hand edit")
    edited = path.read_text()
    before = sandbox.snapshot()
    _hook(sandbox.root, "pre-commit", "exit 1\n")
    refresh = sandbox.run("thread", "refresh", "checkout-v2", as_="main")
    assert refresh.code == 1
    assert path.read_text() == edited and sandbox.snapshot() == before
    archive = sandbox.run("thread", "archive", "checkout-v2", "--force", as_="main")
    assert archive.code == 1
    assert path.read_text() == edited and sandbox.snapshot() == before
    assert not (sandbox.root / "codev" / "archive").exists()


# -- compare-and-swap: lost creation races, and giving up ---------------------------------------
def test_creating_a_ref_that_another_writer_created_first_is_a_lost_race(
    sandbox: Sandbox,
) -> None:
    store = Store.discover(sandbox.root)
    head = store.resolve_commit("HEAD")
    store.cas_update("refs/codev/test", lambda old: head if old is None else None, "first")
    with pytest.raises(CasConflict):
        store._create_ref("refs/codev/test", head, "second")  # decided under the ref's lock
    seen: list[str | None] = []

    def compute(old: str | None) -> str | None:
        seen.append(old)
        return head if old is None else None

    assert store.cas_update("refs/codev/test", compute, "third") == (head, head)
    assert seen == [head]  # the creator saw the ref exists and left it alone


def test_compare_and_swap_gives_up_after_its_attempts_with_one_line(sandbox: Sandbox) -> None:
    store = Store.discover(sandbox.root)
    head = store.resolve_commit("HEAD")
    store.cas_update("refs/codev/busy", lambda old: head, "create")
    lock = sandbox.root / ".git" / "refs" / "codev" / "busy.lock"
    lock.write_text("")  # a fresh lock: a live writer, as far as anyone can tell
    calls: list[int] = []

    def compute(old: str | None) -> str:
        calls.append(1)
        return store.write_commit(
            tree=store.empty_tree(), parents=[head], author=ACTOR, message=b"x\n"
        )

    with pytest.raises(OperationalError) as caught:
        store.cas_update("refs/codev/busy", compute, "blocked", attempts=3)
    # the lock that kept it from moving is named, with what to do about it
    assert f"ref refs/codev/busy stayed locked by {lock} while 3 attempts waited" in str(
        caught.value
    )
    assert f"rm '{lock}'" in str(caught.value)
    assert len(calls) == 3 and store.ref_target("refs/codev/busy") == head
    lock.unlink()


# -- ownership notes that git has fanned out ------------------------------------------------------
def test_ownership_notes_in_a_fanned_out_tree_are_read_and_written(sandbox: Sandbox) -> None:
    """git fans a big notes tree out into ``ab/cdef…`` directories; records stored that way
    (by git itself, or by a clone that used git notes) are read, and the next write keeps
    exactly one note per builder, which git still reads."""
    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    anchor = sandbox.anchor("refs/heads/builder/spir-1")
    tip = sandbox.git("rev-parse", OWNERS_REF).strip()
    entries = sandbox.git("ls-tree", tip).splitlines()
    flat = [e for e in entries if e.endswith("\t" + anchor)]
    assert len(flat) == 1
    blob = flat[0].split()[2]
    subtree = _mktree(sandbox.root, [f"100644 blob {blob}\t{anchor[2:]}"])
    rest = [e for e in entries if not e.endswith("\t" + anchor)]
    fanned = _mktree(sandbox.root, [*rest, f"040000 tree {subtree}\t{anchor[:2]}"])
    commit = sandbox.git("commit-tree", fanned, "-p", tip, "-m", "fan out").strip()
    sandbox.git("update-ref", OWNERS_REF, commit, tip)

    status = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert [b["id"] for b in status] == ["builder-spir-1"]
    sandbox.ok("architect", "add", "payments")
    sandbox.ok("reassign", "1", "--to", "payments", as_="main")
    paths = [
        line.split("\t", 1)[1] for line in sandbox.git("ls-tree", "-r", OWNERS_REF).splitlines()
    ]
    notes = [p for p in paths if p in (anchor, f"{anchor[:2]}/{anchor[2:]}")]
    assert len(notes) == 1  # one note for the builder, not a flat one beside a fanned one
    shown = sandbox.git("notes", "--ref", "codev/owners", "show", anchor)
    assert '"architect":"payments"' in shown.splitlines()[-1] or "payments" in shown
    status = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert status[0]["spawnedByArchitect"] == "payments"


def _mktree(root: Path, lines: list[str]) -> str:
    import subprocess

    proc = subprocess.run(
        ["git", "mktree"],
        cwd=root,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    return proc.stdout.strip()


# -- sync gives up when the remote keeps moving ---------------------------------------------------
def test_sync_gives_up_after_its_attempts_when_the_remote_keeps_moving(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    sandbox.git("remote", "add", "origin", str(remote))
    sandbox.ok("send", "broadcast", "first", as_="main")
    sandbox.ok("sync")
    # every push: someone else moves the broadcast channel on the remote first
    _hook(
        remote,
        "pre-receive",
        # outside the push's quarantine, as a concurrent pusher would
        "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
        "tip=$(git rev-parse refs/codev/broadcast)\n"
        'new=$(git commit-tree "$tip^{tree}" -p "$tip" -m "Codev-From: architect:ops")\n'
        'git update-ref refs/codev/broadcast "$new" "$tip"\n',
    )
    sandbox.git("config", "codev.syncAttempts", "2")
    sandbox.ok("send", "broadcast", "second", as_="main")
    result = sandbox.run("sync")
    assert result.code == 1
    assert "rejected the push 2 times" in result.err and "run 'git codev sync' again" in result.err
    assert len(result.err.strip().splitlines()) == 1
    # nothing lost: the local channel holds our message and everything fetched
    log = sandbox.git("log", "--format=%B", "refs/codev/broadcast")
    assert "second" in log and "first" in log
