"""Plain `send architect MESSAGE` from a builder and `inbox` with nothing unread run without
click or pygit2, and write exactly what the full command writes; anything unusual goes the
full way (CODEV_NO_FAST_PATH=1 forces it, to compare)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import Sandbox, git

FULL = {"CODEV_NO_FAST_PATH": "1"}


def codev(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "codev", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def commit_shape(root: Path, oid: str) -> tuple[list[str], list[str]]:
    """(header field names, trailer keys) of a message commit."""
    text = git(root, "cat-file", "commit", oid)
    head, _, message = text.partition("\n\n")
    trailers = message.rstrip("\n").rsplit("\n\n", 1)[-1].splitlines()
    return [ln.split(" ")[0] for ln in head.splitlines()], [t.split(":")[0] for t in trailers]


def test_fast_and_full_send_write_the_same_message(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "checkout-v2", as_="main")
    sandbox.ok("spawn", "1", "--protocol", "spir", "--thread", "checkout-v2", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    assert codev(worktree, "send", "architect", "first", env=FULL).returncode == 0
    fast = codev(worktree, "send", "architect", "fast one")
    full = codev(worktree, "send", "architect", "full one", env=FULL)
    assert fast.returncode == full.returncode == 0 and fast.stderr == full.stderr == ""
    assert fast.stdout.split()[0] == full.stdout.split()[0] == "sent"
    assert fast.stdout.split()[2:] == full.stdout.split()[2:]
    shown = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in shown] == ["first", "fast one", "full one"]
    assert {(m["from"], m["to"], m["thread"]) for m in shown} == {
        ("builder-spir-1", "architect:main", "checkout-v2")
    }
    ids = [m["id"] for m in shown]
    assert fast.stdout.split()[1] == ids[1][:12] and full.stdout.split()[1] == ids[2][:12]
    assert commit_shape(sandbox.root, ids[1]) == commit_shape(sandbox.root, ids[2])
    assert git(sandbox.root, "rev-parse", f"{ids[2]}^").strip() == ids[1]
    git(sandbox.root, "fsck", "--strict", "--no-dangling")


def test_fast_paths_import_neither_click_nor_pygit2(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    probe = (
        "import sys; from codev_git.fastpath import attempt; "
        "code = attempt(sys.argv[1:]); "
        "print(code, 'click' in sys.modules, 'pygit2' in sys.modules)"
    )

    def run(cwd: Path, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            cwd=cwd,
            env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.splitlines()[-1]

    worktree = sandbox.builder_dir("spir-1")
    assert run(worktree, "send", "architect", "hello") == "0 False False"
    assert run(worktree, "inbox") == "None False False"  # the spawn's announcement is unread
    sandbox.ok("inbox", cwd=worktree)
    assert run(worktree, "inbox") == "0 False False"  # now the builder has nothing unread
    assert run(sandbox.root, "inbox") == "None False False"  # one unread: the full command
    sandbox.ok("inbox", as_="main")
    assert run(sandbox.root, "inbox") == "0 False False"


def test_packed_refs_are_read_and_appended_to(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    assert codev(worktree, "send", "architect", "one").returncode == 0
    sandbox.ok("inbox", as_="main")
    git(sandbox.root, "pack-refs", "--all")
    assert not (sandbox.root / ".git" / "refs" / "codev" / "inbox" / "main").exists()
    env = {"CODEV_ARCHITECT_NAME": "main"}
    assert codev(sandbox.root, "inbox", env=env).stdout == "no unread messages for architect:main\n"
    assert codev(worktree, "send", "architect", "two").returncode == 0
    shown = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in shown] == ["two"]
    assert git(sandbox.root, "rev-list", "--count", "refs/codev/inbox/main").strip() == "2"


def test_what_the_fast_path_does_not_handle_gets_the_full_commands_answer(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    git(sandbox.root, "config", "codev.maxMessageBytes", "4")
    for env in (None, FULL):
        too_long = codev(worktree, "send", "architect", "longer than four", env=env)
        assert too_long.returncode == 2 and "the limit is 4" in too_long.stderr
    git(sandbox.root, "config", "--unset", "codev.maxMessageBytes")
    for env in (None, FULL):
        empty = codev(worktree, "send", "architect", "   ", env=env)
        assert empty.returncode == 2 and "the message is empty" in empty.stderr
        nobody = codev(sandbox.root, "inbox", env={**(env or {}), "CODEV_ARCHITECT_NAME": ""})
        assert nobody.returncode == 2 and "cannot tell which architect" in nobody.stderr
    assert not sandbox.refs("refs/codev/inbox/")
