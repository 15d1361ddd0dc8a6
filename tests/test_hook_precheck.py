"""The post-checkout hook starts Python only when the checkout may concern us: never for a
file checkout, never for a branch without an ownership note when there is no .thread to
remove. The interpreter pinned in the hook is a wrapper that logs each start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from codev_git.store import Store
from codev_git.worktree.hook_install import install
from tests.helpers import Sandbox


def checkout(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.fixture
def box(sandbox: Sandbox, tmp_path: Path) -> tuple[Sandbox, Path]:
    """The sandbox with an owned builder branch (no worktree), a plain branch, and the hook
    pinned to a logging wrapper around this interpreter."""
    log = tmp_path / "python-starts.log"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\necho started >> "{log}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    install(Store.discover(sandbox.root), python=str(wrapper))
    sandbox.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    sandbox.git("branch", "plain")
    (sandbox.root / "README.md").write_text("changed\n")
    return sandbox, log


def starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_file_checkouts_and_unowned_branches_never_start_python(
    box: tuple[Sandbox, Path],
) -> None:
    sandbox, log = box
    tracked = sandbox.git("ls-files").split()[0]
    (sandbox.root / tracked).write_text("scribble\n")
    checkout(sandbox.root, "checkout", "--", tracked)
    checkout(sandbox.root, "checkout", "-q", "plain")
    checkout(sandbox.root, "checkout", "-q", "--detach", "main")
    checkout(sandbox.root, "checkout", "-q", "main")
    checkout(sandbox.root, "worktree", "add", "-q", "../plain-wt", "-b", "other")
    assert starts(log) == 0
    assert not (sandbox.root / ".thread").exists()


def test_an_owned_branch_starts_python_and_tags_the_worktree(box: tuple[Sandbox, Path]) -> None:
    sandbox, log = box
    checkout(sandbox.root, "checkout", "-q", "builder/spir-1")
    assert starts(log) == 1
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-1"
    # leaving it: a .thread is there, so Python decides (and removes the one it wrote)
    checkout(sandbox.root, "checkout", "-q", "plain")
    assert starts(log) == 2
    assert not (sandbox.root / ".thread").exists()
    # a detached checkout with a .thread present is Python's decision too
    checkout(sandbox.root, "checkout", "-q", "builder/spir-1")
    checkout(sandbox.root, "checkout", "-q", "--detach", "main")
    assert starts(log) == 4


def test_a_hand_written_thread_file_is_left_alone(box: tuple[Sandbox, Path]) -> None:
    sandbox, log = box
    (sandbox.root / ".thread").write_text("my-own-thread\n")
    checkout(sandbox.root, "checkout", "-q", "plain")
    assert starts(log) == 1  # a .thread is there: Python looks, and keeps a foreign file
    assert (sandbox.root / ".thread").read_text() == "my-own-thread\n"
