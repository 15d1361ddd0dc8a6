"""What the post-checkout hook does: tag the worktree with ``.thread``, quickly, never failing.

``hooks/post-checkout`` runs ``python -I -c 'from codev_git.worktree.post_checkout import main'``
with git's arguments ``PREV NEW FLAG``. On a branch checkout (FLAG 1) whose branch has an
ownership record, ``.thread`` is written from the record; on any other branch checkout a
``.thread`` the hook wrote earlier is removed. A detached checkout never removes ``.thread``: inside
a rebase or bisect the tag is written for the branch git records for the operation (so it is
right, even if it was missing), and a plain ``git checkout --detach`` leaves it alone; identity
reads the branch from git's rebase/bisect state or from the tag meanwhile.
Whatever goes wrong, one warning line is printed and the exit status is 0: a hook must never
turn a finished checkout into a failure.

Only the modules needed for one ownership lookup are imported (no click, no GitPython).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from codev_git.commands.console import say

WARNING = "git-codev: warning: post-checkout hook"


def main(argv: list[str]) -> int:
    try:
        message = tag_worktree(argv, Path.cwd())
    except BaseException as exc:  # a hook must never fail the checkout
        detail = " ".join(str(exc).split())[:160]
        say(
            f"{WARNING} left .thread as it was ({type(exc).__name__}: {detail}); "
            "the checkout itself is fine"
        )
        return 0
    if message:
        say(message)
    return 0


def tag_worktree(argv: list[str], cwd: Path) -> str | None:
    """Write or remove ``.thread`` for the worktree at ``cwd``; returns a note to print, if any."""
    if len(argv) >= 3 and argv[2] != "1":
        return None  # a file checkout (git checkout -- path): the branch did not change
    git_dir = os.environ.get("GIT_DIR")
    work_tree = os.environ.get("GIT_WORK_TREE")

    from codev_git.names import BranchRef
    from codev_git.ownership.records import OwnerBook
    from codev_git.store import Store
    from codev_git.worktree.tag import ThreadFile, read, remove_ours, write_ours

    store = Store.open(str(cwd / git_dir)) if git_dir else Store.discover(cwd)
    worktree = (cwd / work_tree) if work_tree else store.workdir
    if worktree is None:
        return None  # bare repository: nothing to tag
    branch = store.head_branch()
    if branch is None:
        # a detached checkout: a rebase or bisect step, or `git checkout --detach`. The
        # worktree still works for its branch: inside an operation the tag is (re)written
        # for the branch git records; otherwise it is left alone. Never removed here.
        during = store.operation_branch()
        owned = OwnerBook(store).lookup(BranchRef(during[0])) if during else None
        if owned is not None:
            rec = owned.current
            write_ours(
                worktree, ThreadFile(rec.thread, rec.architect, rec.builder, rec.branch_name, True)
            )
        return None
    owned = OwnerBook(store).lookup(BranchRef(branch))
    if owned is None:
        remove_ours(worktree)
        return None
    rec = owned.current
    wanted = ThreadFile(rec.thread, rec.architect, rec.builder, rec.branch_name, ours=True)
    if write_ours(worktree, wanted) != "kept-foreign":
        return None
    theirs = read(worktree)
    if theirs is not None and theirs.thread != rec.thread:  # say so only when they disagree
        return (
            f"git-codev: note: {worktree / '.thread'} was not written by git codev and is left "
            f"as it is (this branch belongs to {rec.builder} of {rec.architect})"
        )
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
