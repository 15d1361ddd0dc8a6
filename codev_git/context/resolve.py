"""What the current directory belongs to: architect, builder, thread and project, and how.

Order, first match wins: ``--thread``; then ``.thread`` at this worktree's root; then the
ownership record of the checked-out branch; then the architect's only active thread (the
architect named by ``--as``, ``CODEV_ARCHITECT_NAME`` or ``git config codev.architect``).
The project is the builder's issue number (porch keeps it in ``codev/projects/<id>-<slug>/``);
for a thread it is the project of its single live builder. Several candidates are an error that
lists them and names the flag to use: this module never guesses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codev_git.context.porch import PROJECTS_DIR, project_dirs, project_number
from codev_git.errors import UsageError
from codev_git.names import (
    ArchitectName,
    BranchRef,
    ThreadName,
    looks_like_builder_id,
    parse_architect,
    parse_thread,
    shown,
)
from codev_git.ownership.builder_state import (
    BuilderRow,
    base_branch,
    branch_state,
    counts_for,
)
from codev_git.ownership.identity import architect_from_settings
from codev_git.ownership.records import OwnerBook, OwnerRecord
from codev_git.store import Store
from codev_git.threads.model import head_commit, is_live, list_threads, thread_path
from codev_git.worktree import tag

THREAD_HINT = "pass --thread NAME, or write the thread name into .thread at this worktree's root"


@dataclass(frozen=True)
class Fact:
    """One resolved value (None when there is none) and, in words, how it was found."""

    value: str | None
    source: str


UNKNOWN = Fact(None, "not found")


@dataclass(frozen=True)
class Context:
    architect: Fact = UNKNOWN
    builder: Fact = UNKNOWN
    thread: Fact = UNKNOWN
    project: Fact = UNKNOWN
    project_dir: Path | None = None
    record: OwnerRecord | None = field(default=None, compare=False)
    worktree: Path | None = None  # where the builder's (else this) worktree is

    def as_json(self) -> dict[str, Any]:
        """Flat facts (``issueNumber`` an int, as everywhere), and how each was found."""
        project = self.project.value
        return {
            "architect": self.architect.value,
            "builder": self.builder.value,
            "thread": self.thread.value,
            "issueNumber": int(project) if project and project.isdigit() else None,
            "projectDir": str(self.project_dir) if self.project_dir else None,
            "worktree": str(self.worktree) if self.worktree else None,
            "sources": {
                "architect": self.architect.source,
                "builder": self.builder.source,
                "thread": self.thread.source,
                "issueNumber": self.project.source,
            },
        }


def active_threads_at_head(store: Store) -> dict[ThreadName, ArchitectName | None]:
    """Active threads on this worktree's HEAD, mapped to the architect that owns each."""
    return {t.name: t.architect for t in list_threads(store, head_commit(store))}


# -- resolution ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _World:
    """What resolution reads, loaded once."""

    store: Store
    records: list[OwnerRecord]
    threads: dict[ThreadName, ArchitectName | None]
    heads: dict[str, Path]
    here: Path | None

    def live(self, records: Iterable[OwnerRecord]) -> list[OwnerRecord]:
        """The builders whose branch exists and is not merged (as ``thread show`` counts)."""
        base = base_branch(self.store)
        base_tip = base[1] if base else None
        chosen = list(records)
        counts = counts_for(self.store, base_tip, [rec.branch for rec in chosen], None)
        return [
            rec
            for rec in chosen
            if is_live(
                BuilderRow(
                    rec,
                    branch_state(self.store, rec.branch, base_tip, rec.base, counts=counts),
                    None,
                    0,
                )
            )
        ]


