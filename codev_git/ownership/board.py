"""The board: per architect, its threads, builders, unread messages, answers it owes and is
owed, and its last activity; and the issue ledger (issue -> builder -> architect).

Answers follow the acknowledgement model: a message "awaits an answer" while it carries
``Codev-Ack: requested`` and no message from its recipient names it in ``Codev-Reply-To``.
The trailers are read straight from the message commits, so the board needs nothing but the
channels themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from codev_git.address import architect_address
from codev_git.layout import BROADCAST_REF, BUILDER_INBOX_PREFIX, INBOX_PREFIX
from codev_git.names import ArchitectName, short_branch
from codev_git.ownership.builder_state import (
    BuilderRow,
    UnreadCounter,
    architect_identity,
    architect_names,
    base_branch,
    rows,
)
from codev_git.ownership.records import OwnerBook
from codev_git.store import Store

ACK_REQUESTED = b"\nCodev-Ack: requested"
WALK_LIMIT = 5000  # messages read per channel for the board


@dataclass
class Traffic:
    """What the channels say about answers and activity."""

    answered: set[tuple[str, str]] = field(default_factory=set)  # (message id, answerer)
    asks: list[dict[str, Any]] = field(default_factory=list)  # messages requesting an answer
    last: dict[str, str] = field(default_factory=dict)  # sender address -> newest Codev-Time


def _messages(store: Store, refs: dict[str, str]) -> Iterator[tuple[str, Any, bytes]]:
    from codev_git.messaging.message import decode, is_merge

    for ref, tip in refs.items():
        for count, info in enumerate(store.walk(tip)):
            if count >= WALK_LIMIT:
                break
            if is_merge(info):
                continue
            message = decode(info, ref)
            if message is not None:
                yield ref, message, info.raw_message


def traffic(store: Store, snapshot: dict[str, str]) -> Traffic:
    channels = {
        ref: tip
        for ref, tip in snapshot.items()
        if ref == BROADCAST_REF or ref.startswith((INBOX_PREFIX, BUILDER_INBOX_PREFIX))
    }
    out = Traffic()
    for _ref, message, raw in _messages(store, channels):
        if message.reply_to:
            out.answered.add((message.reply_to, message.sender))
        if ACK_REQUESTED in raw:
            out.asks.append(
                {"id": message.id, "from": message.sender, "to": message.to, "time": message.time}
            )
        if message.time > out.last.get(message.sender, ""):
            out.last[message.sender] = message.time
    return out


def _awaiting(t: Traffic, ask: dict[str, Any]) -> bool:
    return (ask["id"], ask["to"]) not in t.answered


def board(store: Store) -> dict[str, Any]:
    """The data of ``status --by-architect``."""
    from codev_git.threads.model import head_commit, list_threads

    snapshot = store.ref_snapshot()
    owned = OwnerBook(store).all()
    base = base_branch(store)
    listed = rows(store, owned, refs=snapshot)
    phases = afx_phases(store)
    t = traffic(store, snapshot)
    commit = head_commit(store)
    threads = list_threads(store, commit) if commit else []
    unread = UnreadCounter(store, snapshot)
    names = set(architect_names(store, owned, snapshot))
    names.update(th.architect for th in threads if th.architect is not None)
    architects = []
    for name in sorted(names):
        address = architect_address(name)
        mine = [r for r in listed if r.record.architect == name]
        times = [t.last.get(address, "")] + [r.record.time for r in mine if r.record.by == name]
        architects.append(
            {
                "name": name,
                "threads": sorted(th.name for th in threads if th.architect == name),
                "builders": [_row(r, phases) for r in mine],
                "unread": unread(architect_identity(ArchitectName(name))),
                "owes": [a for a in t.asks if a["to"] == address and _awaiting(t, a)],
                "owed": [a for a in t.asks if a["from"] == address and _awaiting(t, a)],
                "lastActivity": _seconds(max(times)) or None,
            }
        )
    return {
        "workspace": str(store.main_workdir or store.common_dir),
        "baseBranch": short_branch(base[0]) if base else None,
        "architects": architects,
    }


def _seconds(stamp: str) -> str:
    from codev_git.clock import iso_seconds

    return iso_seconds(stamp) if stamp else ""


def _row(row: BuilderRow, phases: dict[str, str]) -> dict[str, Any]:
    return {**row.as_json(), "phase": phases.get(row.record.builder)}


def afx_phases(store: Store) -> dict[str, str]:
    """Builder id -> phase, from afx's database when one is readable."""
    from codev_git.errors import OperationalError
    from codev_git.ownership.afx import read_builders, readable_db

    db = readable_db(store)
    if db is None:
        return {}
    try:
        found = read_builders(db, store.main_workdir or store.common_dir)
    except OperationalError:
        return {}
    return {b.id: b.phase for b in found if b.phase}


def issue_ledger(store: Store) -> list[dict[str, Any]]:
    """Every issue with a builder (live or merged; released ones are not builders), each
    with its builders' rows, lowest issue first."""
    snapshot = store.ref_snapshot()
    by_issue: dict[int, list[BuilderRow]] = {}
    for row in rows(store, OwnerBook(store).all(), refs=snapshot):
        if row.record.issue is not None:
            by_issue.setdefault(row.record.issue, []).append(row)
    return [
        {"issueNumber": issue, "builders": [r.as_json() for r in found]}
        for issue, found in sorted(by_issue.items())
    ]
