"""Changing threads: new, refresh, archive. Only the owning architect changes a thread.

Each change is one commit of exactly the thread's file (or, for archive, of its move), made
with ``git commit --only`` so that whatever else is staged stays staged and out of it, and the
user's hooks run. Every check happens before the first write: a refusal leaves the working
tree, the index and the refs as they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codev_git import config
from codev_git.clock import iso, now
from codev_git.errors import OperationalError, UsageError
from codev_git.names import ArchitectName, BuilderId, ThreadName, short_branch, shown
from codev_git.ownership.builder_state import base_branch
from codev_git.ownership.identity import Identity
from codev_git.store import Store
from codev_git.store.porcelain import run_git
from codev_git.threads.model import (
    ARCHIVE_DIR,
    THREAD_DIR,
    Thread,
    builder_rows,
    head_commit,
    is_live,
    parse_front_matter,
    read_thread,
    thread_path,
    unknown_thread,
)
from codev_git.threads.render import (
    blocks,
    marker,
    render_template,
    replace_block,
    template_source,
)

EDIT_WAIT = 60.0  # seconds a thread edit waits for another in the same worktree


@dataclass(frozen=True)
class Written:
    path: str
    commit: str | None  # None with --no-commit, or when nothing changed
    changed: bool = True


@dataclass(frozen=True)
class Archived:
    source: str
    destination: str
    commit: str | None
    unmerged: list[BuilderId]  # builders still open when archived with --force
    resumed: bool = False  # finished an archive that was interrupted after `git mv`


def worktree_root(store: Store) -> Path:
    root = store.workdir
    if root is None or store.is_bare:
        raise UsageError(
            "this repository has no working tree",
            "change threads from a worktree; 'thread list' and 'thread show' work anywhere",
        )
    return root


def _require_codev_dir(root: Path) -> None:
    if not (root / THREAD_DIR).is_dir():
        raise UsageError(
            f"there is no {THREAD_DIR}/ directory in {root}",
            f"threads live in {THREAD_DIR}/: create it (mkdir {THREAD_DIR}) in a Codev project",
        )


def _require_owner(who: Identity, thread: Thread, action: str, *, force: bool = False) -> None:
    if force or thread.architect == who.architect:
        return
    owner = thread.architect or "no architect (its front matter names none)"
    hint = "only its owner may; anyone can read it with 'git codev thread show'"
    if action == "archive":
        hint = "only its owner may, or pass --force"
    raise UsageError(
        f"thread {thread.name} belongs to {owner}; {who.architect} cannot {action} it", hint
    )


def _require_clean(root: Path, path: str, flag_hint: str) -> None:
    if run_git(root, "status", "--porcelain", "--", path, what="git status").strip():
        raise OperationalError(f"{path} has uncommitted changes", f"commit them first{flag_hint}")


def _require_branch(store: Store, action: str, flag_hint: str = "") -> None:
    """A commit on a detached HEAD belongs to no branch: it would be lost at the next switch."""
    if store.head_branch() is None:
        during = store.operation_branch()
        why = (
            f"a {during[1]} of {short_branch(during[0])} is under way"
            if during
            else "HEAD is detached"
        )
        raise UsageError(
            f"cannot {action} here: {why}, so the commit would belong to no branch",
            f"check out the branch the thread lives on first (git switch BRANCH){flag_hint}",
        )


def _message(subject: str, name: ThreadName, body: str = "") -> str:
    return f"{subject}\n\n" + (f"{body}\n\n" if body else "") + f"Codev-Thread: {name}\n"


def _commit_only(root: Path, paths: list[str], message: str) -> None:
    run_git(root, "commit", "--quiet", "--only", "-m", message, "--", *paths, what="git commit")


def _interrupted_move(store: Store, root: Path, head: str, source: str, destination: str) -> bool:
    """Whether the working tree holds exactly what an interrupted ``git mv`` of the thread
    leaves: the source gone, the destination holding HEAD's version of the source."""
    if (root / source).exists() or not (root / destination).is_file():
        return False
    committed = store.read_path(head, source)
    try:
        return committed is not None and (root / destination).read_bytes() == committed
    except OSError:
        return False


def _active_at_head(store: Store, name: ThreadName, action: str) -> Thread:
    head = head_commit(store)
    thread = read_thread(store, head, name) if head is not None else None
    if thread is None:
        raise unknown_thread(store, name, "HEAD")
    if thread.archived:
        raise OperationalError(
            f"thread {name} is already archived ({thread.path})",
            f"archived threads are kept as they are; nothing to {action}",
        )
    return thread


