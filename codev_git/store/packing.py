"""Packing loose objects in-process (the message path's answer to repository bloat)."""

from __future__ import annotations

import os
from pathlib import Path

import pygit2

from codev_git.errors import OperationalError
from codev_git.store._common import is_hex
from codev_git.store.base import StoreBase


class PackingStore(StoreBase):
    @property
    def objects_dir(self) -> Path:
        return self.common_dir / "objects"

    def loose_count(self, fanout: str) -> int:
        """How many loose objects sit in one fan-out directory (``objects/<fanout>/``)."""
        try:
            with os.scandir(self.objects_dir / fanout) as entries:
                return sum(1 for entry in entries if is_hex(entry.name, 38))
        except OSError:
            return 0

    def pack_loose_objects(self, ref_prefixes: tuple[str, ...]) -> tuple[int, int]:
        """Write the loose objects reachable from refs under ``ref_prefixes`` into one new
        pack (in-process), make it durable, then remove those loose files. Returns (packed,
        removed). Nothing else is touched: the user's own loose objects, and unreachable
        ones waiting for ``git gc`` to expire them, stay where they are.

        Like ``git repack -d`` + ``git prune-packed``: a loose file is deleted only after a
        freshly opened pack reader finds its object, so no object is ever lost, and a reader
        that misses a vanished loose file finds it in the new pack (libgit2 and git rescan
        the pack directory on a miss)."""
        objects = self.objects_dir
        every = {
            name + entry.name: Path(entry.path)
            for name in os.listdir(objects)
            if is_hex(name, 2)
            for entry in _scan(objects / name)
        }
        loose = [(oid, every[oid]) for oid in self._reachable_loose(every, ref_prefixes)]
        if not loose:
            return 0, 0
        pack_dir = objects / "pack"
        before = set(os.listdir(pack_dir)) if pack_dir.is_dir() else set()
        try:
            builder = pygit2.PackBuilder(self.repo)
            builder.set_threads(1)
            for oid, _ in loose:
                builder.add(pygit2.Oid(hex=oid))
            builder.write()
            packed = int(builder.written_objects_count)
            for name in sorted(set(os.listdir(pack_dir)) - before):
                _fsync(pack_dir / name)
            _fsync(pack_dir)
            reader = pygit2.OdbBackendPack(str(objects))
        except (pygit2.GitError, OSError, ValueError) as exc:
            raise OperationalError(f"cannot pack loose objects: {exc}", "run 'git fsck'") from exc
        removed = 0
        for oid, path in loose:
            if reader.exists(pygit2.Oid(hex=oid)):
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
        return packed, removed

    def _reachable_loose(self, loose: dict[str, Path], prefixes: tuple[str, ...]) -> list[str]:
        """The loose objects reachable from refs under ``prefixes``, walking loose objects
        only (a packed object's history is packed already), so the cost follows the loose
        objects, not the history."""
        stack = [
            str(ref.target)
            for ref in self.repo.references.iterator()
            if ref.name.startswith(prefixes) and not isinstance(ref.target, str)
        ]
        found: set[str] = set()
        while stack:
            oid = stack.pop()
            if oid in found or oid not in loose:
                continue
            found.add(oid)
            obj = self.repo.get(oid)
            if isinstance(obj, pygit2.Commit):
                stack.extend(str(p) for p in obj.parent_ids)
                stack.append(str(obj.tree_id))
            elif isinstance(obj, pygit2.Tree):
                stack.extend(str(entry.id) for entry in obj)
        return sorted(found)


def _scan(fanout: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(fanout) as entries:
            return [entry for entry in entries if is_hex(entry.name, 38)]
    except OSError:
        return []


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
