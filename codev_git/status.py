"""Status: one row per owned builder, with its branch state, and the architects' inboxes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codev_git.identity import Identity
from codev_git.messages import INBOX_PREFIX, channels_of, unread_count
from codev_git.names import BRANCH_PREFIX, ArchitectName, short_branch
from codev_git.ownership import OwnerBook, OwnerRecord, Ownership
from codev_git.store import Store

CONFIG_BASE = "codev.baseBranch"


@dataclass(frozen=True)
class BranchState:
    exists: bool
    tip: str | None = None
    ahead: int = 0
    behind: int = 0
    merged: bool = False
    last_time: int | None = None
    last_subject: str | None = None


@dataclass(frozen=True)
class BuilderRow:
    record: OwnerRecord
    state: BranchState
    worktree: Path | None
    unread: int

    @property
    def status(self) -> str:
        if not self.state.exists:
            return "gone"
        if self.state.merged:
            return "merged"
        return "new" if self.state.tip == self.record.base else "active"

    def as_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "id": rec.builder,
            "name": rec.builder.removeprefix("builder-"),
            "type": "task" if rec.task else "protocol",
            "status": self.status,
            "spawnedByArchitect": rec.architect,
            "thread": rec.thread,
            "protocolName": rec.protocol,
            "issueNumber": rec.issue,
            "task": rec.task,
            "branch": rec.branch_name,
            "worktree": str(self.worktree) if self.worktree else None,
            "running": self.worktree is not None,
            "ahead": self.state.ahead,
            "behind": self.state.behind,
            "merged": self.state.merged,
            "lastCommit": self.state.tip,
            "lastCommitTime": self.state.last_time,
            "unread": self.unread,
            "heldCount": self.unread,
            "ownedSince": rec.time,
        }


def base_branch(store: Store) -> tuple[str, str] | None:
    """(refname, tip) of the branch builders merge into."""
    candidates: list[str] = []
    configured = store.config_get(CONFIG_BASE)
    if configured:
        candidates.append(
            configured if configured.startswith("refs/") else BRANCH_PREFIX + configured
        )
    candidates += [BRANCH_PREFIX + "main", BRANCH_PREFIX + "master"]
    head = store.head_branch()
    if head and not head.startswith(BRANCH_PREFIX + "builder/"):
        candidates.append(head)
    for ref in candidates:
        tip = store.ref_target(ref)
        if tip is not None:
            return ref, tip
    return None


def branch_state(
    store: Store, branch: str, base_tip: str | None, started: str | None = None
) -> BranchState:
    """Where a branch stands against the base branch. It counts as merged when all of its
    commits are in the base and it has moved since ``started`` (its spawn point)."""
    tip = store.ref_target(branch)
    if tip is None or store.object_type(tip) != "commit":
        return BranchState(exists=False)
    info = store.commit(tip)
    subject = info.raw_message.split(b"\n", 1)[0].decode("utf-8", "replace")
    ahead = behind = 0
    merged = False
    if base_tip is not None:
        ahead, behind = store.ahead_behind(tip, base_tip)
        merged = ahead == 0 and tip != started
    return BranchState(True, tip, ahead, behind, merged, info.time, subject)


def builder_identity(rec: OwnerRecord) -> Identity:
    return Identity("builder", rec.builder, rec.architect, "status", rec)


def architect_identity(name: ArchitectName) -> Identity:
    return Identity("architect", name, name, "status")


def unread_for(store: Store, who: Identity) -> int:
    return sum(
        unread_count(store, channel, store.ref_target(cursor))
        for channel, cursor in channels_of(who)
    )


def rows(
    store: Store,
    owned: list[Ownership],
    *,
    architect: ArchitectName | None = None,
    thread: str | None = None,
) -> list[BuilderRow]:
    base = base_branch(store)
    base_tip = base[1] if base else None
    worktrees = store.worktree_heads()
    out: list[BuilderRow] = []
    for ownership in owned:
        rec = ownership.current
        if architect is not None and rec.architect != architect:
            continue
        if thread is not None and rec.thread != thread:
            continue
        state = branch_state(store, rec.branch, base_tip, rec.base)
        out.append(
            BuilderRow(
                rec,
                state,
                worktrees.get(rec.branch),
                unread_for(store, builder_identity(rec)),
            )
        )
    return out


def architect_names(store: Store, owned: list[Ownership]) -> list[ArchitectName]:
    names = {o.current.architect for o in owned}
    for ref in store.refs_under(INBOX_PREFIX):
        names.add(ArchitectName(ref[len(INBOX_PREFIX) :]))
    return sorted(names)


def architects(store: Store, owned: list[Ownership]) -> list[dict[str, Any]]:
    out = []
    for name in architect_names(store, owned):
        builders = sum(1 for o in owned if o.current.architect == name)
        out.append(
            {
                "name": name,
                "unread": unread_for(store, architect_identity(name)),
                "builders": builders,
            }
        )
    return out


def status_report(
    store: Store,
    *,
    architect: ArchitectName | None = None,
    thread: str | None = None,
) -> dict[str, Any]:
    owned = OwnerBook(store).all()
    base = base_branch(store)
    return {
        "workspace": str(store.main_workdir or store.common_dir),
        "baseBranch": short_branch(base[0]) if base else None,
        "builders": [r.as_json() for r in rows(store, owned, architect=architect, thread=thread)],
        "architects": architects(store, owned),
    }
