"""Bring every builder worktree's ``.thread`` tag in line with its ownership record.

The post-checkout hook tags a worktree when its branch is checked out; a builder adopted
afterwards (``adopt --from-afx`` finds worktrees afx made long ago) has no tag until the next
checkout. This writes the tags now. It is idempotent: a tag already right is left as it is,
and a hand-written ``.thread`` is never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codev_git.names import BranchRef
from codev_git.ownership.records import OwnerBook
from codev_git.store import Store


@dataclass(frozen=True)
class Tagged:
    builder: str
    worktree: Path
    result: str  # written / unchanged / kept-foreign


def retag_worktrees(store: Store, book: OwnerBook | None = None) -> list[Tagged]:
    from codev_git.worktree.tag import ThreadFile, write_ours

    book = book or OwnerBook(store)
    out: list[Tagged] = []
    for branch, worktree in sorted(store.worktree_heads().items()):
        owned = book.lookup(BranchRef(branch))
        if owned is None or not worktree.is_dir():
            continue
        rec = owned.current
        wanted = ThreadFile(rec.thread, rec.architect, rec.builder, rec.branch_name, ours=True)
        out.append(Tagged(rec.builder, worktree, write_ours(worktree, wanted)))
    return out
