"""spawn and adopt: how a builder comes under an architect's ownership (a new branch, record
and worktree; or an existing branch, or every builder afx knows). See docs/ownership.md."""

from __future__ import annotations

from pathlib import Path

import click

from codev_git.commands.common import (
    architect_option,
    as_option,
    echo,
    forced_reason,
    json_option,
    reason_option,
    thread_option,
)
from codev_git.errors import UsageError
from codev_git.names import (
    ArchitectName,
    parse_architect,
    parse_issue_number,
    parse_protocol,
    parse_thread,
)
from codev_git.ownership.identity import resolve_architect
from codev_git.store import Store


@click.command("spawn")
@click.argument("number", required=False)
@click.option("--protocol", "-p", metavar="P", help="Protocol name, e.g. spir, bugfix.")
@click.option("--task", metavar="TEXT", help="A free task instead of a numbered project.")
@architect_option("Owner of the builder (default: you).")
@thread_option("Thread (initiative) the builder belongs to.")
@click.option("--base", metavar="REF", help="Start the branch here (default: HEAD).")
@click.option("--no-worktree", is_flag=True, help="Create the branch and record only.")
@click.option("--no-fetch", is_flag=True, help="Do not fetch the base branch's upstream first.")
@click.option(
    "--force",
    is_flag=True,
    help="Spawn although issue N has a live builder, or into another architect's thread.",
)
@reason_option
@as_option
@json_option
def spawn_cmd(
    number: str | None,
    protocol: str | None,
    task: str | None,
    architect: str | None,
    thread: str | None,
    base: str | None,
    no_worktree: bool,
    no_fetch: bool,
    force: bool,
    reason: str | None,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Create builder branch builder/P-N, its worktree .builders/P-N, and its ownership record.

    One issue, one builder: spawn refuses when issue N already has a live (unmerged, not
    released) builder under any protocol and owner, recorded here, brought in by sync, or
    known to afx; --force --reason TEXT spawns anyway and records why. The base branch's
    upstream is fetched first (--no-fetch to skip; offline is a warning). Running the same
    spawn again finishes one that was interrupted (a missing record or worktree).

    \b
    Examples:
      CODEV_ARCHITECT_NAME=main git codev spawn 1487 --protocol spir
      git codev spawn 1481 --protocol spir --architect payments --thread checkout-v2
      git codev spawn --task "tidy the CI config" --no-worktree
      git codev spawn 1487 --protocol bugfix --force --reason "hotfix while spir-1487 runs"
    """
    if task is not None and number is not None:
        raise UsageError("give either a project number or --task, not both")
    if task is None and number is None:
        raise UsageError("give a project number (with --protocol) or --task TEXT")
    issue = parse_issue_number(number) if number is not None else None
    if issue is not None and protocol is None:
        raise UsageError("a numbered builder needs --protocol", "e.g. --protocol spir")
    proto = parse_protocol(protocol) if protocol is not None else None
    owner = parse_architect(architect) if architect is not None else None
    thread_name = parse_thread(thread) if thread is not None else None
    why = forced_reason(force, reason)
    from codev_git.ownership.spawn import Request, spawn

    store = Store.discover()
    who = resolve_architect(store, as_name, what="spawn", registers=True)
    request = Request(
        issue=issue,
        protocol=proto,
        task=task,
        architect=owner,
        thread=thread_name,
        base=base,
        worktree=not no_worktree,
        force=force,
        reason=why,
        fetch=not no_fetch,
    )
    result = spawn(store, who, request)
    rec = result.record
    if as_json:
        from codev_git.messaging.render import dump_json
        from codev_git.ownership.builder_state import record_json

        data = record_json(rec)
        data["worktree"] = str(result.worktree) if result.worktree else None
        data["base"] = result.base
        data["baseFetchedFrom"] = result.fetched
        data["repaired"] = result.repaired
        dump_json(data)
        return
    if result.repaired:
        echo(f"repaired {rec.builder}: created the missing {' and '.join(result.repaired)}")
    else:
        echo(f"spawned {rec.builder} for architect {rec.architect}")
    fetched = f", fetched {result.fetched}" if result.fetched else ""
    echo(f"  branch:   {rec.branch_name} (from {result.base[:12]}{fetched})")
    if result.worktree:
        echo(f"  worktree: {result.worktree}")
    if rec.thread:
        echo(f"  thread:   {rec.thread}")
    if rec.force:
        from codev_git.messaging.render import visible

        echo(f"  forced:   {visible(rec.reason or '')}")


@click.command("adopt")
@click.argument("branch", required=False)
@architect_option("Owner to record (default: you).")
@thread_option("Thread the builder belongs to.")
@click.option("--from-afx", is_flag=True, help="Adopt every builder afx knows in this workspace.")
@click.option(
    "--force",
    is_flag=True,
    help="Adopt despite a live builder for its issue; adopt the base or main worktree's branch.",
)
@reason_option
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="afx database (default: $CODEV_AGENT_FARM_DIR/global.db, ~/.agent-farm/global.db, "
    ".agent-farm/state.db).",
)
@as_option
@json_option
def adopt_cmd(
    branch: str | None,
    architect: str | None,
    thread: str | None,
    from_afx: bool,
    force: bool,
    reason: str | None,
    db: Path | None,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Record ownership of an existing branch, so its builder's messages are routed.

    One issue, one builder, as for spawn: adopting a branch for issue N (read off its name,
    builder/P-N) is refused when N already has a live (unmerged, not released) builder,
    recorded here, brought in by sync, or known to afx; --force --reason TEXT adopts it
    anyway and records why (--force also adopts the base branch or the main worktree's).

    With --from-afx, read afx's SQLite state (read-only) and record every builder of this
    workspace with the architect that spawned it; --architect is then the owner for builders
    afx recorded without one. It also writes the .thread tag in each builder worktree. Re-run
    it whenever afx has spawned more builders: it is idempotent (recorded builders and right
    tags are left as they are). A builder that cannot be adopted is skipped, with why, and the
    rest are adopted; that includes a builder whose issue already has a live one (recorded in
    git, another live afx builder, or one adopted earlier in the same run). --from-afx never
    forces: adopt the one to keep by name with --force --reason TEXT.

    \b
    Examples:
      git codev adopt builder/spir-1487 --architect main
      git codev adopt builder/bugfix-1487 --force --reason "hotfix while spir-1487 runs"
      git codev adopt --from-afx
      git codev adopt --from-afx --db ~/.agent-farm/global.db --json
    """
    owner = parse_architect(architect) if architect is not None else None
    thread_name = parse_thread(thread) if thread is not None else None
    why = forced_reason(force, reason)
    if from_afx:
        if branch is not None or thread is not None:
            raise UsageError("--from-afx adopts every afx builder; give no BRANCH or --thread")
        if force:
            raise UsageError(
                "--from-afx never forces", "adopt the one builder you mean: adopt BRANCH --force"
            )
        _adopt_from_afx(db, owner, as_name, as_json)
        return
    if db is not None:
        raise UsageError("--db goes with --from-afx")
    if branch is None:
        raise UsageError("give the BRANCH to adopt, or --from-afx")
    from codev_git.ownership.builders import adopt

    store = Store.discover()
    who = resolve_architect(store, as_name, what="adopt", registers=True)
    record, written = adopt(
        store, who, branch, architect=owner, thread=thread_name, force=force, reason=why
    )
    if as_json:
        from codev_git.messaging.render import dump_json
        from codev_git.ownership.builder_state import record_json

        dump_json({**record_json(record), "changed": written})
    elif written:
        echo(f"adopted {record.builder} (branch {record.branch_name}) for {record.architect}")
        if record.force:
            from codev_git.messaging.render import visible

            echo(f"  forced: {visible(record.reason or '')}")
    else:
        echo(f"{record.builder} is already owned by {record.architect}; nothing changed")


def _adopt_from_afx(
    db: Path | None, fallback: ArchitectName | None, as_name: str | None, as_json: bool
) -> None:
    from codev_git.ownership.afx import adopt_all_from_afx

    path, outcomes, tags = adopt_all_from_afx(Store.discover(), db, fallback, as_name)
    if as_json:
        from codev_git.messaging.render import dump_json

        rows = [{"id": o.builder, "changed": o.adopted, "why": o.why} for o in outcomes]
        retagged = [
            {"id": t.builder, "worktree": str(t.worktree), "result": t.result} for t in tags
        ]
        dump_json({"database": str(path), "builders": rows, "tags": retagged})
        return
    echo(f"afx database: {path}")
    for o in outcomes:
        echo(f"  {'adopted' if o.adopted else 'skipped'} {o.builder}: {o.why}")
    adopted = sum(1 for o in outcomes if o.adopted)
    echo(f"{adopted} adopted, {len(outcomes) - adopted} skipped")
    written = [t for t in tags if t.result == "written"]
    for t in written:
        echo(f"  tagged {t.worktree / '.thread'} ({t.builder})")
    if tags and not written:
        echo(f"  .thread tags already right in {len(tags)} worktree(s)")
