"""The repository, opened through pygit2: the one class that reads and writes git objects
and references for the domain.

Every reference move goes through :meth:`Store.cas_update`, a compare-and-swap with a bounded,
jittered retry. Objects are written raw into the object database so that message bytes are
stored exactly as given. Packing loose objects (the mechanism) is here too; when to pack (the
policy) is :mod:`codev_git.store.autopack`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Self

import pygit2
from pygit2.enums import FileMode, ObjectType, SortMode

from codev_git import clock
from codev_git.errors import OperationalError, UsageError
from codev_git.store.values import (
    CAS_ATTEMPTS,
    CAS_MAX_SLEEP,
    EMPTY_TREE,
    LOOSE_REFS_LIMIT,
    CasConflict,
    CommitInfo,
    Ident,
    RawCommit,
    info,
    is_hex,
    is_permission,
    parse_git_int,
    read_symref,
    stale_lock_age,
    uses_reftable,
    write_hint,
)

# from this many new refs on, Store.create_refs writes them into packed-refs in one rewrite
PACKED_CREATE_MIN = 32


class Store:
    """A repository opened through pygit2, with the few operations the domain needs."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._empty_tree_written = False
        self._remotes: list[str] | None = None

    # -- opening -----------------------------------------------------------------------------
    @staticmethod
    def limit_object_cache(max_bytes: int) -> None:
        """Cap libgit2's process-wide cache of parsed objects (256 MiB by default): a
        long-running reader that walks many commits keeps little of them in memory."""
        pygit2.settings.cache_max_size(max_bytes)

    @classmethod
    def discover(cls, start: str | os.PathLike[str] | None = None) -> Self:
        here = os.fspath(start) if start is not None else os.getcwd()
        if "\0" in here:  # e.g. an agent hook's payload: no path holds one
            raise UsageError(f"not a path: {here!r}", "give the directory of a git repository")
        try:
            path = pygit2.discover_repository(here)
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(f"cannot read the repository at {here}: {exc}") from exc
        if path is None:
            raise UsageError(
                f"not inside a git repository ({here})", "cd into one, or run 'git init' first"
            )
        return cls.open(path)

    @classmethod
    def open(cls, path: str) -> Self:
        try:
            repo = pygit2.Repository(path)
        except (pygit2.GitError, OSError) as exc:
            text = str(exc)
            if "reftable" in text or "refstorage" in text.lower() or uses_reftable(path):
                raise OperationalError(
                    f"the repository at {path} stores refs as reftable, which libgit2 cannot read",
                    "use a repository with the files ref backend",
                ) from exc
            raise OperationalError(f"cannot open the repository at {path}: {text}") from exc
        return cls(repo)

    # -- places ------------------------------------------------------------------------------
    @property
    def git_dir(self) -> Path:
        return Path(self.repo.path)

    @functools.cached_property
    def common_dir(self) -> Path:
        """The directory shared by every worktree (fixed for this Store's life)."""
        commondir = self.git_dir / "commondir"
        if commondir.is_file():
            target = commondir.read_text().strip()
            return (self.git_dir / target).resolve()
        return self.git_dir.resolve()

    @property
    def workdir(self) -> Path | None:
        wd = self.repo.workdir
        return Path(wd) if wd else None

    @property
    def is_bare(self) -> bool:
        return bool(self.repo.is_bare)

    @property
    def main_workdir(self) -> Path | None:
        """The main worktree's root, wherever in the repository we were started."""
        common = self.common_dir
        if self.is_bare and not (self.git_dir / "commondir").is_file():
            return None
        if common.name == ".git":
            return common.parent
        wd = self.workdir
        return wd

    def head_branch(self) -> str | None:
        """The full refname checked out in this worktree, or None (detached/unborn/bare)."""
        try:
            if self.repo.head_is_detached:
                return None
            ref = self.repo.lookup_reference("HEAD")
            target = ref.target
        except (pygit2.GitError, KeyError):
            return None
        return target if isinstance(target, str) else None

    def operation_branch(self) -> tuple[str, str] | None:
        """(full refname, operation) of the branch a rebase or bisect in this worktree is
        working on while HEAD is detached, as git records it; None outside one."""
        for name, operation in (
            ("rebase-merge/head-name", "rebase"),
            ("rebase-apply/head-name", "rebase"),
            ("BISECT_START", "bisect"),
        ):
            try:
                text = (self.git_dir / name).read_text().strip()
            except (OSError, UnicodeDecodeError):
                continue
            if operation == "bisect" and text and not text.startswith("refs/"):
                text = "refs/heads/" + text  # BISECT_START holds the short name (or an id)
            if text.startswith("refs/heads/"):
                return text, operation
        return None

    def worktree_heads(self) -> dict[str, Path]:
        """Map each checked-out branch refname to the worktree holding it (read from files)."""
        heads: dict[str, Path] = {}
        common = self.common_dir
        main = self.main_workdir
        if main is not None:
            branch = read_symref(common / "HEAD")
            if branch:
                heads[branch] = main
        wt_root = common / "worktrees"
        try:
            entries = list(os.scandir(wt_root))
        except OSError:
            return heads
        for entry in entries:
            admin = Path(entry.path)
            branch = read_symref(admin / "HEAD")
            try:
                gitfile = (admin / "gitdir").read_text().strip()
            except OSError:
                continue
            worktree = Path(gitfile).parent
            if branch and worktree.is_dir():  # a deleted worktree directory holds nothing
                heads[branch] = worktree
        return heads

    def worktree_initialising(self, worktree: Path) -> bool:
        """Whether ``git worktree add`` is still (or, killed, forever) initialising
        ``worktree``: git locks a new worktree with the reason "initializing" until the
        checkout is done."""
        return self._initialising_admin(worktree) is not None

    def _initialising_admin(self, worktree: Path) -> Path | None:
        """The admin directory (``worktrees/<name>``) of ``worktree`` while git's lock says
        "initializing", else None."""
        try:
            entries = list(os.scandir(self.common_dir / "worktrees"))
        except OSError:
            return None
        for entry in entries:
            admin = Path(entry.path)
            try:
                if Path((admin / "gitdir").read_text().strip()).parent != worktree:
                    continue
                if (admin / "locked").read_text().strip() == "initializing":
                    return admin
            except OSError:
                continue
        return None

    def discard_half_made_worktree(self, worktree: Path) -> None:
        """Remove a worktree that a killed ``git worktree add`` left half made: git's own
        ``worktree remove --force --force`` (it locks a new worktree while initialising),
        and when git cannot read what it left (killed before it wrote ``commondir`` or
        ``HEAD``), its admin directory and the worktree directory by hand: while git's lock
        says "initializing" they hold only what that git wrote."""
        from codev_git.store.porcelain import worktree_discard

        admin = self._initialising_admin(worktree)
        root = self.main_workdir or self.common_dir
        try:
            worktree_discard(root, worktree)
        except OperationalError:
            if admin is None:
                raise
            shutil.rmtree(admin, ignore_errors=True)
            shutil.rmtree(worktree, ignore_errors=True)

    # -- config ------------------------------------------------------------------------------
    def config_get(self, key: str) -> str | None:
        try:
            cfg = self.repo.config
            if key in cfg:
                value = cfg[key]
                return value if isinstance(value, str) else None
        except (pygit2.GitError, OSError, ValueError):
            return None
        return None

    def config_names(self, prefix: str) -> list[str]:
        """The configured keys that start with ``prefix`` (lowercase section/key names)."""
        try:
            return sorted({e.name for e in self.repo.config if e.name.startswith(prefix)})
        except (pygit2.GitError, OSError, ValueError):
            return []

    def config_bool(self, key: str, default: bool = False) -> bool:
        value = self.config_get(key)
        if value is None:
            return default
        return value.strip().lower() in {"true", "yes", "on", "1"}

    def config_int(self, key: str, default: int) -> int:
        value = self.config_get(key)
        if value is None:
            return default
        try:
            return parse_git_int(value)
        except ValueError as exc:
            raise UsageError(
                f"config {key}={value!r} is not a number", f"fix it with 'git config {key} N'"
            ) from exc

    def remote_names(self) -> list[str]:
        """The configured remotes, ``origin`` first."""
        if self._remotes is None:
            try:
                names = [str(n) for n in self.repo.remotes.names()]
            except (pygit2.GitError, OSError):
                names = []
            self._remotes = sorted(names, key=lambda n: (n != "origin", n))
        return self._remotes

    def config_set(self, key: str, value: str) -> None:
        self.repo.config[key] = value

    def identity(self) -> Ident | None:
        name = self.config_get("user.name") or os.environ.get("GIT_AUTHOR_NAME")
        email = self.config_get("user.email") or os.environ.get("GIT_AUTHOR_EMAIL")
        if not name:
            return None
        return Ident(name, email or "")

    # == objects ==
    def resolve_commit(self, rev: str) -> str:
        try:
            obj = self.repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except pygit2.AmbiguousError as exc:
            raise UsageError(
                f"{rev!r} names several objects", "give more hex digits", code="ambiguous"
            ) from exc
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

    def walk_raw(self, tip: str, hide: list[str] | None = None) -> Iterator[RawCommit]:
        """:meth:`walk` for walks over many commits that read only parents and messages
        (what a fetch brings in, an unread count): about a quarter cheaper per commit."""
        walker = self.repo.walk(tip, SortMode.NONE)
        for hidden in hide or ():
            walker.hide(hidden)
        for obj in walker:
            yield RawCommit(obj.id, tuple(map(str, obj.parent_ids)), obj.raw_message)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        commit = self.repo.get(descendant)
        if isinstance(commit, pygit2.Commit) and any(
            str(parent) == ancestor for parent in commit.parent_ids
        ):
            return True  # a merge or an append on top of it: no walk
        return bool(self.repo.descendant_of(descendant, ancestor))

    def merge_base(self, one: str, two: str) -> str | None:
        """The best common ancestor of two commits (one walk), or None when they share none."""
        try:
            base = self.repo.merge_base(one, two)
        except (pygit2.GitError, ValueError, KeyError) as exc:
            raise OperationalError(f"cannot compare {one[:12]} with {two[:12]}: {exc}") from exc
        return str(base) if base is not None else None

    def ahead_behind(
        self, base: str, tips: Iterable[str], *, small_walk: int | None = None
    ) -> dict[str, tuple[int, int]]:
        """``{tip: (ahead, behind)}`` against ``base``, for all tips in one walk: in-process
        while the history is small (up to ``small_walk`` commits, :data:`graph.SMALL_WALK`
        by default), else by git, which uses the commit-graph (libgit2 would walk once per
        tip, without it). Shallow clones always go to git."""
        from codev_git.store import graph

        limit = graph.SMALL_WALK if small_walk is None else small_walk

        def git(
            *args: str, stdin: bytes | None = None, ok_codes: tuple[int, ...] = (0,)
        ) -> list[str]:
            from codev_git.store.porcelain import git_lines

            return git_lines(
                self.git_dir, *args, stdin=stdin, ok_codes=ok_codes, what=f"git {args[0]}"
            )

        def walk(ids: list[str]) -> graph.Walk:
            git_only = self.repo.is_shallow or self._parents_rewritten()
            small = None if git_only else graph.small_walk(self.repo, ids, limit)
            return small if small is not None else graph.git_walk(git, ids)

        return graph.ahead_behind_many(walk, base, tips)

    def _parents_rewritten(self) -> bool:
        """Whether replace refs or ``info/grafts`` give commits other parents: git honours
        them, libgit2 does not, so walks that must agree with git are left to git (as when
        ``GIT_REPLACE_REF_BASE`` puts replace refs elsewhere)."""
        if os.environ.get("GIT_REPLACE_REF_BASE", "refs/replace/") != "refs/replace/":
            return True
        if (self.common_dir / "info" / "grafts").exists():
            return True
        replace = self.common_dir / "refs" / "replace"
        if replace.is_dir() and any(replace.iterdir()):
            return True
        try:
            return b" refs/replace/" in (self.common_dir / "packed-refs").read_bytes()
        except OSError:
            return False

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
        # a first-parent walk is one chain, already in order: a topological sort would read
        # the whole history (80,000 commits) before yielding the first
        walker = self.repo.walk(tip, SortMode.NONE)
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
                return self._last_commit_touching_by_git(tip, path)
        if previous is not None and prev_id is not None:
            return info(previous)
        return None

    def _last_commit_touching_by_git(self, tip: str, path: str) -> CommitInfo | None:
        """The same answer, from git (commit-graph, changed-path filters) past the walk's
        limit: the commit where the walk stopped did not change ``path``."""
        from codev_git.store.porcelain import git_lines

        found = git_lines(
            self.git_dir,
            "rev-list",
            "-1",
            "--first-parent",
            tip,
            "--",
            path,
            what="git rev-list",
        )
        obj = self.repo.get(found[0]) if found else None
        return info(obj) if isinstance(obj, pygit2.Commit) else None

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
        stamp = clock.now() if when is None else when
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
            mode = _MODES.get(kind, FileMode.BLOB)
            builder.insert(name, pygit2.Oid(hex=oid), mode)
        try:
            return str(builder.write())
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(
                f"cannot write to the repository: {exc}", write_hint(exc)
            ) from exc

    def tree_entries(self, tree: str) -> Iterator[tuple[str, str, str]]:
        """(name, oid, kind) for each entry of a tree; kind is "blob", "tree", "commit" (a
        gitlink) or "link" (a symbolic link)."""
        obj = self.repo.get(tree)
        if not isinstance(obj, pygit2.Tree):
            return
        for entry in obj:
            yield str(entry.name), str(entry.id), _kind_of_mode(entry.filemode)

    def tree_entry(self, tree: str, name: str) -> tuple[str, str] | None:
        obj = self.repo.get(tree)
        if not isinstance(obj, pygit2.Tree):
            return None
        try:
            entry = obj[name]
        except KeyError:
            return None
        return str(entry.id), _kind_of_mode(entry.filemode)

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

    def note_entries(
        self, notes_tree: str, skipped: list[str] | None = None
    ) -> Iterator[tuple[str, str]]:
        """(annotated id, note blob id) for every note in a notes tree; other entries skipped.
        An entry named like a note that is not a blob (a gitlink, a symbolic link: another
        clone's data can hold anything) is added to ``skipped``."""
        for name, oid, kind in self.tree_entries(notes_tree):
            if not self.is_note_entry(name, kind):
                if skipped is not None and is_hex(name, 40):
                    skipped.append(name)
                continue
            if kind == "blob":
                yield name, oid
            else:
                for sub_name, sub_oid, sub_kind in self.tree_entries(oid):
                    if sub_kind == "blob" and is_hex(sub_name, 38):
                        yield name + sub_name, sub_oid
                    elif skipped is not None and is_hex(sub_name, 38):
                        skipped.append(name + sub_name)

    # == references ==
    # -- reading refs ----------------------------------------------------------------------------
    def ref_target(self, name: str) -> str | None:
        try:
            ref = self.repo.references.get(name)
        except (pygit2.GitError, ValueError, OSError) as exc:
            raise OperationalError(f"cannot read ref {name}: {exc}") from exc
        if ref is None:
            return None
        target = ref.target
        return str(target) if not isinstance(target, str) else None

    def refs_under(self, prefix: str) -> dict[str, str]:
        """All direct references whose name starts with ``prefix``, mapped to their target."""
        return {name: oid for name, oid in self.ref_snapshot().items() if name.startswith(prefix)}

    def ref_snapshot(self) -> dict[str, str]:
        """Every direct reference and its target, read in one pass: for read-only reports
        that would otherwise look up thousands of refs one by one."""
        try:
            refs = self.repo.listall_reference_objects()
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(f"cannot list references: {exc}") from exc
        out: dict[str, str] = {}
        for ref in refs:
            target = ref.target
            if not isinstance(target, str):
                out[ref.name] = str(target)
        return out

    def reflog_messages(self, name: str) -> list[str]:
        """The messages of a ref's reflog, newest first (empty when it has none)."""
        try:
            ref = self.repo.references.get(name)
            if ref is None:
                return []
            return [str(entry.message or "") for entry in ref.log()]
        except (pygit2.GitError, ValueError, OSError):
            return []

    @contextlib.contextmanager
    def mutex(self, name: str, *, wait: float = 120.0) -> Iterator[None]:
        """Hold an exclusive lock among this clone's processes for the block. It is an
        ``flock`` on ``<common dir>/codev-<name>.mutex``: the kernel drops it when its holder
        dies, so a killed process never leaves it held (unlike a ``.lock`` file)."""
        import fcntl

        path = self.common_dir / f"codev-{name}.mutex"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OperationalError(f"cannot open {path}: {exc}", write_hint(exc)) from exc
        try:
            deadline = time.monotonic() + wait
            attempt = 0
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OperationalError(
                            f"another git codev {name} in this clone has held {path} "
                            f"for over {int(wait)}s",
                            "wait for it to finish, then try again",
                        ) from None
                    _backoff(attempt)
                    attempt += 1
            yield
        finally:
            os.close(fd)  # closing drops the flock

    # -- moving refs ---------------------------------------------------------------------------
    def cas_update(
        self,
        name: str,
        compute: Callable[[str | None], str | None],
        reflog: str,
        *,
        attempts: int = CAS_ATTEMPTS,
        require_commit: bool = True,
    ) -> tuple[str | None, str | None]:
        """Move ``name`` from its current value to ``compute(current)`` with compare-and-swap.

        ``compute`` is called again after every lost race, with the new current value; it
        returns the new target, or None to leave the ref as it is. Returns (old, new).
        """
        last_error = ""
        for attempt in range(attempts):
            try:
                ref = self.repo.references.get(name)
            except (pygit2.GitError, ValueError, OSError) as exc:
                raise OperationalError(f"cannot read ref {name}: {exc}") from exc
            old: str | None = None
            if ref is not None:
                target = ref.target
                if isinstance(target, str):
                    raise OperationalError(f"ref {name} is symbolic; codev refs must be direct")
                old = str(target)
                if require_commit and self.object_type(old) != "commit":
                    raise OperationalError(
                        f"ref {name} points at {self.object_type(old) or 'a missing object'}, "
                        "not a commit; refusing to build on it",
                        f"inspect it with 'git cat-file -t {old[:12]}'; repair or delete the ref",
                    )
            try:
                new = compute(old)
            except (pygit2.GitError, OSError) as exc:
                raise OperationalError(
                    f"cannot write objects for {name}: {exc}", write_hint(exc)
                ) from exc
            if new is None or new == old:
                return old, old
            try:
                if ref is None:
                    self._create_ref(name, new, reflog)
                else:
                    ref.set_target(new, reflog)  # compares the old value under the ref's lock
                return old, new
            except (pygit2.AlreadyExistsError, CasConflict):
                last_error = "created concurrently"
            except (pygit2.GitError, OSError) as exc:
                text = str(exc)
                if is_permission(exc):
                    raise OperationalError(
                        f"cannot update ref {name}: {text}", write_hint(exc)
                    ) from exc
                self._raise_if_name_conflict(name)
                if "lock" in text:
                    self._raise_if_stale_lock(name)
                    last_error = text
                elif "does not match" in text or "already exists" in text:
                    last_error = text
                elif "No such file or directory" in text:
                    # another process deleting a sibling ref pruned the (reflog) directory
                    # between libgit2 making it and writing in it: look again and retry
                    last_error = text
                else:
                    raise OperationalError(f"cannot update ref {name}: {text}") from exc
            _backoff(attempt)
        for lock in self._lock_files(name):
            if lock.exists():
                raise OperationalError(
                    f"ref {name} stayed locked by {lock} while {attempts} attempts waited",
                    "another git process is writing it: try again when it is done; if none "
                    f"is running, remove the lock: rm '{lock}'",
                )
        raise OperationalError(
            f"gave up updating {name} after {attempts} attempts ({last_error}): other "
            "processes kept moving it",
            "try again",
        )

    def _lock_files(self, name: str) -> tuple[Path, Path]:
        return self.common_dir / f"{name}.lock", self.common_dir / "packed-refs.lock"

    def _raise_if_name_conflict(self, name: str) -> None:
        """git cannot hold both ``a/b`` and ``a/b/c``: say which one is in the way."""
        other = self.conflicting_ref(name)
        if other is not None:
            raise OperationalError(
                f"cannot create ref {name}: ref {other} exists, and git cannot hold both names",
                f"if {other} is not needed, delete it: git update-ref -d {other}",
            )

    def conflicting_ref(self, name: str) -> str | None:
        """An existing ref whose name is a directory of ``name`` or lies under it."""
        parts = name.split("/")
        for cut in range(2, len(parts)):
            prefix = "/".join(parts[:cut])
            try:
                if self.repo.references.get(prefix) is not None:
                    return prefix
            except (pygit2.GitError, ValueError, OSError):
                continue
        inside = name + "/"
        for existing in self.repo.references:
            if existing.startswith(inside):
                return str(existing)
        return None

    def create_refs(self, targets: Mapping[str, str], reflog: str) -> set[str]:
        """Create those of ``targets`` (refname -> commit) that do not exist yet; returns
        the ones created. The caller moves the others one :meth:`cas_update` each.

        Many refs are added to ``packed-refs`` in one rewrite under git's locks
        (:mod:`codev_git.store.packed`: one file instead of one per ref); a ref another
        writer touched meanwhile is left out of the result, so its compare-and-swap merges
        the two. Few refs, or a busy ``packed-refs``, go through one ``git update-ref
        --stdin`` transaction (all or none). No reflog is written on the packed path."""
        if not targets:
            return set()
        if len(targets) >= PACKED_CREATE_MIN:
            from codev_git.store.packed import add_new_refs, contended

            added = add_new_refs(self.common_dir, targets)
            if added is not None:
                return added - contended(self.common_dir, added)
        return (
            set(targets)
            if self.move_refs({n: (None, o) for n, o in targets.items()}, reflog)
            else set()
        )

    def move_refs(self, moves: Mapping[str, tuple[str | None, str]], reflog: str) -> bool:
        """Move every ref in ``moves`` (refname -> (expected target, None: absent; new
        target)) in one ``git update-ref --stdin`` transaction: all of them, or none when
        any of them was not as expected. True when they moved."""
        from codev_git.store.porcelain import git_lines

        zero = "0" * 40
        stdin = "".join(
            f"update {name} {new} {old or zero}\n" for name, (old, new) in moves.items()
        )
        try:
            git_lines(
                self.git_dir,
                "update-ref",
                "-m",
                reflog,
                "--stdin",
                stdin=stdin.encode(),
                what="git update-ref",
            )
        except OperationalError:
            return False
        return True

    def pack_refs_if_many(self, prefixes: tuple[str, ...], limit: int = LOOSE_REFS_LIMIT) -> bool:
        """``git pack-refs --all`` when more than ``limit`` loose refs sit under
        ``prefixes`` (what ``git gc`` would do later): one file per ref makes every later
        listing, fetch and sync open them all. True when it packed."""
        loose = 0
        for prefix in prefixes:
            for _folder, _dirs, files in os.walk(self.common_dir / prefix):
                loose += sum(1 for name in files if not name.endswith(".lock"))
        if loose <= limit:
            return False
        from codev_git.store.porcelain import git_lines

        git_lines(self.common_dir, "pack-refs", "--all", what="git pack-refs")
        return True

    def _create_ref(self, name: str, target: str, reflog: str) -> None:
        """Create ``name`` only if it does not exist, decided under the ref's lock.

        libgit2's ``create(force=False)`` checks for an existing ref *before* it takes the
        lock, so two creators can both succeed; a transaction locks first, then we look."""
        with self.repo.transaction() as tx:
            tx.lock_ref(name)
            if self.repo.references.get(name) is not None:
                raise CasConflict(name)
            tx.set_target(name, pygit2.Oid(hex=target), message=reflog)

    def delete_ref(self, name: str, expected: str) -> bool:
        """Delete ``name`` only if it still points at ``expected``."""
        try:
            ref = self.repo.references.get(name)
            if ref is None or str(ref.target) != expected:
                return False
            ref.delete()
            return True
        except (pygit2.GitError, OSError):
            return False

    def _raise_if_stale_lock(self, name: str) -> None:
        for lock in self._lock_files(name):
            age = stale_lock_age(lock)
            if age is not None:
                raise OperationalError(
                    f"ref {name} is locked by {lock} ({int(age)}s old, left by a killed writer?)",
                    f"if no git process is running, remove it: rm '{lock}'",
                )

    # == packing ==
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


def _backoff(attempt: int) -> None:
    cap = min(CAS_MAX_SLEEP, 0.001 * (2 ** min(attempt, 8)))
    import random  # only when a race was lost: keeps it off every command's start-up

    time.sleep(random.uniform(0, cap))


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


_MODES = {
    "tree": FileMode.TREE,
    "blob": FileMode.BLOB,
    "commit": FileMode.COMMIT,
    "link": FileMode.LINK,
}


def _kind_of_mode(mode: int) -> str:
    if mode == FileMode.TREE:
        return "tree"
    if mode == FileMode.COMMIT:
        return "commit"
    if mode == FileMode.LINK:
        return "link"
    return "blob"
