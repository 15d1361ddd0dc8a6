"""Status: one row per owned builder, with its branch state, and the architects' inboxes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codev_git import config
from codev_git.clock import iso, iso_seconds
from codev_git.context.porch import PorchPhases
from codev_git.layout import REMOTES_PREFIX, remote_branch
from codev_git.messaging.inbox import unread_count
from codev_git.messaging.message import channels_of
from codev_git.names import BRANCH_PREFIX, ArchitectName, short_branch
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook, OwnerRecord, Ownership
from codev_git.store import Store

if TYPE_CHECKING:
    from codev_git.messaging.acks import Awaiting


@dataclass(frozen=True)
class BranchState:
    exists: bool
    tip: str | None = None
    ahead: int = 0
    behind: int = 0
    merged: bool = False
    last_time: int | None = None
    last_subject: str | None = None
    remote_ref: str | None = None  # read from here when there is no local branch


@dataclass(frozen=True)
class BuilderRow:
    record: OwnerRecord
    state: BranchState
    worktree: Path | None
    unread: int
    stale_after: int = 0  # codev.staleBaseCommits (0: never stale)

    @property
    def stale_base(self) -> bool:
        """Live, and more than ``stale_after`` commits behind the base branch."""
        limit = self.stale_after
        return limit > 0 and self.branch_state in ("new", "active") and self.state.behind > limit

    phase: str | None = None  # Codev porch's phase, when its status.yaml is there

    @property
    def branch_state(self) -> str:
        if not self.state.exists:
            return "gone"
        if self.state.merged:
            return "merged"
        return "new" if self.state.tip == self.record.base else "active"

    def as_json(self) -> dict[str, Any]:
        """A builder row: the record's fields, then where its branch stands. afx's names
        where afx has the concept (``id``, ``type``, ``phase``, ``spawnedByArchitect``,
        ``worktree``, ``branch``, ``issueNumber``, ``protocolName``); afx's ``status``,
        ``running`` and ``heldCount`` mean other things, so ours are ``branchState``,
        ``worktree`` and ``unread``. Optional fields of our own are absent when empty."""
        data = record_json(self.record)
        data["phase"] = self.phase
        data["worktree"] = str(self.worktree) if self.worktree else None
        data["branchState"] = self.branch_state
        if self.state.remote_ref:
            data["remoteBranch"] = short_branch(self.state.remote_ref, REMOTES_PREFIX)
        if self.state.exists:
            data["ahead"] = self.state.ahead
            data["behind"] = self.state.behind
            data["lastCommit"] = self.state.tip
            if self.state.last_time is not None:
                data["lastCommitTime"] = iso(self.state.last_time)
        data["unread"] = self.unread
        data["staleBase"] = self.stale_base
        return data


def record_json(rec: OwnerRecord) -> dict[str, Any]:
    """A builder as its ownership record describes it (spawn, adopt, reassign, release and
    whoami print this; status rows extend it)."""
    data: dict[str, Any] = {
        "id": rec.builder,
        "type": "task" if rec.task else "protocol",
        "spawnedByArchitect": rec.architect,
        "branch": rec.branch_name,
        "issueNumber": rec.issue,
        "protocolName": rec.protocol,
    }
    if rec.thread:
        data["thread"] = rec.thread
    if rec.task:
        data["task"] = rec.task
    data["ownedSince"] = iso_seconds(rec.time) if rec.time else None
    if rec.force:  # the event overrode a refusal
        data["forced"] = True
        data["reason"] = rec.reason
    return data


def base_branch(store: Store) -> tuple[str, str] | None:
    """(refname, tip) of the branch builders merge into."""
    candidates: list[str] = []
    configured = config.BASE_BRANCH.text(store)
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
    store: Store,
    branch: str,
    base_tip: str | None,
    started: str | None = None,
    refs: Mapping[str, str] | None = None,
    counts: Mapping[str, tuple[int, int]] | None = None,
) -> BranchState:
    """Where a branch stands against the base branch. It counts as merged when all of its
    commits are in the base and it has moved since ``started`` (its spawn point).
    ``refs`` is a snapshot of ref tips (:meth:`Store.ref_snapshot`) to read instead of git;
    ``counts`` holds (ahead, behind) by tip, computed for many branches at once."""
    remote_ref, tip = branch_tip(store, branch, refs)
    summary = store.commit_summary(tip) if tip is not None else None
    if tip is None or summary is None:
        return BranchState(exists=False)
    ahead = behind = 0
    merged = False
    if base_tip is not None:
        known = counts.get(tip) if counts is not None else None
        ahead, behind = known if known is not None else store.ahead_behind(base_tip, [tip])[tip]
        merged = ahead == 0 and tip != started
    return BranchState(True, tip, ahead, behind, merged, *summary, remote_ref=remote_ref)


def branch_tip(
    store: Store, branch: str, refs: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """(remote-tracking refname or None, tip) of a builder branch: on another machine the
    branch may exist only as origin/builder/..."""
    tip = refs.get(branch) if refs is not None else store.ref_target(branch)
    if tip is not None:
        return None, tip
    return _tracking(store, branch, refs)


def counts_for(
    store: Store, base_tip: str | None, branches: list[str], refs: Mapping[str, str] | None
) -> dict[str, tuple[int, int]]:
    """(ahead, behind) by tip for the branches' tips that are commits, in one walk."""
    if base_tip is None:
        return {}
    tips = {branch_tip(store, branch, refs)[1] for branch in branches}
    commits = [t for t in tips if t is not None and store.object_type(t) == "commit"]
    return store.ahead_behind(base_tip, commits)


