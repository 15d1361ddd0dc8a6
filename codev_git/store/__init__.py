"""The storage façade: the one module that touches pygit2 objects and references.

Every reference move goes through :meth:`Store.cas_update`, a compare-and-swap with a bounded,
jittered retry. Objects are written raw into the object database so that message bytes are
stored exactly as given.
"""

from __future__ import annotations

from codev_git.store._common import EMPTY_TREE, CasConflict, CommitInfo, Ident
from codev_git.store.packing import PackingStore
from codev_git.store.refs import RefStore

__all__ = ["EMPTY_TREE", "CasConflict", "CommitInfo", "Ident", "Store"]


class Store(RefStore, PackingStore):
    """A repository opened through pygit2, with the few operations the domain needs:
    opening and config (``base``), objects (``objects``), refs and compare-and-swap
    (``refs``), and packing (``packing``)."""
