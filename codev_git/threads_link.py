"""How spawn and adopt pick a builder's thread. Threads themselves live in threads.py."""

from __future__ import annotations

from codev_git.names import ArchitectName, ThreadName
from codev_git.store import Store


def choose_thread(
    store: Store, architect: ArchitectName, requested: ThreadName | None
) -> ThreadName | None:
    """The thread to record: the one requested (which must be active), else none."""
    return requested
