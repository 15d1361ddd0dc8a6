"""The board: per architect, its threads, builders, unread messages, answers it owes and is
owed, and its last activity; and the issue ledger (issue -> builder -> architect).

Answers follow the acknowledgement model (:mod:`codev_git.messaging.acks`): a message "awaits
an answer" while it carries ``Codev-Ack: requested`` and no message from its recipient names
it in ``Codev-Reply-To``.
"""

from __future__ import annotations

from typing import Any

from codev_git.address import architect_address
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


def last_activity(messages: list[Any]) -> dict[str, str]:
    """Sender address -> the newest ``Codev-Time`` among its messages."""
    last: dict[str, str] = {}
    for message in messages:
        if message.time > last.get(message.sender, ""):
            last[message.sender] = message.time
    return last


def board(store: Store) -> dict[str, Any]:
    """The data of ``status --by-architect``."""
    from codev_git.threads.model import head_commit, list_threads

    snapshot = store.ref_snapshot()
    owned = OwnerBook(store).all()
    base = base_branch(store)
    listed = rows(store, owned, refs=snapshot)
    phases = afx_phases(store)
    from codev_git.messaging.acks import all_messages, awaiting

    messages = all_messages(store)
    last = last_activity(messages)
    commit = head_commit(store)
    threads = list_threads(store, commit) if commit else []
    unread = UnreadCounter(store, snapshot)
    names = set(architect_names(store, owned))
    names.update(th.architect for th in threads if th.architect is not None)
    architects = []
    for name in sorted(names):
        address = architect_address(name)
        mine = [r for r in listed if r.record.architect == name]
        times = [last.get(address, "")] + [r.record.time for r in mine if r.record.by == name]
        owes = awaiting(store, recipient=address, messages=messages)
        owed = awaiting(store, sender=address, messages=messages)
        architects.append(
            {
                "name": name,
                "threads": sorted(th.name for th in threads if th.architect == name),
                "builders": [_row(r, phases) for r in mine],
                "unread": unread(architect_identity(ArchitectName(name))),
                "owes": [a.as_json() for a in owes],
                "owed": [a.as_json() for a in owed],
                "lastActivity": _seconds(max(times)) or None,
            }
        )
    from codev_git.ownership.identity import workspace_name

    return {
        "workspace": workspace_name(store),
        "workspacePath": str(store.main_workdir or store.common_dir),
        "baseBranch": short_branch(base[0]) if base else None,
        "architects": architects,
    }


def _seconds(stamp: str) -> str:
    from codev_git.clock import iso_seconds

    return iso_seconds(stamp) if stamp else ""


def _row(row: BuilderRow, phases: dict[str, str]) -> dict[str, Any]:
    phase = porch_phase(row) or phases.get(row.record.builder)
    return {**row.as_json(), "phase": phase}


def porch_phase(row: BuilderRow) -> str | None:
    """The ``phase:`` of the builder's porch project state
    (``codev/projects/<issue>-<slug>/status.yaml`` in its worktree), if it has one."""
    from codev_git.context.porch import porch_phase as phase_in
    from codev_git.names import printable

    if row.worktree is None:
        return None
    phase = phase_in([row.worktree], row.record.issue)  # read as status and context read it
    return (printable(phase, 40) or None) if phase else None


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
        {
            "issueNumber": issue,
            "builders": [r.as_json() for r in sorted(found, key=lambda r: r.record.builder)],
        }
        for issue, found in sorted(by_issue.items())
    ]
