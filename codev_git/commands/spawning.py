"""spawn: a builder's branch, ownership record and worktree (see docs/ownership.md)."""

from __future__ import annotations

import click

from codev_git.commands.common import (
    architect_option,
    as_option,
    echo,
    json_option,
    thread_option,
)
from codev_git.errors import UsageError
from codev_git.names import parse_architect, parse_issue_number, parse_protocol, parse_thread
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
@click.option("--reason", metavar="TEXT", help="Why --force (recorded in the ownership event).")
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
    if reason is not None and not force:
        raise UsageError("--reason goes with --force", "add --force, or drop --reason")
    proto = parse_protocol(protocol) if protocol is not None else None
    owner = parse_architect(architect) if architect is not None else None
    thread_name = parse_thread(thread) if thread is not None else None
    why = parse_reason(reason) if reason is not None else None
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


def parse_reason(raw: str) -> str:
    text = " ".join(raw.split())
    if not text or len(text) > 200:
        raise UsageError("give a --reason of 1 to 200 characters", "say why, briefly")
    from codev_git.messaging.render import visible

    return visible(text)
