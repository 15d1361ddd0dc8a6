"""One issue, one builder: who already works on an issue, and duplicates that slipped through.

A builder is *live* while its ownership is not released and its branch is not merged into the
base branch. A branch this clone cannot see (not here, not as a remote-tracking branch) counts
as live: it is usually a builder another clone spawned and has not pushed yet; one deleted
after its merge is given up with ``release`` (the refusal says so). ``spawn N`` refuses when a live
builder for issue N exists under any protocol, owned by any architect, whether this clone
recorded it or ``sync`` brought it in, and when afx's database is readable, whether afx knows
it; ``adopt`` (one branch, or afx's builders) refuses the same way. The check runs inside the
compare-and-swap that writes the record (:func:`guard`), so two spawns or adoptions racing on
one clone cannot both pass it. Two clones can each spawn issue N before they
sync; :func:`after_sync` reports such a pair once it arrives, and tells both owners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codev_git import report
from codev_git.errors import OperationalError, UsageError
from codev_git.layout import inbox_ref
from codev_git.names import ArchitectName, BranchRef, short_branch
from codev_git.ownership.builder_state import base_branch, branch_state
from codev_git.ownership.records import OwnerBook, Ownership
from codev_git.store import Ident, Store

if TYPE_CHECKING:
    from codev_git.ownership.afx import AfxBuilder

DUPLICATE_TRAILER = "Codev-Duplicate"
SCAN_LIMIT = 500  # how far back an inbox is searched for an earlier duplicate notice


@dataclass(frozen=True)
class Holder:
    """A live builder working on an issue."""

    builder: str
    architect: str
    branch: str  # short name
    source: str  # "git" (an ownership record) or "afx"
    unseen: bool = False  # its branch is not visible in this clone

    def describe(self) -> str:
        known = " (known to afx)" if self.source == "afx" else ""
        if self.unseen:
            known = " (its branch is not in this clone)"
        return f"{self.builder} of {self.architect}{known}"


def live_in(store: Store, owned: list[Ownership]) -> list[tuple[Ownership, bool]]:
    """The ownerships whose builder is live (see the module docstring), each with whether
    its branch is unseen here."""
    base = base_branch(store)
    base_tip = base[1] if base else None
    out = []
    for ownership in owned:
        rec = ownership.current
        if ownership.released:
            continue
        state = branch_state(store, rec.branch, base_tip, rec.base)
        if not state.merged:
            out.append((ownership, not state.exists))
    return out


def git_holders(
    store: Store, tree: str | None, issue: int, *, skip: BranchRef | None = None
) -> list[Holder]:
    owned = [
        o
        for o in OwnerBook(store).all_in(tree)
        if o.current.issue == issue and o.current.branch != skip
    ]
    return [
        Holder(o.current.builder, o.current.architect, o.current.branch_name, "git", unseen)
        for o, unseen in live_in(store, owned)
    ]


def afx_holders(store: Store, issue: int, known: set[str]) -> list[Holder]:
    """Builders for ``issue`` that afx's database (when readable) knows and git does not."""
    from codev_git.ownership.afx import read_builders, readable_db

    db = readable_db(store)
    if db is None:
        return []
    try:
        rows = read_builders(db, store.main_workdir or store.common_dir)
    except OperationalError as exc:
        report.warn(f"not checking afx's builders: {exc}")
        return []
    return afx_row_holders(store, rows, issue, known)


def afx_row_holders(
    store: Store, rows: Iterable[AfxBuilder], issue: int, known: set[str]
) -> list[Holder]:
    """The live builders for ``issue`` among afx's ``rows``: not ``complete``, their branch
    here, and not one of the ``known`` branches (short names)."""
    from codev_git.names import printable

    out = []
    for row in rows:
        branch = (row.branch or "").removeprefix("refs/heads/")
        if row.issue != issue or row.status == "complete" or branch in known:
            continue
        if branch and store.ref_target("refs/heads/" + branch) is None:
            continue  # afx still lists it, but its branch is gone from this workspace
        out.append(Holder(printable(row.id), printable(row.architect or "?"), branch, "afx"))
    return out


def holders(store: Store, tree: str | None, issue: int, skip: BranchRef | None) -> list[Holder]:
    found = git_holders(store, tree, issue, skip=skip)
    known = {h.branch for h in found} | ({short_branch(skip)} if skip else set())
    return found + afx_holders(store, issue, known)


SPAWN_ANYWAY = "spawn another"
ADOPT_ANYWAY = "adopt it"


def refusal(
    issue: int, found: list[Holder], owner: ArchitectName, anyway: str = SPAWN_ANYWAY
) -> UsageError:
    """The one refusal of a second live builder (``anyway``: what --force would do): exit 2,
    code ``refused``, the live builders as ``candidates``."""
    first = found[0]
    names = ", ".join(h.describe() for h in found)
    done = (
        f"; if it is done and its branch deleted, 'git codev release {first.builder}'"
        if first.unseen
        else ""
    )
    take = (
        ""  # it is the owner's own: nothing to take over
        if first.architect == owner
        else f" take it over with 'git codev reassign {first.builder} --to {owner}',"
    )
    return UsageError(
        f"issue {issue} already has a live builder: {names}",
        f"work with {first.builder},{take} or {anyway} anyway with --force --reason TEXT{done}",
        code="refused",
        candidates=[h.builder for h in found],
    )