# -- new -----------------------------------------------------------------------------------------
def new_thread(
    store: Store,
    who: Identity,
    name: ThreadName,
    *,
    owner: ArchitectName,
    headline: str,
    commit: bool,
) -> Written:
    """Render the template to ``codev/<name>-thread.md`` and commit exactly that file."""
    with _one_edit_at_a_time(store, f"thread new {name}"):
        root = worktree_root(store)
        _require_codev_dir(root)
        if commit:
            _require_branch(store, f"start thread {name}", ", or pass --no-commit")
        head = head_commit(store)
        for archived in (False, True):
            rel = thread_path(name, archived=archived)
            if (root / rel).exists() or (
                head is not None and store.read_path(head, rel) is not None
            ):
                was = "an archived thread" if archived else "a thread"
                raise OperationalError(
                    f"{was} named {name} already exists ({rel})", "pick another name"
                )
        source, label = template_source(root)
        base = base_branch(store)
        values = {
            "thread": name,
            "architect": owner,
            "status": "active",
            "created": iso(int(now())),
            "headline": headline,
            **blocks(
                builder_rows(store, {name}).get(name, []),
                short_branch(base[0]) if base else None,
                name,
                config.THREAD_HISTORY.number(store),
            ),
        }
        text = render_template(source, label, values)
        front = parse_front_matter(text)
        if front.get("thread") != name or front.get("architect") != owner:
            raise OperationalError(
                f"{label} does not produce front matter naming the thread and its architect",
                "start it with '---', 'thread: {{ thread }}', 'architect: {{ architect }}', '---'",
            )
        rel = thread_path(name)
        path = root / rel
        try:
            with path.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as exc:
            raise OperationalError(f"cannot write {rel}: {exc.strerror}") from exc
        if not commit:
            _register_owner(store, who, owner)
            return Written(rel, None)
        subject = f"codev: start thread {name} (architect {owner})"
        try:
            run_git(root, "add", "--", rel, what="git add")
            _commit_only(root, [rel], _message(subject, name, headline))
        except OperationalError:
            with contextlib.suppress(OperationalError):
                run_git(
                    root, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", rel, what="undo"
                )
            path.unlink(missing_ok=True)
            raise
        _register_owner(store, who, owner)
        return Written(rel, head_commit(store))


def _register_owner(store: Store, who: Identity, owner: ArchitectName) -> None:
    """The thread's owner (and the architect that started it) become known architects, as
    spawn registers the owner it names: otherwise nobody could write to the owner."""
    from codev_git.ownership.builders import register_architects

    register_architects(store, who, owner)


# -- refresh -------------------------------------------------------------------------------------
def refresh_thread(store: Store, who: Identity, name: ThreadName, *, commit: bool) -> Written:
    """Regenerate the blocks between markers from live data; commit the file if it changed."""
    root = worktree_root(store)
    thread = _active_at_head(store, name, "refresh")
    _require_owner(who, thread, "refresh")
    with _one_edit_at_a_time(store, f"thread refresh {name}"):
        return _refresh(store, root, thread.path, name, commit=commit)


@contextlib.contextmanager
def _one_edit_at_a_time(store: Store, what: str) -> Iterator[None]:
    """Hold this worktree's thread-edit lease (a lock the kernel drops if we die): a second
    refresh waits for the first, then finds the file current, instead of refusing it as
    modified or committing over it."""
    from codev_git.messaging.lease import Lease

    lease = Lease(store.git_dir / "codev" / "thread-edit.lease")
    if not lease.acquire(what, timeout=EDIT_WAIT):
        raise OperationalError(
            f"{lease.holder()} is editing threads in this worktree",
            "wait for it to finish, then run this again",
        )
    try:
        yield
    finally:
        lease.release()


