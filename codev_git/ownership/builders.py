"""Spawning, adopting and reassigning builders: branches with ownership records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from codev_git import report
from codev_git.clock import now_iso
from codev_git.errors import OperationalError, UsageError
from codev_git.names import (
    BRANCH_PREFIX,
    ArchitectName,
    BranchRef,
    BuilderId,
    ThreadName,
    builder_id_for_branch,
    is_builder_branch_ref,
    short_branch,
    shown,
)
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook, OwnerRecord
from codev_git.store import Ident, Store
from codev_git.threads.choose import choose_thread

if TYPE_CHECKING:
    from codev_git.ownership.dedupe import Holder


def actor_ident(store: Store, who: Identity) -> Ident:
    return store.identity() or Ident(who.name, f"{who.name}@codev.invalid")


def register_architects(store: Store, who: Identity, owner: ArchitectName) -> None:
    """An architect that spawns, adopts, reassigns or starts a thread (and the owner it names)
    is registered on the spot."""
    from codev_git.ownership.registry import register

    for name in dict.fromkeys((who.architect, owner)):
        register(store, name, actor_ident(store, who), who.name)


def _branch_ref(store: Store, name: str) -> BranchRef:
    ref = name if name.startswith("refs/") else BRANCH_PREFIX + name
    if not is_builder_branch_ref(ref):
        raise UsageError(
            f"invalid branch {shown(name)}",
            "give a local branch named with letters, digits and . _ / + -",
        )
    if store.ref_target(ref) is None:
        raise UsageError(f"no branch {shown(name)} in this repository", "create the branch first")
    return BranchRef(ref)


def adopt(
    store: Store,
    who: Identity,
    branch_name: str,
    *,
    architect: ArchitectName | None,
    thread: ThreadName | None,
    force: bool = False,
    reason: str | None = None,
) -> tuple[OwnerRecord, bool]:
    """Record ownership of an existing branch. Returns (record, written)."""
    if who.is_builder:
        raise UsageError(f"builder {who.name} cannot adopt", "adopt from an architect's worktree")
    branch = _branch_ref(store, branch_name)
    book = OwnerBook(store)
    owner = architect or who.architect
    plan = plan_adoption(
        store, book, branch, owner, by=who.name, thread=thread, force=force, reason=reason
    )
    if plan is None:
        existing = book.lookup(branch)
        assert existing is not None
        return existing.current, False
    (record,) = record_adoptions(
        book, [plan], actor_ident(store, who), f"adopt {plan.record.builder} for {owner}"
    )
    register_architects(store, who, owner)
    return record, True


@dataclass(frozen=True)
class Adoption:
    """A record to write, and the one-live-builder-per-issue check it makes again inside the
    compare-and-swap that writes it (None: it has no issue, or is forced)."""

    record: OwnerRecord
    check: Callable[[str | None], None] | None


def plan_adoption(
    store: Store,
    book: OwnerBook,
    branch: BranchRef,
    owner: ArchitectName,
    *,
    by: str,
    thread: ThreadName | None = None,
    force: bool = False,
    reason: str | None = None,
    details: tuple[str | None, int | None, str | None] | None = None,
    outside: list[Holder] | None = None,
) -> Adoption | None:
    """The record that adopting ``branch`` for ``owner`` writes, or None when it is already
    recorded so. Every adoption (``adopt BRANCH`` and ``adopt --from-afx``) goes through here,
    so both refuse the same things: the base branch and the main worktree's branch (unless
    ``force``), a branch another architect owns, a builder id already in use, and, as spawn
    does, an issue that already has a live builder (unless ``force``; ``outside`` as for
    :func:`codev_git.ownership.dedupe.guard`). ``details`` is (protocol, issue, task) as
    another tool recorded them; else they are read off the name."""
    from codev_git.ownership.dedupe import ADOPT_ANYWAY, forced_reason, guard

    if not force:
        _refuse_shared_branch(store, branch)
    existing = book.lookup(branch)
    builder = builder_id_for_branch(branch)
    if existing is not None:
        current = existing.current
        if current.architect == owner and (thread is None or current.thread == thread):
            return None
        if current.architect == owner:  # only the thread differs: it is set once
            raise OperationalError(
                f"{current.builder} is already yours, in thread {current.thread or '(none)'}",
                f"to put it in thread {thread}: 'git codev release {current.builder}', then "
                f"adopt it again with --thread {thread}",
            )
        raise OperationalError(
            f"{current.builder} is already owned by {current.architect}",
            f"hand it over with 'git codev reassign {current.builder} --to {owner}'",
        )
    clash = book.by_builder(builder)
    if clash is not None and clash.current.branch != branch:
        raise OperationalError(
            f"builder id {builder} is already used by branch {clash.current.branch_name}",
            "rename the branch",
        )
    protocol, issue, task = details if details is not None else (*_parse_dir(builder), None)
    check = None
    if issue is not None and not force:
        check = guard(store, issue, owner, branch, anyway=ADOPT_ANYWAY, outside=outside)
        check(book.tree())  # refuse before anything is written
    thread = choose_thread(store, owner, thread)  # only a new record takes the default thread
    record = OwnerRecord(
        time=now_iso(),
        event="adopt",
        builder=builder,
        branch=branch,
        architect=owner,
        thread=thread,
        protocol=protocol,
        issue=issue,
        task=task,
        by=by,
        base=store.ref_target(branch),
        force=force,
        reason=forced_reason(store, issue, branch, reason) if force else None,
    )
    return Adoption(record, check)


def record_adoptions(
    book: OwnerBook, plans: list[Adoption], actor: Ident, summary: str
) -> list[OwnerRecord]:
    """Write planned adoptions in one compare-and-swap, each one's issue checked again inside
    it (so two adoptions or spawns racing for one issue cannot both pass)."""
    checks = [plan.check for plan in plans if plan.check is not None]

    def check_all(tree: str | None) -> None:
        for check in checks:
            check(tree)

    records = [plan.record for plan in plans]
    return book.record(records, actor, summary, guard=check_all if checks else None)


def _refuse_shared_branch(store: Store, branch: BranchRef) -> None:
    """Whoever has a branch with a record checked out *is* that builder: adopting the main
    worktree's branch or the base branch would turn every architect there into a builder."""
    from codev_git.ownership.builder_state import base_branch

    base = base_branch(store)
    main = store.main_workdir
    if base is not None and base[0] == branch:
        why = "it is the base branch builders merge into"
    elif main is not None and store.worktree_heads().get(branch) == main:
        why = "it is checked out in the main worktree"
    else:
        return
    raise UsageError(
        f"refusing to adopt {short_branch(branch)}: {why}, and every architect working "
        "there would become its builder",
        "adopt a builder branch instead, or pass --force if you really mean it",
    )


