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
from pathlib import Path

from codev_git.messaging.inbox import InboxEntry, mark_read, read_inbox
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


def run_exec(command: str, msg: Message, text: bytes) -> bool:
    env = {
        "CODEV_MESSAGE_ID": msg.id,
        "CODEV_MESSAGE_FROM": msg.sender,
        "CODEV_MESSAGE_TO": msg.to,
        "CODEV_MESSAGE_THREAD": msg.thread or "",
    }
    # its output goes to stderr: stdout carries the feed (JSON lines with --json)
    from codev_git.store.porcelain import run_program

    return run_program(command, env=env, stdin=text, stdout_to_stderr=True) == 0


def deliver_once(
    store: Store,
    reader: Identity,
    book: OwnerBook,
    show: Callable[[InboxEntry], None],
    execute: Callable[[InboxEntry], bool] | None,
) -> bool:
    """Hand over every unread message once. False when ``execute`` refused one: it and
    the messages after it stay unread."""
    if execute is None:
        for entry in read_inbox(store, reader, book=book):
            show(entry)
        return True
    for entry in read_inbox(store, reader, peek=True, book=book):
        show(entry)
        if not execute(entry):
            return False
        _mark_one(store, reader, entry.message)
    return True


def _mark_one(store: Store, reader: Identity, msg: Message) -> None:
    for channel, cursor in channels_of(reader):
        if channel == msg.channel:
            tip = store.ref_target(channel)
            if tip is not None:
                mark_read(store, cursor, tip, [msg.id], complete=tip == msg.id)


def follow(
    store: Store,
    reader: Identity,
    show: Callable[[InboxEntry], None],
    *,
    execute: Callable[[InboxEntry], bool] | None = None,
    fetch: Callable[[], None] | None = None,
    fetch_every: float | None = None,
    stop_after: float | None = None,
) -> None:
    """Deliver messages until interrupted (or ``stop_after`` seconds, for tests)."""
    book = OwnerBook(store)
    watcher = RefWatcher(watched_dirs(store, reader))
    started = last_fetch = time.monotonic()
    seen: tuple[str | None, ...] | None = None  # channel tips at the last delivery
    retry_at: float | None = None  # after a refused --exec: when to try again
    backoff = 0.0
    try:
        while True:
            now = time.monotonic()
            tips = tuple(store.ref_target(channel) for channel, _ in channels_of(reader))
            if tips != seen or (retry_at is not None and now >= retry_at):
                seen = tips
                if deliver_once(store, reader, book, show, execute):
                    retry_at, backoff = None, 0.0
                else:  # new messages retry at once; the same one waits longer each time
                    backoff = min(max(2.0, backoff * 2), 60.0)
                    retry_at = now + backoff
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
