"""Adopting builders that afx (Codev's agent farm) already knows about.

afx keeps its state in SQLite: ``~/.agent-farm/global.db`` (directory overridable with
``CODEV_AGENT_FARM_DIR``) since 3.3, ``<repo>/.agent-farm/state.db`` before. We read it
read-only, never write it, and turn each builder of this workspace into an ownership record.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codev_git.errors import CodevError, OperationalError, UsageError
from codev_git.names import (
    ARCHITECT_RE,
    BRANCH_PREFIX,
    PROTOCOL_RE,
    ArchitectName,
    BranchRef,
    builder_id_for_branch,
    is_builder_branch_ref,
    printable,
    shown,
)
from codev_git.ownership.builders import Adoption, plan_adoption, record_adoptions
from codev_git.ownership.records import OwnerBook
from codev_git.store import Ident, Store

if TYPE_CHECKING:
    from codev_git.worktree.retag import Tagged

ENV_DIR = "CODEV_AGENT_FARM_DIR"


@dataclass(frozen=True)
class AfxBuilder:
    id: str
    branch: str | None
    architect: str | None
    protocol: str | None
    issue: int | None
    task: str | None
    status: str | None = None  # spawning|implementing|blocked|pr|complete
    phase: str | None = None


@dataclass(frozen=True)
class Outcome:
    builder: str
    adopted: bool
    why: str


def candidate_dbs(store: Store) -> list[Path]:
    places: list[Path] = []
    env_dir = os.environ.get(ENV_DIR)
    if env_dir:
        places.append(Path(env_dir) / "global.db")
    places.append(Path.home() / ".agent-farm" / "global.db")
    root = store.main_workdir
    if root is not None:
        places.append(root / ".agent-farm" / "state.db")
    return places


def find_db(store: Store, given: Path | None) -> Path:
    if given is not None:
        try:
            found = given.is_file()
        except OSError as exc:  # a name too long for the file system, a loop of links
            raise UsageError(
                f"cannot use --db {shown(str(given), 60)}: {exc.strerror or exc}",
                "give the path of afx's global.db (or state.db)",
            ) from exc
        if not found:  # the path given is wrong: bad input
            raise UsageError(f"no afx database at {shown(str(given), 200)}", "check the --db path")
        return given
    places = candidate_dbs(store)
    for place in places:
        if place.is_file():
            return place
    raise OperationalError(
        "found no afx database (looked in " + ", ".join(str(p) for p in places) + ")",
        "pass --db PATH",
    )


def read_builders(db: Path, workspace: Path) -> list[AfxBuilder]:
    """The builders of ``workspace`` in an afx database, opened read-only."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise OperationalError(f"cannot open {db} read-only: {exc}") from exc
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(builders)")}
        if not columns:
            raise OperationalError(f"{db} has no builders table", "is it an afx database?")

        def col(name: str) -> str:
            return name if name in columns else f"NULL AS {name}"

        query = (
            f"SELECT id, {col('branch')}, {col('spawned_by_architect')}, {col('protocol_name')}, "
            f"{col('issue_number')}, {col('task_text')}, {col('workspace_path')}, "
            f"{col('status')}, {col('phase')} FROM builders"
        )
        rows = conn.execute(query).fetchall()
    except sqlite3.Error as exc:
        raise OperationalError(f"cannot read {db}: {exc}") from exc
    finally:
        conn.close()
    here = os.path.realpath(workspace)
    shared = "workspace_path" in columns  # global.db: every workspace's builders in one table
    out: list[AfxBuilder] = []
    for bid, branch, architect, protocol, issue, task, ws, status, phase in rows:
        if shared and (ws is None or os.path.realpath(str(ws)) != here):
            continue  # another workspace's builder (or one whose workspace is unknown)
        out.append(
            AfxBuilder(
                id=str(bid),
                branch=str(branch) if branch else None,
                architect=str(architect) if architect else None,
                protocol=str(protocol) if protocol else None,
                issue=_int_or_none(issue),
                task=str(task) if task else None,
                status=str(status) if status else None,
                phase=str(phase) if phase else None,
            )
        )
    return out


