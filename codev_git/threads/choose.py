"""How spawn and adopt pick a builder's thread. Threads themselves live in threads.py."""

from __future__ import annotations

from codev_git import report
from codev_git.errors import UsageError
from codev_git.names import ArchitectName, ThreadName
from codev_git.store import Store
from codev_git.threads.model import active_names, head_commit, list_threads


def choose_thread(
    store: Store, architect: ArchitectName, requested: ThreadName | None
) -> ThreadName | None:
    """The thread to record for a builder of ``architect``.

    A requested thread must be active at HEAD. Without one, the architect's only active
    thread is chosen (and a note says so); with none or several, no thread is recorded.
    """
    threads = list_threads(store, head_commit(store), archived=requested is not None)
    if requested is not None:
        match = [t for t in threads if t.name == requested]
        if match and not match[0].archived:
            return requested
        listed = active_names(threads)
        hint = f"active threads: {listed}" if listed else "start one with 'git codev thread new'"
        state = "is archived" if match else "is not an active thread at HEAD"
        raise UsageError(f"thread {requested} {state}", hint)
    mine = [t.name for t in threads if t.architect == architect]
    if len(mine) != 1:
        return None
    report.note(
        f"thread {mine[0]} chosen: it is {architect}'s only active thread "
        "(pass --thread to pick another)"
    )
    return mine[0]
