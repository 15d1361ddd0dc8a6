"""``inbox --follow``: wait for new messages and hand each one over as it arrives.

Waiting uses inotify on the directories holding the reader's refs (git writes a ref by
renaming a lock file into place, so a directory event fires), and falls back to polling where
inotify is not available. No server, no daemon: the loop ends on Ctrl-C.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codev_git.messaging.handover import pending
from codev_git.messaging.message import Message, channels_of
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook
from codev_git.store import Store

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_CLOSE_WRITE = 0x08
IN_DELETE = 0x200
WATCH_MASK = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE


class RefWatcher:
    """Blocks until something under the watched directories may have changed."""

    def __init__(self, directories: list[Path], poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self.fd: int | None = None
        libc_name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC) if libc else -1
        except (OSError, AttributeError):
            fd = -1
        if fd < 0 or libc is None:
            return  # polling only
        self.fd = fd
        for directory in directories:
            directory.mkdir(parents=True, exist_ok=True)
            libc.inotify_add_watch(fd, os.fsencode(directory), WATCH_MASK)

    def wait(self, timeout: float) -> None:
        if self.fd is None:
            time.sleep(min(timeout, self.poll_seconds))
            return
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            time.sleep(0.02)  # let a burst of writes settle
            try:
                while os.read(self.fd, 65536):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def watched_dirs(store: Store, reader: Identity) -> list[Path]:
    common = store.common_dir
    dirs = {common}  # packed-refs
    for channel, _ in channels_of(reader):
        dirs.add((common / channel).parent)
    return sorted(dirs)


def exec_env(msg: Message) -> dict[str, str]:
    """What ``--exec`` finds in its environment (besides ours) about the message on its
    stdin."""
    facts = {
        "CODEV_MESSAGE_ID": msg.id,
        "CODEV_FROM": msg.sender,
        "CODEV_TO": msg.to,
        "CODEV_THREAD": msg.thread or "",
        "CODEV_VERIFIED": "true" if msg.verified else "false",
    }
    # the first names this had; kept so that existing scripts go on working
    old = {"CODEV_MESSAGE_FROM": msg.sender, "CODEV_MESSAGE_TO": msg.to}
    return {**old, "CODEV_MESSAGE_THREAD": msg.thread or "", **facts}


def run_exec(command: str, msg: Message, timeout: float | None = None) -> bool:
    """Run ``command`` with the framed message (header included) on stdin; past
    ``timeout`` seconds it is ended (:class:`porcelain.RanTooLong`)."""
    from codev_git.messaging.render import message_text

    text = (message_text(msg, footer=False) + "\n").encode("utf-8", "surrogateescape")
    # its output goes to stderr: stdout carries the feed (JSON lines with --json)
    from codev_git.store.porcelain import run_program

    return (
        run_program(command, env=exec_env(msg), stdin=text, stdout_to_stderr=True, timeout=timeout)
        == 0
    )


@dataclass
class Deliverer:
    """Hands each unread message over once per attempt, and marks read what was handed over.

    Without ``execute`` a message is handed over once ``show`` has written it. With it, a
    message is handed over when ``execute`` succeeds; one it refuses is tried again after a
    backoff (2 s, doubling, at most 60 s) while the messages after it go on being delivered.
    Those stay unread until the refused one succeeds (a read cursor reaches everything behind
    it), so a consumer restarted meanwhile sees them again: at least once, never lost."""

    store: Store
    reader: Identity
    book: OwnerBook
    show: Callable[[Message], None]
    execute: Callable[[Message], bool] | None = None
    handed: set[str] = field(default_factory=set)
    retry: dict[str, tuple[int, float]] = field(default_factory=dict)  # id -> (tries, when)

    def round(self, now: float) -> float | None:
        """One pass over the unread messages; returns when a refused one is due again."""
        batch = pending(self.store, self.reader, self.book)
        try:
            for msg in batch.messages:
                if msg.id in self.handed:
                    continue
                tries, due = self.retry.get(msg.id, (0, 0.0))
                if due > now:
                    continue
                self.show(msg)
                if self.execute is None or self.execute(msg):
                    self.handed.add(msg.id)
                    self.retry.pop(msg.id, None)
                else:
                    self.retry[msg.id] = (tries + 1, now + min(2.0 * 2**tries, 60.0))
        finally:  # Ctrl-C mid-round: what was handed over stays read
            batch.mark(self.store, self.handed)
        unread = {m.id for m in batch.messages}
        self.handed &= unread  # what is read now needs no memory
        self.retry = {k: v for k, v in self.retry.items() if k in unread}
        return min((due for _, due in self.retry.values()), default=None)


def follow(
    store: Store,
    reader: Identity,
    show: Callable[[Message], None],
    *,
    execute: Callable[[Message], bool] | None = None,
    fetch: Callable[[], None] | None = None,
    fetch_every: float | None = None,
    stop_after: float | None = None,
    ready: Callable[[], None] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> None:
    """Deliver messages until interrupted (or ``stop_after`` seconds, for tests). Only one
    follower per reader delivers: a second one says who holds the lease and waits for it."""
    from codev_git.messaging.lease import FOLLOWER, Lease

    with Lease.for_reader(store, reader) as lease:
        lease.acquire(f"{FOLLOWER} of {reader.address}", waiting=waiting)
        _deliver_loop(store, reader, show, execute, fetch, fetch_every, stop_after, ready)


def _deliver_loop(
    store: Store,
    reader: Identity,
    show: Callable[[Message], None],
    execute: Callable[[Message], bool] | None,
    fetch: Callable[[], None] | None,
    fetch_every: float | None,
    stop_after: float | None,
    ready: Callable[[], None] | None,
) -> None:
    deliverer = Deliverer(store, reader, OwnerBook(store), show, execute)
    watcher = RefWatcher(watched_dirs(store, reader))
    if ready is not None:
        ready()
    started = last_fetch = time.monotonic()
    seen: tuple[str | None, ...] | None = None  # channel tips at the last round
    retry_at: float | None = None
    try:
        while True:
            now = time.monotonic()
            tips = tuple(store.ref_target(channel) for channel, _ in channels_of(reader))
            if tips != seen or (retry_at is not None and now >= retry_at):
                seen = tips
                retry_at = deliverer.round(now)
            if stop_after is not None and now - started >= stop_after:
                return
            timeout = 1.0 if retry_at is None else max(0.05, retry_at - now)
            if fetch is not None and fetch_every:
                if now - last_fetch >= fetch_every:
                    fetch()
                    last_fetch = time.monotonic()
                    continue
                timeout = min(timeout, fetch_every - (now - last_fetch))
            watcher.wait(max(0.05, timeout))
    finally:
        watcher.close()
