"""The git façade: the only package that touches pygit2, runs git, or uses GitPython.

``repository`` (objects, refs with compare-and-swap, packing), ``autopack`` (when to pack),
``porcelain`` (what must be git's own CLI), ``values`` (small shared types).
"""

from __future__ import annotations

from codev_git.store.repository import Store
from codev_git.store.values import EMPTY_TREE, CasConflict, CommitInfo, Ident

__all__ = ["EMPTY_TREE", "CasConflict", "CommitInfo", "Ident", "Store"]