def readable_db(store: Store) -> Path | None:
    """The afx database that ``adopt --from-afx`` would read, when there is one."""
    for place in candidate_dbs(store):
        if place.is_file():
            return place
    return None


def _int_or_none(value: object) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def adopt_from_afx(
    store: Store,
    actor: Ident,
    by: str,
    db: Path,
    fallback: ArchitectName | None,
) -> list[Outcome]:
    """Record every builder of this workspace that afx knows and git does not yet. A row that
    cannot be adopted is skipped with why (never the whole run): as for ``adopt BRANCH``, that
    includes a row whose issue already has a live builder, recorded in git, another live row
    of afx's, or a row adopted earlier in this run."""
    from codev_git.ownership.dedupe import Holder, afx_row_holders

    workspace = store.main_workdir or store.common_dir
    book = OwnerBook(store)
    outcomes: list[Outcome] = []
    plans: list[Adoption] = []
    adopted: dict[int, list[Holder]] = {}  # by issue: rows planned so far
    rows = read_builders(db, workspace)
    for row in rows:
        name = printable(row.id)
        if not row.branch:
            outcomes.append(Outcome(name, False, "afx recorded no branch"))
            continue
        ref = BranchRef(
            row.branch if row.branch.startswith("refs/") else BRANCH_PREFIX + row.branch
        )
        if not is_builder_branch_ref(ref):
            outcomes.append(Outcome(name, False, f"invalid branch {shown(row.branch)}"))
            continue
        tip = store.ref_target(ref)
        if tip is None:
            why = f"branch {shown(row.branch)} does not exist here"
            outcomes.append(Outcome(name, False, why))
            continue
        architect = row.architect or fallback
        if architect is None or not ARCHITECT_RE.fullmatch(architect):
            why = "afx recorded no spawning architect (pass --architect to adopt it)"
            if architect is not None:
                why = f"afx's architect name {shown(architect)} is not a valid name"
            outcomes.append(Outcome(name, False, why))
            continue
        protocol = row.protocol if row.protocol and PROTOCOL_RE.fullmatch(row.protocol) else None
        details = (protocol, row.issue, row.task)
        outside = None
        if row.issue is not None:
            outside = afx_row_holders(store, rows, row.issue, set())
            outside += adopted.get(row.issue, [])
        try:
            plan = plan_adoption(
                store,
                book,
                ref,
                ArchitectName(architect),
                by=by,
                details=details,
                outside=outside,
            )
        except CodevError as exc:
            outcomes.append(Outcome(builder_id_for_branch(ref), False, exc.what))
            continue
        if plan is None:
            outcomes.append(Outcome(builder_id_for_branch(ref), False, "already recorded"))
            continue
        record = plan.record
        plans.append(plan)
        if record.issue is not None:
            holder = Holder(record.builder, record.architect, record.branch_name, "git")
            adopted.setdefault(record.issue, []).append(holder)
        outcomes.append(Outcome(record.builder, True, f"owned by {architect} (from afx)"))
    if plans:
        record_adoptions(book, plans, actor, f"adopt {len(plans)} builder(s) from afx")
    return outcomes


def adopt_all_from_afx(
    store: Store, db: Path | None, fallback: ArchitectName | None, as_name: str | None
) -> tuple[Path, list[Outcome], list[Tagged]]:
    """``adopt --from-afx``: afx names each owner, so no identity is needed; the records say
    who adopted them (the caller's architect when there is one, else afx)."""
    from codev_git.errors import UsageError
    from codev_git.ownership.builders import actor_ident
    from codev_git.ownership.identity import Identity, resolve_architect

    try:
        who: Identity | None = resolve_architect(store, as_name, what="adopt", registers=True)
    except UsageError:
        if as_name is not None:
            raise
        who = None
    by = who.name if who is not None else "afx"
    actor = actor_ident(store, who) if who is not None else Ident(by, f"{by}@codev.invalid")
    path = find_db(store, db)
    outcomes = adopt_from_afx(store, actor, by, path, fallback)
    from codev_git.worktree.retag import retag_worktrees

    return path, outcomes, retag_worktrees(store)  # worktrees afx made before the records
