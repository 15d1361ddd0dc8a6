"""One automatic consumer per reader at a time: a lease on a lock file in the common git dir.

``<common git dir>/codev/leases/<kind>-<name>.lock`` is held with ``flock`` for as long as a
consumer (``inbox --follow``, an agent hook) delivers that reader's messages. The kernel drops
the lock when its process dies, so a lease left by a killed process is taken over at once;
the file's content (pid, what holds it, since when) is only for reporting to the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codev_git import clock
from codev_git.ownership.identity import Identity
from codev_git.store import Store

FOLLOWER = "inbox --follow"  # how a follower names itself (hooks do not wait for one)


@dataclass
class Lease:
    path: Path
    fd: int | None = None

    @classmethod
    def for_reader(cls, store: Store, reader: Identity) -> Lease:
        return cls(store.common_dir / "codev" / "leases" / f"{reader.kind}-{reader.name}.lock")

    def try_acquire(self, what: str) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        info = {"pid": os.getpid(), "what": what, "since": clock.now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode() + b"\n", 0)
        self.fd = fd
        return True

    def acquire(
        self,
        what: str,
        *,
        waiting: Callable[[str], None] | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Take the lease, waiting for the holder to let go; ``waiting`` is told once who
        holds it. False only when ``timeout`` passes first."""
        started = time.monotonic()
        told = False
        while not self.try_acquire(what):
            if not told and waiting is not None:
                waiting(self.holder())
                told = True
            if timeout is not None and time.monotonic() - started >= timeout:
                return False
            time.sleep(0.1 if timeout is not None else 0.3)
        return True

    def holder(self) -> str:
        """Who holds the lease, in words (from the file the holder wrote)."""
        try:
            info = json.loads(self.path.read_text() or "{}")
            since = clock.iso(float(info["since"]))
            return f"{info['what']} (pid {int(info['pid'])}, since {since})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