def _refresh(store: Store, root: Path, rel: str, name: ThreadName, *, commit: bool) -> Written:
    path = root / rel
    if commit:
        _require_branch(store, f"refresh thread {name}", ", or pass --no-commit")
        _require_clean(root, rel, ", or pass --no-commit to only rewrite the file")
    try:
        old = path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError as exc:
        raise OperationalError(f"cannot read {rel}: {exc.strerror}", "restore it") from exc
    base = base_branch(store)
    generated = blocks(
        builder_rows(store, {name}).get(name, []),
        short_branch(base[0]) if base else None,
        name,
        config.THREAD_HISTORY.number(store),
    )
    new, found = old, 0
    for block, content in generated.items():
        replaced = replace_block(new, block, content)
        if replaced is not None:
            new, found = replaced, found + 1
    if not found:
        raise OperationalError(
            f"{rel} has no generated block to refresh",
            f"add the lines {marker('roster', 'begin')} and {marker('roster', 'end')}",
        )
    if new == old:
        return Written(rel, None, changed=False)
    written = new.encode("utf-8", "surrogateescape")
    path.write_bytes(written)
    if not commit:
        return Written(rel, None)
    try:
        _commit_only(root, [rel], _message(f"codev: refresh thread {name} roster", name))
    except OperationalError:
        with contextlib.suppress(OSError):
            if path.read_bytes() == written:  # else someone saved the file meanwhile: keep it
                path.write_bytes(old.encode("utf-8", "surrogateescape"))
        raise
    return Written(rel, head_commit(store))


# -- archive -------------------------------------------------------------------------------------
def archive_thread(store: Store, who: Identity, name: ThreadName, *, force: bool) -> Archived:
    """``git mv`` the thread into ``codev/archive/`` and commit just that move."""
    with _one_edit_at_a_time(store, f"thread archive {name}"):
        root = worktree_root(store)
        from codev_git.store.porcelain import check_worktree_locks

        check_worktree_locks(root, f"cannot archive thread {name}")  # a killed run's commit
        thread = _active_at_head(store, name, "archive")
        _require_owner(who, thread, "archive", force=force)
        unmerged = [
            r.record.builder for r in builder_rows(store, {name}).get(name, []) if is_live(r)
        ]
        if unmerged and not force:
            listed = ", ".join(unmerged[:6]) + (", ..." if len(unmerged) > 6 else "")
            raise UsageError(
                f"thread {name} still has {len(unmerged)} unmerged builder(s): {listed}",
                "merge or abandon them first, or pass --force",
                code="refused",
                candidates=list(unmerged),
            )
        source, destination = thread.path, thread_path(name, archived=True)
        _require_branch(store, f"archive thread {name}")
        body = []
        if thread.architect != who.architect:
            body.append(f"Archived by {who.architect} with --force (owner: {thread.architect}).")
        if unmerged:
            body.append(f"Unmerged builders at archive time: {', '.join(unmerged)}.")
        head = head_commit(store)
        if head is not None and _interrupted_move(store, root, head, source, destination):
            # an archive killed after `git mv` and before its commit: finish it
            run_git(root, "add", "--", destination, what="git add")
            message = _message(
                f"codev: archive thread {name}",
                name,
                "\n".join(["Finished an interrupted archive.", *body]),
            )
            _commit_only(root, [source, destination], message)
            return Archived(source, destination, head_commit(store), unmerged, resumed=True)
        _require_clean(root, source, "")
        if (root / destination).exists():
            raise OperationalError(
                f"{shown(destination)} already exists in the working tree", "move it away first"
            )
        archive_dir = root / ARCHIVE_DIR
        if archive_dir.is_symlink() or (archive_dir.exists() and not archive_dir.is_dir()):
            # git mv would follow a symlink and put the thread outside the working tree
            raise OperationalError(
                f"{ARCHIVE_DIR} is not a directory here (a file or a symlink)",
                f"move it away first: archived threads go in a real {ARCHIVE_DIR}/ directory",
            )
        created = not archive_dir.is_dir()
        archive_dir.mkdir(parents=True, exist_ok=True)
        try:
            run_git(root, "mv", source, destination, what="git mv")
        except OperationalError:
            if created:
                with contextlib.suppress(OSError):
                    archive_dir.rmdir()
            raise
        try:
            message = _message(f"codev: archive thread {name}", name, "\n".join(body))
            _commit_only(root, [source, destination], message)
        except OperationalError:
            with contextlib.suppress(OperationalError):
                run_git(root, "mv", destination, source, what="undo git mv")
            if created:
                with contextlib.suppress(OSError):
                    archive_dir.rmdir()
            raise
        return Archived(source, destination, head_commit(store), unmerged)


def start_thread(
    store: Store,
    as_name: str | None,
    name: ThreadName,
    owner: ArchitectName | None,
    headline: str,
    commit: bool,
) -> tuple[Written, ArchitectName]:
    """``thread new``: the caller (an architect) starts a thread for itself or for ``owner``."""
    from codev_git.ownership.identity import resolve_architect

    who = resolve_architect(store, as_name, what="thread new")
    owner = owner or who.architect
    return new_thread(store, who, name, owner=owner, headline=headline, commit=commit), owner
