"""Spawning a builder: a branch, its ownership record and its worktree, or a clean refusal.

The steps, under this clone's spawn mutex (:meth:`Store.mutex`; the kernel frees it when its
holder dies, so a killed spawn never leaves it held):

1. the branch is created by compare-and-swap, with the reflog message ``codev: spawn <id>``;
2. the record is written by compare-and-swap, and inside that same step the issue is checked
   for a live builder (:func:`codev_git.ownership.dedupe.guard`);
3. ``git worktree add`` makes the worktree (so the post-checkout hook tags it).

A step that fails undoes the earlier ones (the record line taken back by compare-and-swap,
the branch deleted only if it has not moved). A spawn killed half-way is repaired by running
the same ``spawn`` again: a branch that a spawn created and nothing moved since gets its
record, a recorded builder gets its missing or half-made worktree, and the output says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from codev_git.clock import now_iso
from codev_git.errors import CodevError, OperationalError, UsageError
from codev_git.names import (
    BRANCH_PREFIX,
    ArchitectName,
    BranchRef,
    Protocol,
    ThreadName,
    builder_branch_for_dir,
    builder_id_for_branch,
    short_branch,
)
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook, OwnerRecord
from codev_git.store import Ident, Store

TASK_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
REFLOG_SPAWN = "codev: spawn"


@dataclass(frozen=True)
class Spawned:
    record: OwnerRecord
    worktree: Path | None
    base: str
    repaired: list[str] = field(default_factory=list)  # what a re-run had to finish
    fetched: str | None = None  # the upstream the base was fetched from


@dataclass(frozen=True)
class Request:
    issue: int | None
    protocol: Protocol | None
    task: str | None
    architect: ArchitectName | None
    thread: ThreadName | None
    base: str | None
    worktree: bool
    force: bool = False
    reason: str | None = None
    fetch: bool = True


def builders_dir(store: Store) -> Path:
    root = store.main_workdir
    if root is None:
        raise UsageError(
            "this repository has no working tree for builder worktrees",
            "run from a non-bare clone, or pass --no-worktree",
        )
    return root / ".builders"


def _task_dir(store: Store) -> str:
    for _ in range(100):
        candidate = "task-" + "".join(secrets.choice(TASK_ALPHABET) for _ in range(4))
        if store.ref_target(BRANCH_PREFIX + "builder/" + candidate) is None:
            return candidate
    raise OperationalError("could not find a free task name", "try again")


def spawn(store: Store, who: Identity, req: Request) -> Spawned:
    from codev_git.ownership.builders import actor_ident

    if who.is_builder:
        raise UsageError(
            f"builder {who.name} cannot spawn builders", "spawn from an architect's worktree"
        )
    owner = req.architect or who.architect
    if req.task is not None:
        if not req.task.strip():
            raise UsageError("the task text is empty", "describe the task after --task")
        directory = _task_dir(store)
    else:
        assert req.issue is not None and req.protocol is not None
        directory = f"{req.protocol}-{req.issue}"
    from codev_git import report
    from codev_git.threads.choose import choose_thread

    with report.collecting() as deferred:  # "thread T chosen" is said only if it spawns
        req = replace(req, thread=choose_thread(store, owner, req.thread))
    for item in deferred:
        if item.level == "warning":
            report.warn(item.text)
    chosen = [item.text for item in deferred if item.level == "note"]
    _check_thread_owner(store, who, req)
    branch = builder_branch_for_dir(directory)
    path = builders_dir(store) / directory if req.worktree else None
    fetched = None
    if store.ref_target(branch) is None:  # a new spawn: start from a fresh base
        from codev_git.ownership.fresh import fresh_base

        base_commit, fetched = fresh_base(store, req.base, fetch=req.fetch)
    else:
        base_commit = ""
    actor = actor_ident(store, who)
    with store.mutex("spawn"):
        book = OwnerBook(store)
        tip = store.ref_target(branch)
        existing = book.lookup(branch, include_released=True)
        if tip is not None and existing is not None and not existing.released:
            repaired_spawn = _repair_recorded(store, existing.current, owner, path, actor)
            for text in chosen:
                report.note(text)
            return repaired_spawn
        if tip is not None:
            if existing is not None or not _made_by_spawn(store, branch):
                raise OperationalError(
                    f"branch {short_branch(branch)} already exists",
                    f"record it with 'git codev adopt {short_branch(branch)}', or delete it first",
                )
            base_commit, repaired = tip, ["ownership record"]
        else:
            repaired = []
            if req.issue is not None and not req.force:  # refuse before writing anything
                from codev_git.ownership.dedupe import guard

                guard(store, req.issue, owner, branch)(book.tree())
            if path is not None and path.exists():
                raise OperationalError(
                    f"{path} already exists",
                    "remove it ('git worktree remove') or use --no-worktree",
                )
            if not base_commit:  # the branch was deleted while we waited for the mutex
                base_commit = store.resolve_commit(req.base or "HEAD")
            _, created = store.cas_update(
                branch,
                lambda old: base_commit if old is None else None,
                f"{REFLOG_SPAWN} {builder_id_for_branch(branch)}",
            )
            if created is None:
                raise OperationalError(f"branch {short_branch(branch)} was created by someone else")
        from codev_git.ownership.dedupe import forced_reason

        record = OwnerRecord(
            time=now_iso(),
            event="spawn",
            builder=builder_id_for_branch(branch),
            branch=branch,
            architect=owner,
            thread=req.thread,
            protocol=req.protocol,
            issue=req.issue,
            task=req.task,
            by=who.name,
            base=base_commit,
            force=req.force,
            reason=forced_reason(store, req.issue, branch, req.reason) if req.force else None,
        )
        record = _write_record(store, book, record, actor, created_branch=not repaired)
        if path is not None:
            _add_worktree(store, book, record, path, actor, undo=True)
    _announce(store, actor, who, record)
    from codev_git.ownership.builders import register_architects

    register_architects(store, who, record.architect)
    for text in chosen:
        report.note(text)
    return Spawned(record, path, base_commit, repaired, fetched)


def _announce(store: Store, actor: Ident, who: Identity, record: OwnerRecord) -> None:
    from codev_git.ownership.announce import announce

    work = f"issue {record.issue} ({record.protocol})" if record.issue else f"task: {record.task}"
    text = f"ownership: {record.builder} was spawned by {who.name} for {record.architect}"
    text += f", {work}, from {(record.base or '')[:12]}"
    if record.thread:
        text += f", thread {record.thread}"
    if record.force:
        text += f"; forced: {record.reason or 'no reason given'}"
    announce(store, actor, who.architect, record, text, architects=[record.architect])


def _write_record(
    store: Store, book: OwnerBook, record: OwnerRecord, actor: Ident, *, created_branch: bool
) -> OwnerRecord:
    """Write the spawn record (the duplicate check inside its compare-and-swap); returns it
    as written."""
    from codev_git.ownership.dedupe import guard

    check = None
    if record.issue is not None and not record.force:
        check = guard(store, record.issue, record.architect, record.branch)
    try:
        (written,) = book.record(
            [record], actor, f"spawn {record.builder} for {record.architect}", guard=check
        )
    except CodevError:
        if created_branch and record.base:
            store.delete_ref(record.branch, record.base)
        raise
    return written


def _add_worktree(
    store: Store,
    book: OwnerBook,
    record: OwnerRecord,
    path: Path,
    actor: Ident,
    *,
    undo: bool,
) -> None:
    """``git worktree add``; on failure a new spawn is taken back: the record line first
    (by compare-and-swap, every other line kept), then the branch if it has not moved."""
    from codev_git.store.porcelain import worktree_add

    root = store.main_workdir
    assert root is not None
    try:
        worktree_add(root, path, record.branch_name)
    except OperationalError:
        if undo:
            book.unrecord(record, actor, f"undo spawn of {record.builder}")
            if record.base:
                store.delete_ref(record.branch, record.base)
        raise


def _repair_recorded(
    store: Store,
    current: OwnerRecord,
    owner: ArchitectName,
    path: Path | None,
    actor: Ident,
) -> Spawned:
    """The branch and its record exist: finish a half-done spawn, or refuse a second one."""
    placed = store.worktree_heads().get(current.branch)
    if (
        current.architect != owner
        or path is None
        or (placed is not None and not store.worktree_initialising(placed))
    ):
        hint = (
            "it is yours already: work in it"
            if current.architect == owner
            else f"work in it, or take it over with 'git codev reassign {current.builder} "
            f"--to {owner}'"
        )
        raise OperationalError(
            f"{current.builder} already exists (owned by {current.architect}, "
            f"branch {current.branch_name})",
            hint,
        )
    from codev_git.store.porcelain import worktree_prune

    root = store.main_workdir
    assert root is not None
    if placed is not None:
        store.discard_half_made_worktree(placed)  # a killed 'git worktree add' left it
    elif store.worktree_initialising(path):
        store.discard_half_made_worktree(path)  # killed before it even wrote HEAD
    elif path.is_dir() and not any(path.iterdir()):
        path.rmdir()  # killed right after making the directory
    elif path.exists():
        raise OperationalError(
            f"{current.builder} has no worktree, and {path} is in the way",
            f"move {path} aside and run the same spawn again, or use --no-worktree",
        )
    worktree_prune(root)
    _add_worktree(store, OwnerBook(store), current, path, actor, undo=False)
    return Spawned(current, path, current.base or "", ["worktree"])


def _made_by_spawn(store: Store, branch: BranchRef) -> bool:
    """The branch was created by a spawn (its one reflog entry says so) and never moved."""
    log = store.reflog_messages(branch)
    return len(log) == 1 and log[0].startswith(REFLOG_SPAWN)


def _check_thread_owner(store: Store, who: Identity, req: Request) -> None:
    if req.thread is None or req.force:
        return
    from codev_git.threads.model import owner_at_head

    owner = owner_at_head(store, req.thread)
    if owner is not None and owner != who.architect:
        raise UsageError(
            f"thread {req.thread} belongs to {owner}; {who.architect} may not spawn into it",
            f"ask {owner}, or pass --force --reason TEXT",
        )
