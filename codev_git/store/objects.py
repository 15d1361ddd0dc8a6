"""Reading and writing objects: commits, trees, blobs, notes trees, history walks."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

import pygit2
from pygit2.enums import FileMode, ObjectType, SortMode

from codev_git.errors import OperationalError, UsageError
from codev_git.store._common import EMPTY_TREE, CommitInfo, Ident, info, is_hex, write_hint
from codev_git.store.base import StoreBase


class ObjectStore(StoreBase):
    def resolve_commit(self, rev: str) -> str:
        try:
            obj = self.repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
            raise UsageError(
                f"unknown revision {rev!r}", "give a branch, tag or commit id that exists"
            ) from exc
        return str(commit.id)

    def object_type(self, oid: str) -> str | None:
        try:
            obj = self.repo.get(oid)
        except (ValueError, pygit2.GitError):
            return None
        if obj is None:
            return None
        return {
            ObjectType.COMMIT: "commit",
            ObjectType.TREE: "tree",
            ObjectType.BLOB: "blob",
            ObjectType.TAG: "tag",
        }.get(obj.type, "unknown")

    def commit(self, oid: str) -> CommitInfo:
        obj = self.repo.get(oid)
        if not isinstance(obj, pygit2.Commit):
            raise OperationalError(f"object {oid[:12]} is not a commit")
        return info(obj)

    def commit_summary(self, oid: str) -> tuple[int, str] | None:
        """(commit time, subject line) of a commit, or None when ``oid`` is not one; cheaper
        than :meth:`commit` (no author or parents decoded)."""
        try:
            obj = self.repo.get(oid)
        except (ValueError, pygit2.GitError):
            return None
        if not isinstance(obj, pygit2.Commit):
            return None
        subject = bytes(obj.raw_message).split(b"\n", 1)[0].decode("utf-8", "replace")
        return int(obj.commit_time), subject

    def walk(self, tip: str, hide: list[str] | None = None) -> Iterator[CommitInfo]:
        """Commits reachable from ``tip`` and not from any of ``hide``, newest first."""
        walker = self.repo.walk(tip, SortMode.NONE)
        for hidden in hide or ():
            walker.hide(hidden)
        for obj in walker:
            yield info(obj)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        return bool(self.repo.descendant_of(descendant, ancestor))

    def ahead_behind(self, local: str, upstream: str) -> tuple[int, int]:
        if local == upstream:
            return 0, 0
        ahead, behind = self.repo.ahead_behind(local, upstream)
        return int(ahead), int(behind)

    def read_blob(self, oid: str) -> bytes:
        try:  # the raw object database read: no Blob object built (twice as fast)
            kind, data = self.repo.odb.read(oid)
        except (KeyError, ValueError, pygit2.GitError):
            kind, data = None, b""
        if kind != ObjectType.BLOB:
            raise OperationalError(f"object {oid[:12]} is not a blob")
        return bytes(data)

    def tree_of(self, commit_id: str) -> str:
        obj = self.repo.get(commit_id)
        if not isinstance(obj, pygit2.Commit):
            raise OperationalError(f"object {commit_id[:12]} is not a commit")
        return str(obj.tree_id)

    def read_path(self, commit_id: str, path: str) -> bytes | None:
        """The blob at ``path`` in a commit's tree, or None when there is none."""
        obj = self.repo.get(commit_id)
        if not isinstance(obj, pygit2.Commit):
            return None
        try:
            entry = obj.tree[path]
        except KeyError:
            return None
        blob = self.repo.get(entry.id)
        return bytes(blob.data) if isinstance(blob, pygit2.Blob) else None

    def list_dir(self, commit_id: str, path: str) -> list[str]:
        obj = self.repo.get(commit_id)
        if not isinstance(obj, pygit2.Commit):
            return []
        try:
            entry = obj.tree[path]
        except KeyError:
            return []
        tree = self.repo.get(entry.id)
        if not isinstance(tree, pygit2.Tree):
            return []
        return [item.name for item in tree if item.name is not None]

    def last_commit_touching(self, tip: str, path: str, limit: int = 2000) -> CommitInfo | None:
        """The newest commit (first-parent walk) whose tree changed ``path``."""
        walker = self.repo.walk(tip, SortMode.TOPOLOGICAL)
        walker.simplify_first_parent()
        previous: pygit2.Commit | None = None
        prev_id: object = None
        for count, obj in enumerate(walker):
            try:
                current_id: object = obj.tree[path].id
            except KeyError:
                current_id = None
            if previous is not None and current_id != prev_id:
                return info(previous)
            previous, prev_id = obj, current_id
            if count >= limit:
                break
        if previous is not None and prev_id is not None:
            return info(previous)
        return None

    # -- writing objects ---------------------------------------------------------------------
    @staticmethod
    def hash_blob(data: bytes) -> str:
        return str(pygit2.hash(data))

    def _odb_write(self, kind: ObjectType, data: bytes) -> str:
        try:
            return str(self.repo.odb.write(kind, data))
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(
                f"cannot write to the repository: {exc}", write_hint(exc)
            ) from exc

    def write_blob(self, data: bytes) -> str:
        return self._odb_write(ObjectType.BLOB, data)

    def empty_tree(self) -> str:
        if not self._empty_tree_written:
            self._odb_write(ObjectType.TREE, b"")
            self._empty_tree_written = True
        return EMPTY_TREE

    def write_commit(
        self,
        *,
        tree: str,
        parents: list[str],
        author: Ident,
        message: bytes,
        when: float | None = None,
    ) -> str:
        """Write a commit object exactly as given; returns its id."""
        stamp = time.time() if when is None else when
        ident = author.line(stamp)
        head = [b"tree " + tree.encode()]
        head += [b"parent " + p.encode() for p in parents]
        head += [b"author " + ident, b"committer " + ident]
        data = b"\n".join(head) + b"\n\n" + message
        return self._odb_write(ObjectType.COMMIT, data)

    def write_tree(self, entries: Mapping[str, tuple[str, str]], base: str | None = None) -> str:
        """A tree from ``base`` with ``entries`` (name -> (oid, "blob"|"tree"|"delete")) applied."""
        builder = self.repo.TreeBuilder(base) if base else self.repo.TreeBuilder()
        for name, (oid, kind) in entries.items():
            if kind == "delete":
                if builder.get(name) is not None:
                    builder.remove(name)
                continue
            mode = FileMode.TREE if kind == "tree" else FileMode.BLOB
            builder.insert(name, pygit2.Oid(hex=oid), mode)
        try:
            return str(builder.write())
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(
                f"cannot write to the repository: {exc}", write_hint(exc)
            ) from exc

    def tree_entries(self, tree: str) -> Iterator[tuple[str, str, str]]:
        """(name, oid, kind) for each entry of a tree; kind is "blob" or "tree"."""
        obj = self.repo.get(tree)
        if not isinstance(obj, pygit2.Tree):
            return
        for entry in obj:
            kind = "tree" if entry.filemode == FileMode.TREE else "blob"
            yield str(entry.name), str(entry.id), kind

    def tree_entry(self, tree: str, name: str) -> tuple[str, str] | None:
        obj = self.repo.get(tree)
        if not isinstance(obj, pygit2.Tree):
            return None
        try:
            entry = obj[name]
        except KeyError:
            return None
        kind = "tree" if entry.filemode == FileMode.TREE else "blob"
        return str(entry.id), kind

    # -- notes -------------------------------------------------------------------------------
    def note_blob(self, notes_tree: str, annotated: str) -> str | None:
        """The note blob for ``annotated`` in a notes tree (flat or 2-character fan-out)."""
        hit = self.tree_entry(notes_tree, annotated)
        if hit is not None and hit[1] == "blob":
            return hit[0]
        sub = self.tree_entry(notes_tree, annotated[:2])
        if sub is not None and sub[1] == "tree":
            inner = self.tree_entry(sub[0], annotated[2:])
            if inner is not None and inner[1] == "blob":
                return inner[0]
        return None

    @staticmethod
    def is_note_entry(name: str, kind: str) -> bool:
        """Whether a notes tree's top-level entry is a note (or a fan-out directory of notes)
        rather than another entry such as ``anchors/``."""
        return (kind == "blob" and is_hex(name, 40)) or (kind == "tree" and is_hex(name, 2))

    def note_entries(self, notes_tree: str) -> Iterator[tuple[str, str]]:
        """(annotated id, note blob id) for every note in a notes tree; other entries skipped."""
        for name, oid, kind in self.tree_entries(notes_tree):
            if not self.is_note_entry(name, kind):
                continue
            if kind == "blob":
                yield name, oid
            else:
                for sub_name, sub_oid, sub_kind in self.tree_entries(oid):
                    if sub_kind == "blob" and is_hex(sub_name, 38):
                        yield name + sub_name, sub_oid