def _parse_dir(builder: BuilderId) -> tuple[str | None, int | None]:
    tail = builder.removeprefix("builder-")
    proto, _, number = tail.rpartition("-")
    if proto and number.isdigit() and not tail.startswith("task-"):
        return proto, int(number)
    return None, None


def _owner_change(
    current: OwnerRecord,
    who: Identity,
    event: str,
    force: bool,
    reason: str | None,
    **changes: str,
) -> OwnerRecord:
    """The record for ``who`` changing a builder's ownership. Only the owning architect may,
    unless it forces it; a forced change records that it was forced, and why."""
    if current.architect != who.architect and not force:
        raise UsageError(
            f"{current.builder} belongs to {current.architect}; only {current.architect} may "
            f"{event} it",
            f"ask {current.architect}, or pass --force --reason TEXT (recorded in its history)",
        )
    forced = force and current.architect != who.architect
    return replace(
        current,
        time=now_iso(),
        event=event,
        by=who.name,
        force=forced,
        reason=reason if forced else None,
        **changes,  # type: ignore[arg-type]
    )


class KeepThread:
    """``reassign`` leaves the builder in the thread it has (the default)."""


KEEP_THREAD = KeepThread()


def reassign(
    store: Store,
    who: Identity,
    address: str,
    to: ArchitectName,
    *,
    thread: ThreadName | KeepThread | None = KEEP_THREAD,
    force: bool = False,
    reason: str | None = None,
) -> tuple[OwnerRecord, bool]:
    """Hand a builder to ``to``; ``thread`` is the thread it works in from now on (None:
    none; :data:`KEEP_THREAD`: the one it has). A thread must be active at HEAD and belong to
    ``to`` (--force overrides the second, recorded)."""
    if who.is_builder:
        raise UsageError(f"builder {who.name} cannot reassign", "reassign from an architect")
    book = OwnerBook(store)
    current = book.find(address).current
    keep = isinstance(thread, KeepThread)
    moved = current.thread if isinstance(thread, KeepThread) else thread
    if not keep and moved is not None:
        _check_new_thread(store, moved, to, force)
    if current.architect == to and current.thread == moved:
        return current, False
    record = _owner_change(current, who, "reassign", force, reason, architect=to)
    record = replace(record, thread=moved)
    actor = actor_ident(store, who)
    book.record([record], actor, f"reassign {record.builder} {current.architect}->{to}")
    from codev_git.ownership.announce import announce, retag

    retag(store, record)
    where = f"thread {moved}" if moved else "no thread"
    forced = f", forced: {reason}" if record.force and reason else ""
    if current.architect == to:
        was = f"thread {current.thread}" if current.thread else "no thread"
        text = f"ownership: {record.builder} of {to} now works in {where} (was {was}); "
        text += f"moved by {who.name}{forced}"
    else:
        text = f"ownership: {record.builder} now belongs to {to} (was {current.architect}); "
        text += f"reassigned by {who.name}{forced}"
        text += f"; {where}" if moved != current.thread else ""
    announce(store, actor, who.architect, record, text, architects=[current.architect, to])
    register_architects(store, who, to)  # like spawn --architect: the new owner is registered
    if keep and moved and current.architect != to:
        report.note(
            f"{record.builder} stays in thread {moved}; pass --thread to move it to one of "
            f"{to}'s (or --no-thread)"
        )
    return record, True


def _check_new_thread(store: Store, thread: ThreadName, to: ArchitectName, force: bool) -> None:
    """A thread a builder is moved into: active at HEAD, and the new owner's unless forced."""
    from codev_git.threads.model import owner_at_head

    choose_thread(store, to, thread)  # refuses a thread that is not active at HEAD
    owner = owner_at_head(store, thread)
    if owner is not None and owner != to and not force:
        raise UsageError(
            f"thread {thread} belongs to {owner}, not {to}",
            f"give one of {to}'s threads, or pass --force --reason TEXT",
        )


def release(
    store: Store, who: Identity, address: str, *, force: bool = False, reason: str | None = None
) -> OwnerRecord:
    """Give a builder up: its branch stops being a builder (history kept; adopt again later)."""
    if who.is_builder:
        raise UsageError(f"builder {who.name} cannot release", "release from an architect")
    book = OwnerBook(store)
    current = book.find(address).current
    record = _owner_change(current, who, "release", force, reason)
    actor = actor_ident(store, who)
    book.record([record], actor, f"release {record.builder}")
    from codev_git.ownership.announce import announce, retag

    retag(store, record)
    text = f"ownership: {record.builder} was released by {who.name}; it is no longer a builder"
    announce(store, actor, who.architect, record, text, architects=[current.architect])
    return record