def _tracking(
    store: Store, branch: str, refs: Mapping[str, str] | None
) -> tuple[str | None, str | None]:
    """The first remote-tracking copy of a local branch (origin first): (refname, tip)."""
    short = short_branch(branch)
    for remote in store.remote_names():
        name = remote_branch(remote, short)
        tip = refs.get(name) if refs is not None else store.ref_target(name)
        if tip is not None:
            return name, tip
    return None, None


def builder_identity(rec: OwnerRecord) -> Identity:
    return Identity("builder", rec.builder, rec.architect, "status", rec)


def architect_identity(name: ArchitectName) -> Identity:
    return Identity("architect", name, name, "status")


class UnreadCounter:
    """Unread counts for many readers in one pass: each channel tip is read once and each
    (channel tip, cursor) pair walked once, so the broadcast channel that every builder
    shares costs one walk, not one per builder. ``refs``: as for :func:`branch_state`."""

    def __init__(self, store: Store, refs: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.refs = refs
        self._tips: dict[str, str | None] = {}
        self._counts: dict[tuple[str, str | None], int] = {}

    def _ref(self, name: str) -> str | None:
        return self.refs.get(name) if self.refs is not None else self.store.ref_target(name)

    def __call__(self, who: Identity) -> int:
        total = 0
        for channel, cursor_name in channels_of(who):
            if channel not in self._tips:
                self._tips[channel] = self._ref(channel)
            tip = self._tips[channel]
            if tip is None:
                continue
            key = (tip, self._ref(cursor_name))
            if key not in self._counts:
                self._counts[key] = unread_count(self.store, channel, key[1], tip)
            total += self._counts[key]
        return total


def rows(
    store: Store,
    owned: list[Ownership],
    *,
    architect: ArchitectName | None = None,
    thread: str | None = None,
    refs: Mapping[str, str] | None = None,
    with_phase: bool = False,
) -> list[BuilderRow]:
    base = base_branch(store)
    base_tip = base[1] if base else None
    worktrees = store.worktree_heads()
    unread = UnreadCounter(store, refs)
    stale_after = config.STALE_BASE_COMMITS.number(store)
    chosen = [
        o.current
        for o in owned
        if (architect is None or o.current.architect == architect)
        and (thread is None or o.current.thread == thread)
    ]
    counts = counts_for(store, base_tip, [rec.branch for rec in chosen], refs)
    phases = PorchPhases(store.main_workdir) if with_phase else None
    out: list[BuilderRow] = []
    for rec in chosen:
        state = branch_state(store, rec.branch, base_tip, rec.base, refs, counts)
        worktree = worktrees.get(rec.branch)
        out.append(
            BuilderRow(
                rec,
                state,
                worktree,
                unread(builder_identity(rec)),
                stale_after,
                phases(worktree, rec.issue) if phases is not None else None,
            )
        )
    # as afx lists them: by owner, then by id
    out.sort(key=lambda r: (r.record.architect, r.record.builder))
    return out


def architect_names(store: Store, owned: list[Ownership]) -> list[ArchitectName]:
    """The known architects (the registry, plus owners and inboxes of older repositories)."""
    from codev_git.ownership.registry import known

    return known(store, [o.current.architect for o in owned])


def status_report(
    store: Store,
    *,
    architect: ArchitectName | None = None,
    thread: str | None = None,
    refs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The status document; ``refs``: a :meth:`Store.ref_snapshot` (else one is taken)."""
    from codev_git.ownership.identity import workspace_name
    from codev_git.ownership.registry import listing

    owned = OwnerBook(store).all()
    base = base_branch(store)
    if refs is None:
        refs = store.ref_snapshot()  # one pass over the refs instead of thousands of lookups
    listed = rows(store, owned, architect=architect, thread=thread, refs=refs, with_phase=True)
    return {
        "workspace": workspace_name(store),
        "workspacePath": str(store.main_workdir or store.common_dir),
        "baseBranch": short_branch(base[0]) if base else None,
        "ownerFilter": architect,
        "threadFilter": thread,
        "builders": [r.as_json() for r in listed],
        "architects": listing(store, owned, refs),
    }


def status_for(
    store: Store,
    owner: ArchitectName | None,
    mine: bool,
    thread: str | None,
    as_name: str | None,
) -> tuple[dict[str, Any], list[Awaiting]]:
    """``git codev status``: the report (with ``pendingAcks``) and the messages awaiting an
    answer among those shown. ``--architect`` must name a known architect; ``--mine`` is the
    caller's own architect (an unknown one simply owns nothing)."""
    owner = owner_filter(store, owner, mine, as_name)
    refs = store.ref_snapshot()  # listing the refs costs as much as reading them all
    report = status_report(store, architect=owner, thread=thread, refs=refs)
    from codev_git.messaging.acks import awaiting

    involving = (
        None if owner is None else {f"architect:{owner}", *(b["id"] for b in report["builders"])}
    )
    pending = awaiting(store, involving=involving, refs=refs)
    report["pendingAcks"] = [a.as_json() for a in pending]
    return report, pending


def owner_filter(
    store: Store, owner: ArchitectName | None, mine: bool, as_name: str | None
) -> ArchitectName | None:
    """The architect ``status`` filters by: ``--mine`` is the caller's own architect (an
    unknown one simply owns nothing); ``--architect`` must name a known architect."""
    if mine:
        from codev_git.ownership.identity import resolve

        return resolve(store, as_name).architect
    if owner is not None:
        from codev_git.ownership.registry import require_known

        require_known(store, owner, f"status --architect {owner}")
    return owner