def resolve_context(
    store: Store, thread: ThreadName | None = None, as_name: str | None = None
) -> Context:
    """Resolve everything for the current worktree; UsageError (exit 2) when ambiguous."""
    book = OwnerBook(store)
    world = _World(
        store=store,
        records=[o.current for o in book.all()],
        threads=active_threads_at_head(store),
        heads=store.worktree_heads(),
        here=store.workdir,
    )
    head = store.head_branch()
    owned = book.lookup(BranchRef(head)) if head else None
    here_record = owned.current if owned else None
    ctx = _pick_thread(world, thread, here_record, as_name)
    ctx = _fill_project(world, ctx)
    ctx = _fill_architect(world, ctx, as_name)
    worktree = world.heads.get(ctx.record.branch) if ctx.record else None
    return replace(ctx, worktree=worktree or world.here)


def _pick_thread(
    world: _World, flag: ThreadName | None, here: OwnerRecord | None, as_name: str | None
) -> Context:
    if flag is not None:
        _require_known(world, flag, "--thread")
        ctx = Context(thread=Fact(flag, "--thread on the command line"))
        if here is not None and here.thread == flag:
            ctx = _with_builder(ctx, here, f"this worktree's branch {here.branch_name}")
        return ctx
    found = _read_thread_file(world, here)
    if found is not None:
        return found
    if here is not None:
        source = f"the ownership record of branch {here.branch_name}"
        ctx = Context(thread=Fact(here.thread, source))
        return _with_builder(ctx, here, source)
    who = architect_from_settings(world.store, as_name)
    if who is None:
        return Context(thread=Fact(None, "no --thread, .thread, owned branch or architect"))
    mine = sorted(t for t, a in world.threads.items() if a == who.architect)
    if len(mine) > 1:
        raise UsageError(
            f"architect {who.architect} has several active threads ({', '.join(mine)})",
            THREAD_HINT,
            code="ambiguous",
            candidates=list(mine),
        )
    architect = Fact(who.architect, who.source)
    if not mine:
        return Context(architect=architect, thread=Fact(None, f"{who.architect} has no thread"))
    source = f"the only active thread of architect {who.architect} ({who.source})"
    return Context(architect=architect, thread=Fact(mine[0], source))


def _read_thread_file(world: _World, here: OwnerRecord | None) -> Context | None:
    if world.here is None:
        return None
    path = world.here / tag.FILE_NAME
    try:
        found = tag.read(world.here)
    except OSError as exc:  # a hand-made file: a symlink loop, a dangling path, no permission
        raise UsageError(
            f"cannot read {path}: {exc.strerror or exc}", "fix or remove the file"
        ) from exc
    if found is None:
        return None
    if found.ours and (here is None or found.branch != here.branch_name):
        return None  # written for a branch no longer checked out here (hook not run since)
    source = f"{path}" + (", written by the post-checkout hook" if found.ours else "")
    if found.thread is None and found.builder is None:
        return None
    name: ThreadName | None = None
    if found.thread is not None:
        try:
            name = parse_thread(found.thread)
        except UsageError as exc:
            raise UsageError(
                f"{path} names an invalid thread {shown(found.thread)}", "fix or remove the file"
            ) from exc
        _require_known(world, name, str(path))
    ctx = Context(thread=Fact(name, source))
    if found.architect:
        try:
            owner = parse_architect(found.architect)
        except UsageError as exc:
            raise UsageError(f"{path}: {exc.what}", "fix or remove the file") from exc
        ctx = replace(ctx, architect=Fact(owner, source))
    if found.builder:
        if not looks_like_builder_id(found.builder):
            raise UsageError(
                f"{path} names an invalid builder {shown(found.builder)}", "fix or remove the file"
            )
        rec = next((r for r in world.records if r.builder == found.builder), None)
        if rec is not None:
            ctx = _with_builder(ctx, rec, source)
        else:
            ctx = replace(ctx, builder=Fact(found.builder, source + "; it has no record"))
    elif here is not None and here.thread == name:
        ctx = _with_builder(ctx, here, f"this worktree's branch {here.branch_name}")
    return ctx


def _require_known(world: _World, thread: ThreadName, where: str) -> None:
    if thread in world.threads or any(r.thread == thread for r in world.records):
        return
    known = sorted(set(world.threads) | {r.thread for r in world.records if r.thread})
    raise UsageError(
        f"{where} names thread {thread}, which has no {thread_path(thread)} on HEAD "
        "and no builders",
        f"known threads: {', '.join(known)}" if known else "create the thread first",
    )


