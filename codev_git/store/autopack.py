"""Keeping message objects packed, cheaply, the way ``git gc --auto`` decides to.

Every message is one loose object: 100,000 of them take ~400 MB of 4 KB files, while packed
they take ~15 MB. After each append :func:`after_append` looks at the new commit id; only
when it starts with :data:`PROBE` (1 append in 256) does it count that one fan-out
directory, and only when that directory holds more than its share of the limit are the
loose objects packed, in-process with libgit2's pack builder (no subprocess). The limit is
``git config codev.autoPack N``, else git's own ``gc.auto`` (default 6700); 0 turns it off.

Packs accumulate (one per ~6,700 loose objects); git's own ``gc --auto``, which ``git
commit``, ``fetch`` and ``merge`` run, folds them together past ``gc.autoPackLimit`` (50).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from codev_git import config, report
from codev_git.errors import OperationalError
from codev_git.layout import PACKABLE_PREFIXES

if TYPE_CHECKING:
    from codev_git.store import Store

PROBE = "17"  # the fan-out directory git gc --auto samples, for the same reason
DEFAULT_LIMIT = 6700  # git's gc.auto default
CONFIG_LIMIT = config.AUTO_PACK.name
LOCK_NAME = "codev-pack.lock"
STALE_LOCK_SECONDS = 600.0


def after_append(store: Store, new_id: str) -> int:
    """The check run after every successful append; returns how many objects it packed.

    It never fails the append (the message is already safely on its ref): a packing
    problem becomes one warning line."""
    if not new_id.startswith(PROBE):
        return 0
    try:
        limit = auto_limit(store)
        if limit <= 0 or store.loose_count(PROBE) <= (limit + 255) // 256:
            return 0
        return pack_now(store)
    except (OperationalError, OSError) as exc:
        report.warn(f"packing skipped ({exc})")
        return 0


def auto_limit(store: Store) -> int:
    """How many loose objects are allowed before packing (0: never pack). A repository
    with ``extensions.preciousObjects`` (where git itself deletes no object file) is left
    alone."""
    if store.config_bool("extensions.preciousObjects"):
        return 0
    return store.config_int(CONFIG_LIMIT, store.config_int("gc.auto", DEFAULT_LIMIT))


def pack_now(store: Store) -> int:
    """Pack the loose objects unless another process is already doing it."""
    with _pack_lock(store) as held:
        if not held:
            return 0
        packed, _ = store.pack_loose_objects(PACKABLE_PREFIXES)
        return packed


@contextlib.contextmanager
def _pack_lock(store: Store) -> Iterator[bool]:
    path = store.common_dir / LOCK_NAME
    fd = _try_create(path)
    if fd is None:
        try:
            stale = time.time() - path.stat().st_mtime > STALE_LOCK_SECONDS
        except OSError:
            stale = True
        if stale:  # left by a killed packer: packing again is always safe
            with contextlib.suppress(OSError):
                path.unlink()
            fd = _try_create(path)
    if fd is None:
        yield False
        return
    try:
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        yield True
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def _try_create(path: os.PathLike[str]) -> int | None:
    try:
        return os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None