def guard(
    store: Store,
    issue: int,
    owner: ArchitectName,
    branch: BranchRef,
    *,
    anyway: str = SPAWN_ANYWAY,
    outside: list[Holder] | None = None,
) -> Callable[[str | None], None]:
    """The check that a spawn's or an adoption's record makes inside its compare-and-swap.
    ``outside`` are the holders git's records do not show, read once, before: by default
    afx's (it does not change under our feet and is not ours to lock); ``adopt --from-afx``
    passes the rows it is adopting and the builders adopted earlier in the same run."""
    if outside is None:
        outside = afx_holders(store, issue, set())

    def check(tree: str | None) -> None:
        found = git_holders(store, tree, issue, skip=branch)
        known = {h.branch for h in found} | {short_branch(branch)}
        found += [h for h in outside if h.branch not in known]
        if found:
            raise refusal(issue, found, owner, anyway)

    return check


def forced_reason(store: Store, issue: int | None, branch: BranchRef, reason: str | None) -> str:
    """What a forced spawn or adoption records: the reason given, and what it overrode."""
    why = " ".join((reason or "no reason given").split())[:200]
    if issue is not None:
        found = holders(store, OwnerBook(store).tree(), issue, branch)
        if found:
            why += "; overrides " + ", ".join(h.describe() for h in found)
    return why[:300]


# -- after sync ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Duplicate:
    issue: int
    builders: tuple[Holder, ...]

    def text(self) -> str:
        names = " and ".join(h.describe() for h in self.builders)
        return f"issue {self.issue} has two live builders after sync: {names}"

    def as_json(self) -> dict[str, object]:
        return {
            "issueNumber": self.issue,
            "builders": [
                {"id": h.builder, "spawnedByArchitect": h.architect, "branch": h.branch}
                for h in self.builders
            ],
        }


def duplicates(store: Store, tree: str | None) -> list[Duplicate]:
    by_issue: dict[int, list[Holder]] = {}
    for o, unseen in live_in(store, OwnerBook(store).all_in(tree)):
        rec = o.current
        if rec.issue is not None:
            holder = Holder(rec.builder, rec.architect, rec.branch_name, "git", unseen)
            by_issue.setdefault(rec.issue, []).append(holder)
    return [
        Duplicate(issue, tuple(sorted(found, key=lambda h: h.builder)))
        for issue, found in sorted(by_issue.items())
        if len(found) > 1
    ]


def after_sync(
    store: Store, before: str | None, after: str | None, sender: ArchitectName | None
) -> list[Duplicate]:
    """Duplicates that the records taken in by a sync created (from the owners notes commit
    ``before`` to ``after``). Each is warned about; both owners get one message about it
    (once, on every clone: an owner already told is not told again)."""
    if before == after or after is None:
        return []
    old_tree = store.tree_of(before) if before else None
    seen = {tuple(h.builder for h in d.builders) for d in duplicates(store, old_tree)}
    found = [
        d
        for d in duplicates(store, store.tree_of(after))
        if tuple(h.builder for h in d.builders) not in seen
    ]
    for dup in found:
        report.warn(dup.text())
        if sender is None:
            report.warn(
                "their owners were not told: no architect is set here; tell them with 'git "
                "codev send', or sync as one (--as NAME or CODEV_ARCHITECT_NAME) and it tells them"
            )
            continue
        _tell_owners(store, dup, sender)
    return found


def _tell_owners(store: Store, dup: Duplicate, sender: ArchitectName) -> None:
    from codev_git.address import architect_address
    from codev_git.clock import now_iso
    from codev_git.messaging.message import append

    key = " ".join(h.builder for h in dup.builders)
    body = (
        f"{dup.text()}. Keep one: hand it over with 'git codev reassign', or give one up "
        "with 'git codev release'."
    ).encode()
    actor = store.identity() or Ident(sender, f"{sender}@codev.invalid")
    for owner in sorted({h.architect for h in dup.builders}):
        ref = inbox_ref(owner)
        if _already_told(store, ref, key):
            continue
        trailers = {
            "Codev-From": architect_address(sender),
            "Codev-To": architect_address(owner),
            "Codev-Time": now_iso(),
            "Codev-Kind": "duplicate",
            DUPLICATE_TRAILER: key,
        }
        append(store, ref, body, trailers, actor)


def _already_told(store: Store, ref: str, key: str) -> bool:
    tip = store.ref_target(ref)
    if tip is None:
        return False
    needle = f"\n{DUPLICATE_TRAILER}: {key}\n".encode()
    for count, info in enumerate(store.walk(tip)):
        if needle in info.raw_message:
            return True
        if count >= SCAN_LIMIT:
            break
    return False
