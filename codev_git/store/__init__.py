"""The git façade: the only package that touches pygit2, runs git, or uses GitPython.

``repository`` (objects, refs with compare-and-swap, packing), ``autopack`` (when to pack),
``porcelain`` (what must be git's own CLI), ``graph`` (ahead/behind of many branches in one
git walk), ``lite`` (files and git's CLI without pygit2, for the fast path of send/inbox),
``files`` (replacing a small file whole), ``values`` (small shared types).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codev_git.store.values import EMPTY_TREE, CasConflict, CommitInfo, Ident

if TYPE_CHECKING:
    from codev_git.store.repository import Store

__all__ = ["EMPTY_TREE", "CasConflict", "CommitInfo", "Ident", "Store"]


def __getattr__(name: str) -> Any:
    """``Store`` (and with it pygit2) is loaded on first use, so that modules which only
    name it in annotations, or a fast path that never opens the repository through libgit2,
    do not pay for importing pygit2."""
    if name == "Store":
        from codev_git.store.repository import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
