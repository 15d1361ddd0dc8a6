"""Creating many new refs at once by one rewrite of ``packed-refs``, under git's own locks.

A loose ref costs a file of its own: creating a thousand refs (a first ``sync`` with a
thousand architects) writes a thousand files and ``git pack-refs`` then deletes them again,
which on a slow disk takes seconds. A ref that does not exist yet can instead be added to
``packed-refs`` directly, which is what this module does, following git's protocol:

1. ``packed-refs.lock`` is taken (``O_EXCL``; held by another git: the caller goes the slow
   way), so no other writer rewrites the file meanwhile;
2. a ref is added only if neither a loose file nor a packed line holds it or clashes with it
   (``a`` beside ``a/b``), and no other writer holds its ``<ref>.lock``;
3. the new file (sorted, as the header promises) replaces the old one by ``rename``;
4. afterwards every added ref whose ``<ref>.lock`` or loose file has appeared is
   *contended* (:func:`contended`): a writer that locked it before the rename may have
   decided "absent" and will write a loose ref over ours. Those the caller moves again
   with a compare-and-swap, so a concurrent creation is merged, never lost.

git's readers (and libgit2's) notice the new ``packed-refs`` by its stat data. No reflog is
written for refs created this way.
"""

from __future__ import annotations

import bisect
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

HEADER = b"# pack-refs with: peeled fully-peeled sorted \n"


def add_new_refs(common_dir: Path, targets: Mapping[str, str]) -> set[str] | None:
    """Add each of ``targets`` (refname -> full object id) that does not exist yet to
    ``packed-refs``; returns the refs added (then ask :func:`contended`). None when the
    file is locked by another writer or not in the sorted format git writes (nothing was
    changed): the caller then creates refs the usual way."""
    packed = common_dir / "packed-refs"
    lock = common_dir / "packed-refs.lock"
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return None
    renamed = False
    try:
        try:
            current = packed.read_bytes()
        except FileNotFoundError:
            current = b""
        lines = _entries(current)
        if lines is None:
            return None
        names = sorted(name for name, _ in lines)
        added = {name: oid for name, oid in targets.items() if _free(common_dir, name, names)}
        for name in _clashing(sorted(added)):  # ``a`` and ``a/b`` both asked for: neither
            del added[name]
        if not added:
            return set()
        merged = sorted(
            [*lines, *((n.encode(), f"{o} {n}\n".encode()) for n, o in added.items())],
            key=lambda entry: entry[0],
        )
        with os.fdopen(fd, "wb", closefd=True) as out:
            fd = -1
            out.write(HEADER)
            out.writelines(text for _, text in merged)
        os.rename(lock, packed)
        renamed = True
    finally:
        if fd >= 0:
            os.close(fd)
        if not renamed:
            with contextlib.suppress(OSError):
                os.unlink(lock)
    return set(added)


def contended(common_dir: Path, names: set[str]) -> set[str]:
    """Which of the refs just added another writer holds or has written loose since (its
    ``<ref>.lock`` or loose file exists): it may have found the ref absent before the
    rename, so the caller moves these again by compare-and-swap."""
    return {name for name in names if _taken(common_dir, name)}


def _entries(content: bytes) -> list[tuple[bytes, bytes]] | None:
    """(refname, its lines incl. a peeled ``^`` line) in file order; None when the file is
    not one this module may rewrite (no sorted header)."""
    if not content:
        return []
    first, _, rest = content.partition(b"\n")
    traits = first.split(b":", 1)[1].split() if first.startswith(b"# pack-refs with:") else []
    if b"sorted" not in traits:
        return None
    entries: list[tuple[bytes, bytes]] = []
    for line in rest.splitlines(keepends=True):
        if line.startswith(b"^") and entries:
            name, text = entries[-1]
            entries[-1] = (name, text + line)
        elif line.strip():
            parts = line.rstrip(b"\n").split(b" ", 1)
            if len(parts) != 2:
                return None
            entries.append((parts[1], line if line.endswith(b"\n") else line + b"\n"))
    return entries


def _free(common_dir: Path, name: str, packed: list[bytes]) -> bool:
    """Whether ``name`` may be created: not packed (``packed`` is sorted), no loose file or
    directory, no lock, no packed ref inside it, and none of its leading directories is a
    ref."""
    path = common_dir / name
    if os.path.lexists(path) or os.path.lexists(f"{path}.lock"):
        return False
    key = name.encode()
    below = key + b"/"
    at = bisect.bisect_left(packed, below)
    if _has(packed, key) or (at < len(packed) and packed[at].startswith(below)):
        return False
    parts = name.split("/")
    for depth in range(2, len(parts)):
        parent = "/".join(parts[:depth])
        if _has(packed, parent.encode()) or os.path.isfile(common_dir / parent):
            return False
    return True


def _clashing(names: list[str]) -> set[str]:
    """Names among the sorted ``names`` that are a directory of another, and those others."""
    clash: set[str] = set()
    for name in names:
        parts = name.split("/")
        for depth in range(2, len(parts)):
            parent = "/".join(parts[:depth])
            at = bisect.bisect_left(names, parent)
            if at < len(names) and names[at] == parent:
                clash.update((name, parent))
    return clash


def _has(packed: list[bytes], key: bytes) -> bool:
    at = bisect.bisect_left(packed, key)
    return at < len(packed) and packed[at] == key


def _taken(common_dir: Path, name: str) -> bool:
    path = common_dir / name
    return os.path.lexists(f"{path}.lock") or os.path.lexists(path)
