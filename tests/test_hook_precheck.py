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
from tests.helpers import Sandbox, sign_with_ssh


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


def counting_git(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment in which every git process writes its command line to a log (git's
    trace2, inherited by the hook's own git processes), and that log."""
    import os

    log = tmp_path / "git-starts.log"
    return {**os.environ, "GIT_TRACE2": str(log)}, log


def hook_gits(sandbox: Sandbox, env: dict[str, str], log: Path, branch: str) -> int:
    """How many git processes the hook started for ``git checkout -q branch``."""
    log.unlink(missing_ok=True)
    done = subprocess.run(
        ["git", "checkout", "-q", branch], cwd=sandbox.root, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    starts = [line for line in log.read_text().splitlines() if " start " in line]
    assert "checkout" in starts[0]
    return len(starts) - 1  # the checkout itself is one


def test_the_owned_branch_list_spares_git_until_a_ref_moves_behind_its_back(
    box: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    sandbox, python_log = box
    env, log = counting_git(tmp_path)
    owned = (sandbox.root / ".git" / "codev" / "owned-branches.sh").read_text()
    tip = sandbox.git("rev-parse", "refs/notes/codev/owners").strip()
    assert owned == f"codev_owners_tip={tip}\ncodev_owned=' refs/heads/builder/spir-1 '\n"
    assert hook_gits(sandbox, env, log, "plain") == 0
    assert hook_gits(sandbox, env, log, "main") == 0 and starts(python_log) == 0
    sandbox.git("branch", "-D", "plain")  # git rewrites packed-refs: the list still holds
    sandbox.git("pack-refs", "--all")  # the notes ref is packed now: still the same tip
    assert hook_gits(sandbox, env, log, "main") == 0  # its line is read from packed-refs
    sandbox.git("branch", "plain")
    # the notes ref moves without git codev (a hand-made commit): the list is not trusted
    moved = sandbox.git("commit-tree", f"{tip}^{{tree}}", "-p", tip, "-m", "by hand").strip()
    sandbox.git("update-ref", "refs/notes/codev/owners", moved)
    assert hook_gits(sandbox, env, log, "plain") == 2  # git is asked, and says "not ours"
    assert hook_gits(sandbox, env, log, "builder/spir-1") == 2 and starts(python_log) == 1
    assert (sandbox.root / ".thread").exists()
    checkout(sandbox.root, "checkout", "-q", "main")
    # the next record git codev writes brings the list up to date again
    sandbox.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")
    assert hook_gits(sandbox, env, log, "plain") == 0
    assert hook_gits(sandbox, env, log, "builder/spir-2") == 0 and starts(python_log) == 3
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-2"


def test_installing_the_hook_writes_the_list_for_records_already_there(
    box: tuple[Sandbox, Path],
) -> None:
    sandbox, _ = box
    owned = sandbox.root / ".git" / "codev" / "owned-branches.sh"
    owned.unlink()  # as in a repository whose records predate the list
    sandbox.ok("hooks", "install")
    assert "refs/heads/builder/spir-1" in owned.read_text()


def test_a_list_that_cannot_be_written_fails_no_command(box: tuple[Sandbox, Path]) -> None:
    sandbox, python_log = box
    owned = sandbox.root / ".git" / "codev" / "owned-branches.sh"
    owned.unlink()
    owned.mkdir()  # in the way: the list cannot be written
    sandbox.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")
    assert owned.is_dir() and list(owned.iterdir()) == []
    assert list(owned.parent.glob("*.tmp")) == []  # nothing half-written left
    checkout(sandbox.root, "checkout", "-q", "builder/spir-2")  # the hook asks git instead
    assert starts(python_log) == 1
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-2"


@pytest.mark.parametrize(
    "damage",
    [
        "unterminated",  # cut short in the middle of the list
        "garbage",  # not the two lines git codev writes
        "command",  # shell text: the hook reads the list, it never runs it
    ],
)
def test_a_damaged_list_fails_no_checkout_and_is_not_trusted(
    box: tuple[Sandbox, Path], damage: str
) -> None:
    sandbox, python_log = box
    owned = sandbox.root / ".git" / "codev" / "owned-branches.sh"
    tip = sandbox.git("rev-parse", "refs/notes/codev/owners").strip()
    marker = sandbox.root.parent / "ran"
    owned.write_text(
        {
            "unterminated": f"codev_owners_tip={tip}\ncodev_owned=' refs/heads/plain\n",
            "garbage": "codev_owners_tip=(\n)\n",
            "command": f"codev_owners_tip={tip}\ncodev_owned=' '; touch '{marker}'\n",
        }[damage]
    )
    checkout(sandbox.root, "checkout", "-q", "builder/spir-1")  # exit 0, nothing printed
    assert not marker.exists()
    # not trusted: git is asked, and the owned branch is tagged
    assert starts(python_log) == 1
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-1"


def test_a_note_that_also_names_another_branch_still_lists_its_own(
    box: tuple[Sandbox, Path],
) -> None:
    """A note arrives from another clone holding, after the branch's own record, a later
    line that names another branch. Python's lookup keeps the lines of the branch the note
    annotates, so the branch is still owned: the list must name it too."""
    sandbox, python_log = box
    sandbox.forge_line_for_another_branch("builder/spir-1", "builder/spir-9")
    # git codev writes the list again when it next moves the notes ref
    sandbox.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")
    checkout(sandbox.root, "checkout", "-q", "builder/spir-1")
    assert starts(python_log) == 1
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-1"


def test_the_list_does_not_depend_on_require_signed(
    box: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    """The list is written while codev.requireSigned hides an unsigned record; once the
    setting is dropped the branch is owned again, and its checkout must be tagged."""
    sandbox, python_log = box
    sign_with_ssh(sandbox, tmp_path, require=True)
    sandbox.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")  # a signed one
    sandbox.git("config", "--unset", "codev.requireSigned")
    checkout(sandbox.root, "checkout", "-q", "builder/spir-1")
    assert starts(python_log) == 1
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-1"


def test_a_rebase_of_a_detached_head_inside_a_bisect_concerns_the_bisected_branch(
    box: tuple[Sandbox, Path],
) -> None:
    """git records "detached HEAD" as a rebase's branch when the rebase started detached;
    inside a bisect of an owned branch, the branch is the one BISECT_START names, as the
    hook's Python reads it (Store.operation_branch)."""
    sandbox, log = box
    git_dir = sandbox.root / ".git"
    (git_dir / "BISECT_START").write_text("builder/spir-1\n")
    (git_dir / "rebase-merge").mkdir()
    (git_dir / "rebase-merge" / "head-name").write_text("detached HEAD\n")
    checkout(sandbox.root, "checkout", "-q", "--detach", "builder/spir-1")
    assert starts(log) == 1
    assert (sandbox.root / ".thread").read_text().splitlines()[2] == "builder: builder-spir-1"
