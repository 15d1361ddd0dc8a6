"""Convergence through any git remote: fetch, merge, push fast-forwards atomically with leases.

A plain clone or fetch brings none of the codev refs (:mod:`codev_git.layout`). ``sync``
fetches them into a private mirror per remote (``layout.mirror_of``), never over local refs.
The mirror lies outside the codev namespace so no reader ever mistakes it for local state; it is a
disposable cache of what the remote held at the last fetch. Each local ref then takes in its
mirror (see :mod:`codev_git.sync.merge`; every move is a compare-and-swap), and every ref
that differs from the remote is pushed in ONE ``git push --atomic`` with
``--force-with-lease=<ref>:<value fetched>`` (a remote compare-and-swap) and only as a
fast-forward of that value. When another clone pushed in between, the whole
fetch-merge-push is retried, a bounded number of times, after a jittered pause.

Fetch and push run the user's git (``porcelain.transfer``), so credentials, URL rewrites and
transports are the user's own.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

from codev_git import config
from codev_git.errors import OperationalError, UsageError
from codev_git.layout import (
    BROADCAST_REF,
    OWNERS_REF,
    PACKABLE_PREFIXES,
    READ_PREFIX,
    SHARED_PREFIXES,
    is_shared_ref,
    mirror_of,
    mirror_prefix,
)
from codev_git.messaging.message import own_channel
from codev_git.names import shown
from codev_git.ownership.identity import Identity
from codev_git.report import warn as report_warning
from codev_git.store import Store
from codev_git.store.porcelain import (
    GitOutcome,
    Progress,
    listed_refs,
    repository_env,
    transfer,
    try_git,
)
from codev_git.store.values import is_hex, stale_lock_age
from codev_git.sync.intake import clear_mirror, incoming, lock_trouble
from codev_git.sync.merge import Kind, action_for, kind_of, merged_tip
from codev_git.sync.values import EVERYTHING, Scope, SyncReport, chosen_remote

FETCH_LOCK_ATTEMPTS = 8
# a first fetch of this many refs lists them and writes the mirror packed (first_fetch);
# above the maximum the names would not fit on one command line
FIRST_FETCH_MIN = 32
FIRST_FETCH_MAX = 20_000
# reasons a ref is refused that mean "the remote moved; fetch and merge again"
RETRYABLE = (
    "stale info",
    "fetch first",
    "non-fast-forward",
    "failed to update ref",
    "failed to lock",
    "cannot lock",
    "incorrect old value",
)


def inbox_scope(reader: Identity) -> Scope:
    """A reader's own inbox, broadcast, its own read cursors, and the ownership records
    (so that messages from builders spawned on another machine verify)."""
    return Scope(
        refs=frozenset({own_channel(reader), BROADCAST_REF, OWNERS_REF}),
        prefixes=(f"{READ_PREFIX}{reader.kind}/{reader.name}/",),
    )


def fetch_inbox(store: Store, reader: Identity, remote: str | None = None) -> SyncReport:
    """Take in what reached the remote (default: the upstream's, else ``origin``) for one
    reader: its inbox, broadcast, its read cursors and the ownership records; pushes
    nothing. What ``inbox --fetch`` and a follower's ``--fetch-every`` run."""
    return sync(store, parse_remote(store, remote), scope=inbox_scope(reader), push=False)


def parse_remote(store: Store, name: str | None) -> str:
    """The remote to talk to (:func:`values.chosen_remote`), read from this repository."""
    return chosen_remote(name, store.head_branch(), store.config_get)


# -- the cycle ----------------------------------------------------------------------------------
def sync(
    store: Store,
    remote: str,
    *,
    scope: Scope = EVERYTHING,
    push: bool = True,
    dry_run: bool = False,
    attempts: int | None = None,
    progress: Progress | None = None,
    as_name: str | None = None,
) -> SyncReport:
    """Fetch, merge and (unless ``push`` is false) publish the refs in ``scope``; ``progress``
    hears how the transfers advance; ``as_name`` (``--as``) is the architect that tells the
    owners of duplicate builders.

    With ``dry_run`` only the private mirror is updated; local refs and the remote are not."""
    limit = attempts or max(1, config.SYNC_ATTEMPTS.number(store))
    report = SyncReport(remote, dry_run, push)
    link = link_to(store, progress)
    reason, lock = "", None
    for attempt in range(1, limit + 1):
        report.attempts = attempt
        if attempt > 1 or not first_fetch(store, link, remote, scope, report):
            fetch(link, remote, scope, report)
        remote_tips = read_mirror(store, remote, scope, report)
        if dry_run:
            plan(store, remote_tips, scope, report)
            return report
        owners_before = store.ref_target(OWNERS_REF)
        merge_into_local(store, remote_tips, report)
        if scope == EVERYTHING:
            check_duplicates(store, owners_before, report, as_name)
        _pack_refs(store, report)
        if store.ref_target(OWNERS_REF) != owners_before:  # after packing: it rewrites refs
            from codev_git.ownership.records import owners_moved

            owners_moved(store)
        if not push:
            return report
        ok, reason, lock = publish(store, link, remote, remote_tips, scope, report)
        if ok:
            return report
        time.sleep(random.uniform(0.05, 0.2) * 2 ** min(attempt, 4))
    if lock is not None:
        raise OperationalError(
            f"{remote} rejected the push {limit} times: a lock file is in the way there, "
            f"{shown(lock, 300)}",
            "a push or sync killed on that side leaves one: if no git process is working "
            "there, remove that file, then run 'git codev sync' again; local refs hold "
            "everything fetched",
        )
    raise OperationalError(
        f"{remote} rejected the push {limit} times ({reason}): other clones kept pushing",
        "local refs hold everything fetched; run 'git codev sync' again",
    )


@dataclass(frozen=True)
class Link:
    """How to reach the remote from this repository: where to run git, with what."""

    cwd: Path
    env: dict[str, str]
    progress: Progress | None

    def run(self, args: list[str]) -> GitOutcome:
        return transfer(self.cwd, args, env=self.env, progress=self.progress)


def link_to(store: Store, progress: Progress | None = None) -> Link:
    env = repository_env(store.git_dir, store.common_dir, store.workdir)
    return Link(store.workdir or store.git_dir, env, progress)


def fetch(link: Link, remote: str, scope: Scope, report: SyncReport | None = None) -> None:
    """Mirror the remote's refs in ``scope`` (all or none: --atomic; gone ones pruned).

    When git refuses the fast pattern fetch for another reason than a lock (two of the
    remote's names clash, ``a`` beside ``a/b``), the valid names are listed and fetched by
    name; the others are skipped with a warning, so one bad ref never blocks the rest."""
    specs = [f"+{p}:{mirror_of(remote, p)}" for p in scope.patterns()]
    outcome = _fetch_specs(link, remote, specs)
    if outcome.code == 0:
        return
    _raise_if_locked(outcome, remote)
    named = _listed(link, remote, scope, report)
    if named is None:
        raise OperationalError(
            f"cannot fetch codev refs from {remote}: {_detail(outcome)}",
            "check the remote's URL and your access; nothing was changed locally",
        )
    clear_mirror(link.cwd, mirror_prefix(remote), {mirror_of(remote, r) for r in named})
    outcome = _fetch_specs(link, remote, [f"+{r}:{mirror_of(remote, r)}" for r in named])
    if outcome.code != 0:
        _raise_if_locked(outcome, remote)
        raise OperationalError(
            f"cannot fetch codev refs from {remote}: {_detail(outcome)}",
            "check the remote's URL and your access; nothing was changed locally",
        )


def first_fetch(store: Store, link: Link, remote: str, scope: Scope, report: SyncReport) -> bool:
    """The first fetch from a remote that holds many codev refs: list them, fetch their
    objects by name without writing a ref, then write the whole mirror into ``packed-refs``
    at once (:meth:`Store.create_refs`). ``git fetch`` would write one file per ref, and
    with a thousand architects that is most of a first sync. False when this is not such a
    fetch, or anything is off (the ordinary :func:`fetch` then runs); nothing local moved."""
    if store.refs_under(mirror_prefix(remote)):
        return False
    wanted = _listed(link, remote, scope, report)
    if wanted is None or not FIRST_FETCH_MIN <= len(wanted) <= FIRST_FETCH_MAX:
        return False
    args = ["fetch", "--no-tags", "--no-write-fetch-head", "--quiet", "--no-recurse-submodules"]
    if link.run([*args, remote, *wanted]).code != 0:
        return False
    # a ref moved between the listing and the fetch, or names a tag: packed-refs would need
    # its peeled line (the file promises one for every tag), which git's own fetch writes
    if not all(store.object_type(oid) == "commit" for oid in wanted.values()):
        return False
    targets = {mirror_of(remote, ref): oid for ref, oid in wanted.items()}
    return store.create_refs(targets, "codev: sync") == set(targets)


def _listed(
    link: Link, remote: str, scope: Scope, report: SyncReport | None
) -> dict[str, str] | None:
    """The remote's refs in ``scope`` whose names ``git codev`` writes, by ``git ls-remote``
    ({ref: oid}); the others are skipped with a warning. None when the remote cannot be
    listed."""
    listing = try_git(link.cwd, "ls-remote", remote, *scope.patterns())
    if listing.code != 0:
        return None
    valid: dict[str, str] = {}
    for ref, oid in sorted(listed_refs(listing.out).items()):
        if not scope.wants(ref):
            continue
        if is_shared_ref(ref) and is_hex(oid, 40):
            valid[ref] = oid
        elif report is not None:
            _warn(report, f"skipping {shown(ref, 120)} on {remote}: not a name git codev writes")
    return valid


def _raise_if_locked(outcome: GitOutcome, remote: str) -> None:
    """A fetch that every attempt found locked out of this clone's mirror: name the file."""
    held = _held_lock(outcome.err) if lock_trouble(outcome.err) else None
    if held is not None:
        raise OperationalError(
            f"cannot fetch codev refs from {remote}: {shown(held, 300)} stayed "
            "locked (another sync in this clone, or one that was killed)",
            "if no git process is working in this repository, remove that file, then run "
            "'git codev sync' again; nothing was changed locally",
        )


def _stale_lock(err: str) -> bool:
    """Whether the lock file git names was left by a killed writer: no use waiting."""
    held = _held_lock(err)
    return held is not None and stale_lock_age(Path(held)) is not None


def _fetch_specs(link: Link, remote: str, specs: list[str]) -> GitOutcome:
    args = ["fetch", "--atomic", "--prune", "--no-tags", "--no-write-fetch-head", "--quiet"]
    args += ["--no-recurse-submodules", remote, *specs]
    outcome = link.run(args)
    for attempt in range(FETCH_LOCK_ATTEMPTS):
        if outcome.code == 0 or not lock_trouble(outcome.err) or _stale_lock(outcome.err):
            return outcome
        time.sleep(random.uniform(0.02, 0.1) * 2 ** min(attempt, 4))
        outcome = link.run(args)
    return outcome


def read_mirror(store: Store, remote: str, scope: Scope, report: SyncReport) -> dict[str, str]:
    """The remote's tips as fetched, keyed by their shared refname. A name ``git codev``
    does not write is skipped with a warning; a tip that is not a commit is kept (so that
    nothing pushes over it) but warned about and never merged."""
    prefix = mirror_prefix(remote)
    tips: dict[str, str] = {}
    for name, oid in store.refs_under(prefix).items():
        ref = "refs/" + name[len(prefix) :]
        if not scope.wants(ref):
            continue
        if not is_shared_ref(ref):
            _warn(report, f"skipping {shown(ref, 120)} on {remote}: not a name git codev writes")
            continue
        if not _commits(store, oid):
            _warn(report, f"leaving {ref} alone: on {remote} it is not a commit")
        tips[ref] = oid
    return tips


def local_tips(store: Store, scope: Scope) -> dict[str, str]:
    tips: dict[str, str] = {}
    for prefix in SHARED_PREFIXES:
        tips.update(
            (r, o)
            for r, o in store.refs_under(prefix).items()
            if scope.wants(r) and is_shared_ref(r)  # never publish a stray name
        )
    return tips


def plan(store: Store, remote_tips: dict[str, str], scope: Scope, report: SyncReport) -> None:
    """Fill ``report`` with what a real run would do, writing nothing."""
    local = local_tips(store, scope)
    for ref in sorted(local.keys() | remote_tips.keys()):
        mine, theirs = local.get(ref), remote_tips.get(ref)
        if not _commits(store, mine, theirs):
            continue
        kind = kind_of(ref)
        action = action_for(store, kind, mine, theirs)
        if action == "diverged":
            _warn(report, f"{ref} has diverged from the remote and has no merge rule; left alone")
            report.left_out.add(ref)
            continue
        if action != "none":
            report.merged.append(ref)
            report.merge_commits += action == "merge"
            if kind == "channel" and theirs is not None:
                report.new_messages += _messages_between(store, theirs, mine)
        if mine is not None and mine != theirs and action in ("none", "merge"):
            report.pushed.append(ref)


def merge_into_local(store: Store, remote_tips: dict[str, str], report: SyncReport) -> None:
    """Take every fetched tip into its local ref. New tips are computed for all refs first
    (objects only), then the refs move one compare-and-swap each; a lost race recomputes."""
    prepared: dict[str, tuple[str | None, str | None, int]] = {}  # (from, to, new messages)
    local = store.ref_snapshot()  # one pass; each move below re-reads its ref under CAS
    for ref, theirs in sorted(remote_tips.items()):
        mine = local.get(ref)
        if mine == theirs:
            continue
        if not _commits(store, mine, theirs):
            if not _commits(store, mine):
                _warn(report, f"leaving {ref} alone: the local ref is not a commit")
            report.left_out.add(ref)  # either side is not a commit (warned about)
            continue
        kind = kind_of(ref)
        messages = 0
        if kind == "channel":  # one walk: size check, message count and action
            brought = incoming(store, ref, theirs, mine)
            if brought.refusal is not None:
                _warn(report, brought.refusal)
                report.left_out.add(ref)
                continue
            messages, action = brought.messages, brought.action
        else:
            action = action_for(store, kind, mine, theirs)
        if action == "diverged":
            _warn(report, f"{ref} has diverged from the remote and has no merge rule; left alone")
            report.left_out.add(ref)
            continue
        if action == "none":  # the remote's tip is already in ours
            continue
        prepared[ref] = (mine, merged_tip(store, kind, mine, theirs, action), messages)
    created = {ref: to for ref, (frm, to, _) in prepared.items() if frm is None and to is not None}
    if len(created) > 1:  # those not created now (another writer was there) go by CAS below
        for ref in store.create_refs(created, "codev: sync"):
            report.merged.append(ref)
            report.merge_commits += created[ref] != remote_tips[ref]
            report.new_messages += prepared.pop(ref)[2]
    for ref, (planned_from, planned_to, messages) in prepared.items():
        theirs, kind = remote_tips[ref], kind_of(ref)

        def compute(
            old: str | None,
            frm: str | None = planned_from,
            to: str | None = planned_to,
            kind: Kind = kind,
            theirs: str = theirs,
        ) -> str | None:
            return to if old == frm else merged_tip(store, kind, old, theirs)

        try:
            old, new = store.cas_update(ref, compute, f"codev: sync from {theirs[:12]}")
        except OperationalError as exc:  # e.g. a local stray ref holds the name: skip this one
            _warn(report, f"not taking in {ref}: {exc}")
            report.left_out.add(ref)
            continue
        if new is None or new == old:
            continue
        if ref not in report.merged:
            report.merged.append(ref)
        report.merge_commits += new != theirs
        if kind == "channel":
            as_planned = (old, new) == (planned_from, planned_to)
            report.new_messages += messages if as_planned else _messages_between(store, new, old)


def check_duplicates(
    store: Store, owners_before: str | None, report: SyncReport, as_name: str | None = None
) -> None:
    """Two clones may each have spawned a builder for one issue before either synced: once
    both records are here, list both and tell both owners (:mod:`codev_git.ownership.dedupe`)."""
    from codev_git.ownership.dedupe import after_sync
    from codev_git.ownership.identity import architect_from_settings

    try:
        who = architect_from_settings(store, as_name)
    except UsageError as exc:  # --as names no architect known even after the merge
        if as_name is not None:
            _warn(report, str(exc))
        who = None
    after = store.ref_target(OWNERS_REF)
    found = after_sync(store, owners_before, after, who.architect if who else None)
    report.duplicates.extend(d.as_json() for d in found)


def publish(
    store: Store,
    link: Link,
    remote: str,
    remote_tips: dict[str, str],
    scope: Scope,
    report: SyncReport,
) -> tuple[bool, str, str | None]:
    """One atomic push of every ref that is ahead of the remote. Returns (done, why not,
    the lock file the remote's git found in the way, as it names it); raises when the
    remote refuses for a reason that another attempt cannot fix."""
    updates: list[tuple[str, str, str | None]] = []
    for ref, mine in sorted(local_tips(store, scope).items()):
        theirs = remote_tips.get(ref)
        if mine == theirs or not _commits(store, mine, theirs):
            continue
        if theirs is not None and not store.is_ancestor(theirs, mine):
            continue  # not a fast-forward: left alone (a warning was given when merging)
        updates.append((ref, mine, theirs))
    if not updates:
        return True, "", None
    args = ["push", "--atomic", "--porcelain", "--no-verify", "--no-follow-tags"]
    args += ["--recurse-submodules=no", remote]
    for ref, mine, theirs in updates:
        args += [f"--force-with-lease={ref}:{theirs or ''}", f"{mine}:{ref}"]
    outcome = link.run(args)
    results = parse_push(outcome.out)
    if outcome.code == 0:
        report.pushed = [ref for flag, ref, _ in results if flag in " +*"]
        # the remote holds what was pushed now: so does the mirror, and the next sync with
        # nothing to do can tell so without a fetch (codev_git.sync.quick); a cache, so a
        # mirror ref moved meanwhile by another sync here is simply left to the next fetch
        pushed = set(report.pushed)
        moves = {mirror_of(remote, r): (old, new) for r, new, old in updates if r in pushed}
        if moves:
            store.move_refs(moves, "codev: sync pushed")
        return True, "", None
    refused = [(ref, why) for flag, ref, why in results if flag == "!"]
    # a remote running git < 2.42 may apply the rest of an "atomic" push when it refuses a
    # ref before the transaction (hidden refs): say what did go through
    report.pushed = [ref for flag, ref, _ in results if flag in " +*"]
    published = (
        f"only {', '.join(report.pushed)} got published"
        if report.pushed
        else "nothing was published"
    )
    if not refused:
        raise OperationalError(
            f"cannot push codev refs to {remote}: {_detail(outcome)}",
            f"local refs hold everything fetched; {published}",
        )
    primary = [(ref, why) for ref, why in refused if "atomic" not in why]
    final = [(ref, why) for ref, why in primary if not any(r in why for r in RETRYABLE)]
    if final:
        ref, why = final[0]
        raise OperationalError(
            f"{remote} refused {ref} {why}; it may not accept refs outside refs/heads and "
            "refs/tags",
            f"local refs hold everything fetched; {published} (see README: sync)",
        )
    ref, why = (primary or refused)[0]
    return False, f"{ref} {why}", _held_lock(outcome.err)


# git's words when a ref's lock file is there already (a writer at work, or a killed one's)
_LOCK_FILE = re.compile(r"Unable to create '([^'\n]{1,4096}\.lock)': File exists")


def _held_lock(err: str) -> str | None:
    """The lock file git's error names as being in the way, if it names one."""
    found = _LOCK_FILE.search(err)
    return found.group(1) if found else None


def parse_push(out: str) -> list[tuple[str, str, str]]:
    """(flag, destination ref, summary) for each ref line of ``git push --porcelain``."""
    rows: list[tuple[str, str, str]] = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            rows.append((parts[0], parts[1].rpartition(":")[2], " ".join(parts[2:]).strip()))
    return rows


def _commits(store: Store, *oids: str | None) -> bool:
    """Whether each of ``oids`` is None or a commit."""
    return all(oid is None or store.object_type(oid) == "commit" for oid in oids)


def _pack_refs(store: Store, report: SyncReport) -> None:
    """Pack refs once a sync has left many loose ones (a first sync with 1,000 architects
    leaves 2,000): later syncs, fetches and listings then read one file, not thousands."""
    try:
        store.pack_refs_if_many(PACKABLE_PREFIXES)
    except OperationalError as exc:  # another git holds packed-refs.lock: next time
        _warn(report, f"refs left unpacked: {exc.what}")


def _messages_between(store: Store, tip: str, base: str | None) -> int:
    from codev_git.messaging.inbox import count_messages

    return count_messages(store, tip, [base] if base else [])


def _detail(outcome: GitOutcome) -> str:
    return outcome.first_error


def _warn(report: SyncReport, text: str) -> None:
    if text not in report.warnings:
        report.warnings.append(text)
        report_warning(text)
