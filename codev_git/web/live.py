"""Live updates: a thread waits on the repository's refs with the same watcher as
``inbox --follow`` and wakes every open page through server-sent events.

The watcher reacts to inotify events on the ref directories (a message, an ownership change,
a read cursor, a branch moving) and otherwise looks again every second; a change is whatever
makes the snapshot of ref tips differ, so a page is told within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from codev_git import layout
from codev_git.names import BRANCH_PREFIX, BUILDER_BRANCH_PREFIX
from codev_git.store import Store

# the directories whose files are the refs the page shows (a new file is a new ref)
WATCHED = (
    layout.CODEV_PREFIX,  # broadcast
    layout.INBOX_PREFIX,
    layout.BUILDER_INBOX_PREFIX,
    layout.NOTES_PREFIX,  # ownership
    BRANCH_PREFIX,
    BUILDER_BRANCH_PREFIX,
)
KEEPALIVE_SECONDS = 15.0


def watched_dirs(store: Store) -> list[Path]:
    common = store.common_dir
    return [common] + [common / d for d in WATCHED if (common / d).is_dir()]


class LiveHub:
    """Counts changes to the repository's refs and wakes waiting event streams."""

    def __init__(self, git_dir: Path, poll_seconds: float = 1.0) -> None:
        self.git_dir = git_dir
        self.poll_seconds = poll_seconds
        self.version = 0
        self.closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._thread = threading.Thread(target=self._watch, name="codev-web-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """End every event stream and the watcher (call from the event loop's thread)."""
        self.closed = True
        self._stop.set()
        if self._event is not None:
            self._event.set()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        from codev_git.messaging.follow import RefWatcher

        store = Store.open(str(self.git_dir))
        last = _fingerprint(store)
        watcher = RefWatcher(watched_dirs(store), self.poll_seconds)
        try:
            while not self._stop.is_set():
                watcher.wait(self.poll_seconds)
                now = _fingerprint(store)
                if now is None:  # unreadable for now (warned): look again, never stop
                    continue
                if now != last:
                    last = now
                    self._wake(bump=True)
        finally:
            watcher.close()

    def _wake(self, bump: bool = False) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def wake() -> None:
            if bump:
                self.version += 1
            if self._event is not None:
                self._event.set()
                self._event = asyncio.Event()

        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(wake)

    async def wait(self, timeout: float) -> None:
        event = self._event
        if event is None or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def stream(self, is_disconnected: object) -> AsyncIterator[str]:
        """The text of an event stream: ``change`` with the new version after each change."""
        seen = self.version
        yield f"retry: 1000\nevent: hello\ndata: {seen}\n\n"
        while not self.closed:
            await self.wait(KEEPALIVE_SECONDS)
            if self.closed or await is_disconnected():  # type: ignore[operator]
                return
            if self.version != seen:
                seen = self.version
                yield f"event: change\ndata: {seen}\n\n"
            else:
                yield ": keepalive\n\n"


def _fingerprint(store: Store) -> int | None:
    """The refs' state, or None (with a warning) when they cannot be listed just now."""
    from codev_git import report
    from codev_git.errors import CodevError

    try:
        return hash(frozenset(store.ref_snapshot().items()))
    except CodevError as exc:
        report.warn(f"live updates: {exc} (looking again)")
        return None