def _with_builder(ctx: Context, rec: OwnerRecord, source: str) -> Context:
    return replace(ctx, builder=Fact(rec.builder, source), record=rec)


def _fill_architect(world: _World, ctx: Context, as_name: str | None) -> Context:
    if ctx.architect.value is not None:
        return ctx
    if ctx.record is not None:
        source = f"the ownership record of builder {ctx.record.builder}"
        return replace(ctx, architect=Fact(ctx.record.architect, source))
    thread = ThreadName(ctx.thread.value) if ctx.thread.value else None
    owner = world.threads.get(thread) if thread else None
    if thread and owner is not None:
        source = f"the front matter of {thread_path(thread)}"
        return replace(ctx, architect=Fact(owner, source))
    who = architect_from_settings(world.store, as_name)
    if who is not None:
        return replace(ctx, architect=Fact(who.architect, who.source))
    return ctx


def _fill_project(world: _World, ctx: Context) -> Context:
    if ctx.record is None:
        scope, pool = _candidate_pool(world, ctx)
        live = [r for r in world.live(pool) if r.issue is not None]
        if len(live) > 1:
            listed = ", ".join(_describe(r) for r in live)
            raise UsageError(
                f"several projects match {scope}: {listed}",
                THREAD_HINT
                if ctx.thread.value is None
                else "run consult from one builder's worktree, or give --project-id ID after --",
                code="ambiguous",
                candidates=list(dict.fromkeys(str(r.issue) for r in live)),  # each once
            )
        if not live:
            return _project_from_dirs(world, ctx, scope)
        pick = live[0]
        ctx = _with_builder(ctx, pick, f"the only live builder with a project in {scope}")
        if ctx.thread.value is None and pick.thread is not None:
            ctx = replace(ctx, thread=Fact(pick.thread, f"the thread of builder {pick.builder}"))
    rec = ctx.record
    assert rec is not None
    if rec.issue is None:
        return replace(ctx, project=Fact(None, f"builder {rec.builder} has no project number"))
    project_dir = _project_dir(world, rec)
    source = f"issue number of builder {rec.builder}"
    return replace(ctx, project=Fact(str(rec.issue), source), project_dir=project_dir)


def _candidate_pool(world: _World, ctx: Context) -> tuple[str, list[OwnerRecord]]:
    thread, architect = ctx.thread.value, ctx.architect.value
    if thread is not None:
        return f"thread {thread}", [r for r in world.records if r.thread == thread]
    if architect is not None:
        return f"architect {architect}'s builders", [
            r for r in world.records if r.architect == architect
        ]
    return "this workspace", list(world.records)


def _describe(rec: OwnerRecord) -> str:
    thread = f", thread {rec.thread}" if rec.thread else ""
    return f"{rec.issue} ({rec.builder}, architect {rec.architect}{thread})"


def _project_dir(world: _World, rec: OwnerRecord) -> Path | None:
    roots = (world.heads.get(rec.branch), world.here, world.store.main_workdir)
    return next((d for d in project_dirs(roots) if project_number(d) == rec.issue), None)


def _project_from_dirs(world: _World, ctx: Context, scope: str) -> Context:
    if ctx.thread.value is not None or ctx.architect.value is not None:
        return replace(ctx, project=Fact(None, f"no live builder with a project in {scope}"))
    dirs = project_dirs((world.here, world.store.main_workdir))
    if len(dirs) > 1:
        raise UsageError(
            f"several projects in {PROJECTS_DIR}/ ({', '.join(d.name for d in dirs)})",
            THREAD_HINT,
            code="ambiguous",
            candidates=[str(project_number(d)) for d in dirs],
        )
    if not dirs:
        return replace(ctx, project=Fact(None, "no live builder and no porch project here"))
    only = dirs[0]
    project = str(project_number(only))
    return replace(
        ctx, project=Fact(project, f"the only project in {PROJECTS_DIR}/"), project_dir=only
    )
