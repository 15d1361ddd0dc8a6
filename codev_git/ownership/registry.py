"""The architect registry: which architects exist in this repository.

Stored in the repository so it syncs like everything else: ``layout.ARCHITECTS_REF`` is a
chain of commits (empty tree), one per event; the last paragraph of each commit message is
one JSON object::

    Codev-Architect: {"event":"add","name":"payments","clock":3,"by":"main","time":"…Z"}

Order is causal, never the wall clock: each event carries a logical ``clock`` one past the
largest clock its writer had seen; events are ordered by ``(clock, commit id)`` and the last
event for a name decides whether it is registered. Two clones' chains merge (sync) like
message channels, into a deterministic merge commit; the fold reads every event reachable
from the tip, so the merge of two histories is the same on every clone.

An architect is *known* when it is registered, or is ``main`` (always), or — for
repositories older than the registry — owns a builder or has an inbox, unless an event
removed it. Sending to, acting as (``--as``) or filtering by an unknown architect is refused
with the list of known ones and the command to add one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codev_git import report
from codev_git.clock import now_iso
from codev_git.errors import UsageError
from codev_git.layout import ARCHITECTS_REF, INBOX_PREFIX
from codev_git.names import ARCHITECT_RE, ArchitectName, parse_architect
from codev_git.store import Ident, Store

if TYPE_CHECKING:
    from codev_git.ownership.records import Ownership

DEFAULT_ARCHITECT = ArchitectName("main")
TRAILER = "Codev-Architect: "
AUTO_RE = re.compile(r"architect-(\d{1,9})")
ADD_HINT = "add it with 'git codev architect add {name}'"


@dataclass(frozen=True)
class Event:
    event: str  # "add" or "remove"
    name: ArchitectName
    clock: int
    by: str
    time: str
    id: str = ""  # the commit that carries it

    def line(self) -> str:
        data = {
            "event": self.event,
            "name": self.name,
            "clock": self.clock,
            "by": self.by,
            "time": self.time,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def _parse(raw: bytes, commit: str) -> Event | None:
    for line in reversed(raw.decode("utf-8", "replace").splitlines()):
        if line.startswith(TRAILER):
            try:
                data = json.loads(line[len(TRAILER) :])
                event = Event(
                    str(data["event"]),
                    ArchitectName(str(data["name"])),
                    int(data["clock"]),
                    str(data.get("by", "")),
                    str(data.get("time", "")),
                    commit,
                )
            except (ValueError, KeyError, TypeError):
                return None
            ok = event.event in ("add", "remove") and ARCHITECT_RE.fullmatch(event.name)
            return event if ok and event.clock > 0 else None
    return None


def events(store: Store, tip: str | None = None) -> list[Event]:
    """Every valid event reachable from ``tip`` (default: the registry's), in causal order;
    invalid ones (from another clone) are skipped with one warning."""
    tip = tip or store.ref_target(ARCHITECTS_REF)
    if tip is None:
        return []
    found: list[Event] = []
    bad = 0
    for info in store.walk(tip):
        if len(info.parents) > 1 and b"Codev-Merge:" in info.raw_message:
            continue
        event = _parse(info.raw_message, info.id)
        if event is None:
            bad += 1
        else:
            found.append(event)
    if bad:
        report.warn(f"skipped {bad} unreadable architect registry event(s) in {ARCHITECTS_REF}")
    found.sort(key=lambda e: (e.clock, e.id))
    return found


@dataclass(frozen=True)
class Registry:
    """What the events say: the last event per name."""

    last: dict[ArchitectName, Event]
    clock: int

    @classmethod
    def load(cls, store: Store, tip: str | None = None) -> Registry:
        last: dict[ArchitectName, Event] = {}
        clock = 0
        for event in events(store, tip):
            last[event.name] = event
            clock = max(clock, event.clock)
        return cls(last, clock)

    def registered(self) -> set[ArchitectName]:
        return {name for name, e in self.last.items() if e.event == "add"}

    def removed(self) -> set[ArchitectName]:
        return {name for name, e in self.last.items() if e.event == "remove"}


def legacy_names(
    store: Store, owners: Iterable[str] | None = None, refs: Mapping[str, str] | None = None
) -> set[ArchitectName]:
    """Architects a repository older than the registry knows: owners and inboxes (those in
    ``refs``, a :meth:`Store.ref_snapshot`, when given)."""
    if owners is None:
        from codev_git.ownership.records import OwnerBook

        owners = [o.current.architect for o in OwnerBook(store).all()]
    names = {ArchitectName(n) for n in owners}
    for ref in store.ref_snapshot() if refs is None else refs:
        name = ref.removeprefix(INBOX_PREFIX)
        if name != ref and ARCHITECT_RE.fullmatch(name):
            names.add(ArchitectName(name))
    return names


def known(
    store: Store,
    owners: Iterable[str] | None = None,
    registry: Registry | None = None,
    refs: Mapping[str, str] | None = None,
) -> list[ArchitectName]:
    reg = registry or Registry.load(store)
    names = (legacy_names(store, owners, refs) - reg.removed()) | reg.registered()
    names.add(DEFAULT_ARCHITECT)
    return sorted(names)


def unknown_error(name: str, names: list[ArchitectName], doing: str) -> UsageError:
    listed = ", ".join(names)
    return UsageError(
        f"no architect named {name} is known; {doing} refused (known: {listed})",
        ADD_HINT.format(name=name),
        code="unknown-architect",
        candidates=list(names),
    )


def is_known(store: Store, name: ArchitectName, owners: Iterable[str] | None = None) -> bool:
    """One name, cheaply (the send path): registry first, then an inbox, then owners."""
    if name == DEFAULT_ARCHITECT:
        return True
    last = Registry.load(store).last.get(name)
    if last is not None:
        return last.event == "add"
    if store.ref_target(INBOX_PREFIX + name) is not None:
        return True
    return name in legacy_names(store, owners)


def require_known(
    store: Store, name: str, doing: str, owners: Iterable[str] | None = None
) -> ArchitectName:
    """``name`` when it is a known architect, else a UsageError listing the known ones."""
    checked = parse_architect(name)
    if not is_known(store, checked, owners):
        raise unknown_error(checked, known(store, owners), doing)
    return checked


def _append(store: Store, event: str, name: ArchitectName, actor: Ident, by: str) -> str:
    """Append one event with compare-and-swap; returns its commit."""

    def compute(old: str | None) -> str:
        clock = Registry.load(store, old).clock if old is not None else 0
        ev = Event(event, name, clock + 1, by, now_iso(micro=False))
        message = f"codev: architect {event} {name}\n\n{TRAILER}{ev.line()}\n"
        return store.write_commit(
            tree=store.empty_tree(),
            parents=[old] if old else [],
            author=actor,
            message=message.encode(),
        )

    _, new = store.cas_update(ARCHITECTS_REF, compute, f"codev: architect {event} {name}")
    assert new is not None
    return new


def register(store: Store, name: ArchitectName, actor: Ident, by: str) -> str | None:
    """Record ``name`` as an architect unless it is registered already; the new commit."""
    if name == DEFAULT_ARCHITECT or name in Registry.load(store).registered():
        return None
    return _append(store, "add", name, actor, by)


def next_auto_name(store: Store) -> ArchitectName:
    """``architect-N``, one past the largest N any architect ever had (as afx numbers)."""
    reg = Registry.load(store)
    taken = set(reg.last) | set(known(store, registry=reg))
    numbers = [int(m.group(1)) for n in taken if (m := AUTO_RE.fullmatch(n))]
    return ArchitectName(f"architect-{max(numbers, default=0) + 1}")


@dataclass(frozen=True)
class Change:
    name: ArchitectName
    written: bool
    commit: str | None


def _actor(store: Store, as_name: str | None, doing: str) -> tuple[Ident, str]:
    """Who writes a registry event: the caller's architect identity when there is one; a
    builder's worktree is refused (architects are registered by architects)."""
    from codev_git.ownership.identity import architect_from_settings, builder_here

    builder = builder_here(store)
    if builder is not None:
        raise UsageError(
            f"builder {builder.name} cannot {doing} architects",
            "run 'git codev architect' from an architect's worktree",
        )

    who = architect_from_settings(store, as_name, known_only=False)
    by = who.name if who is not None else "unknown"
    return store.identity() or Ident(by, f"{by}@codev.invalid"), by


def add_architect(store: Store, name: ArchitectName | None, as_name: str | None) -> Change:
    """``architect add NAME`` (or the next ``architect-N`` when ``name`` is None)."""
    actor, by = _actor(store, as_name, "add")
    if name is None:
        name = next_auto_name(store)
    if name == DEFAULT_ARCHITECT:
        raise UsageError(
            f"{DEFAULT_ARCHITECT} is the default architect and always exists",
            "pick another name, or --auto for architect-N",
        )
    commit = register(store, name, actor, by)
    return Change(name, commit is not None, commit)


def remove_architect(store: Store, name: ArchitectName, as_name: str | None) -> Change:
    """``architect remove NAME``: refused while it owns builders."""
    from codev_git.ownership.records import OwnerBook

    actor, by = _actor(store, as_name, "remove")

    if name == DEFAULT_ARCHITECT:
        raise UsageError(f"{DEFAULT_ARCHITECT} is the default architect and cannot be removed")
    owned = [o.current.builder for o in OwnerBook(store).all() if o.current.architect == name]
    names = known(store)
    if name not in names:
        raise unknown_error(name, names, "remove")
    if owned:
        raise UsageError(
            f"architect {name} still owns {len(owned)} builder(s): {', '.join(owned)}",
            f"reassign them first: git codev reassign {owned[0]} --to OTHER",
            candidates=[str(b) for b in owned],
        )
    return Change(name, True, _append(store, "remove", name, actor, by))


def listing(
    store: Store,
    owned: list[Ownership] | None = None,
    refs: Mapping[str, str] | None = None,
) -> list[dict[str, object]]:
    """Every known architect with its builders, unread messages and last activity (newest
    message to it, ownership change of its builders, or registry event): ``architect list``
    and ``status`` print this."""
    from codev_git.clock import iso, iso_seconds
    from codev_git.ownership.builder_state import UnreadCounter, architect_identity
    from codev_git.ownership.records import OwnerBook

    if owned is None:
        owned = OwnerBook(store).all()
    reg = Registry.load(store)
    unread = UnreadCounter(store, refs)
    rows: list[dict[str, object]] = []
    for name in known(store, [o.current.architect for o in owned], reg, refs):
        mine = [o.current for o in owned if o.current.architect == name]
        times = [iso_seconds(r.time) for r in mine]
        tip = (refs.get if refs is not None else store.ref_target)(INBOX_PREFIX + name)
        summary = store.commit_summary(tip) if tip is not None else None
        if summary is not None:
            times.append(iso(summary[0]))
        event = reg.last.get(name)
        if event is not None and event.time:
            times.append(event.time)
        rows.append(
            {
                "name": name,
                "registered": name in reg.registered() or name == DEFAULT_ARCHITECT,
                "builders": [r.builder for r in mine],
                "unread": unread(architect_identity(name)),
                "lastActivity": max(times) if times else None,
            }
        )
    return rows
