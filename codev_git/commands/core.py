"""init, whoami, reassign, release, status."""

from __future__ import annotations

import sys
from typing import Any

import click

from codev_git.commands.common import (
    architect_option,
    as_option,
    complete_architects,
    complete_builders,
    complete_threads,
    echo,
    echo_lines,
    forced_reason,
    json_option,
    note,
    reason_option,
    thread_option,
)
from codev_git.errors import UsageError
from codev_git.names import (
    ThreadName,
    parse_architect,
    parse_thread,
)
from codev_git.ownership.identity import resolve, resolve_architect
from codev_git.store import Store


@click.command("init")
@json_option
def init_cmd(as_json: bool) -> None:
    """Configure this repository for git codev (safe to run again; needs no identity).

    Adds .builders/ and .thread to info/exclude, keeps reflogs for branches and notes but not
    for the append-only message chains (core.logAllRefUpdates=true), enables per-worktree
    config so that each architect's worktree can say `git config --worktree codev.architect
    NAME`, and writes git's commit-graph (and keeps it current on fetch) so that ahead/behind
    counts stay fast on deep histories. Installs the post-checkout hook that writes .thread
    in each builder's worktree (see `git codev hooks`).

    \b
    Examples:
      git codev init
      git codev init --json
    """
    from codev_git.worktree.repo_init import init_repository

    store = Store.discover()
    changes = init_repository(store)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"changed": bool(changes), "changes": changes})
        return
    if not changes:
        echo("already initialised; nothing changed")
    for change in changes:
        echo(change)


@click.command("whoami")
@as_option
@json_option
def whoami_cmd(as_name: str | None, as_json: bool) -> None:
    """Print who you are here, and how that was decided. Never guesses.

    \b
    Examples:
      CODEV_ARCHITECT_NAME=main git codev whoami
      cd .builders/spir-1487 && git codev whoami --json
    """
    from codev_git.ownership.identity import workspace_name

    store = Store.discover()
    who = resolve(store, as_name)
    path = str(store.main_workdir or store.common_dir)
    if as_json:
        from codev_git.messaging.render import dump_json
        from codev_git.ownership.builder_state import record_json

        data: dict[str, Any] = {
            "workspace": workspace_name(store),
            "workspacePath": path,
            "type": who.kind,
            "name": who.name,
            "architect": who.architect,
            "source": who.source,
        }
        if who.record is not None:
            rec = record_json(who.record)
            for key in ("id", "type", "spawnedByArchitect", "ownedSince"):
                rec.pop(key, None)
            data.update(rec)
        dump_json(data)
        return
    # afx's lines (Codev's /arch-init parses type:, name:, architect:), then how it was decided
    echo(f"workspace: {workspace_name(store)}")
    echo(f"type: {who.kind}")
    echo(f"name: {who.name}")
    if who.is_builder:
        echo(f"architect: {who.architect}")
    echo(f"decided by: {who.source}")
    echo(f"path: {path}")


@click.command("reassign")
@click.argument("builder", shell_complete=complete_builders)
@click.option(
    "--to",
    "to",
    required=True,
    metavar="A",
    shell_complete=complete_architects,
    help="The architect taking it over.",
)
@click.option(
    "--thread",
    metavar="T",
    shell_complete=complete_threads,
    help="Move it into thread T (the new owner's; default: it keeps its thread).",
)
@click.option("--no-thread", is_flag=True, help="Take it out of its thread.")
@click.option("--force", is_flag=True, help="Reassign a builder another architect owns.")
@reason_option
@as_option
@json_option
def reassign_cmd(
    builder: str,
    to: str,
    thread: str | None,
    no_thread: bool,
    force: bool,
    reason: str | None,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Hand a builder to another architect (both owners stay in the record's history).

    Only its owner may; --force overrides that and is recorded. The builder keeps its
    thread unless --thread T (an active thread of the new owner; --force for another's) or
    --no-thread says otherwise; kept in the old owner's thread, a note says so. The
    builder's .thread tag is rewritten, and the old owner, the new owner and the builder
    each get a message. Reassigning to its own owner with --thread moves only the thread.

    \b
    Examples:
      git codev reassign 1487 --to payments --thread refunds
      git codev reassign 1487 --to ops --force --reason "main is offline this week"
      git codev reassign 1487 --to main --no-thread --json
    """
    target = parse_architect(to)
    if thread is not None and no_thread:
        raise UsageError("--thread and --no-thread contradict each other", "give one of them")
    why = forced_reason(force, reason)
    from codev_git.ownership.builders import KEEP_THREAD, KeepThread, reassign

    moved: ThreadName | KeepThread | None = KEEP_THREAD
    if thread is not None:
        moved = parse_thread(thread)
    elif no_thread:
        moved = None
    store = Store.discover()
    who = resolve_architect(store, as_name, what="reassign")
    record, written = reassign(store, who, builder, target, thread=moved, force=force, reason=why)
    if as_json:
        from codev_git.messaging.render import dump_json
        from codev_git.ownership.builder_state import record_json

        dump_json({**record_json(record), "changed": written})
    elif written:
        echo(f"{record.builder} now belongs to {record.architect}")
    else:
        echo(f"{record.builder} already belongs to {record.architect}; nothing changed")


@click.command("release")
@click.argument("builder", shell_complete=complete_builders)
@click.option("--force", is_flag=True, help="Release a builder another architect owns.")
@reason_option
@as_option
@json_option
def release_cmd(
    builder: str, force: bool, reason: str | None, as_name: str | None, as_json: bool
) -> None:
    """Give a builder up: its branch is no longer a builder (the record's history is kept).

    Undoes a mistaken adopt; the branch can be adopted again later. Only its owner may
    (--force overrides, recorded); the owner and the builder each get a message. The
    builder's questions stay answerable ('git codev ack ID' by the architect asked); the
    questions sent to it stop awaiting an answer, since nobody can give one.

    \b
    Examples:
      git codev release builder-spir-1487
      git codev release 1487 --force --reason "abandoned; owner left"
    """
    why = forced_reason(force, reason)
    from codev_git.ownership.builders import release
    from codev_git.ownership.identity import releasing_architect

    store = Store.discover()
    record = release(store, releasing_architect(store, as_name), builder, force=force, reason=why)
    if as_json:
        from codev_git.messaging.render import dump_json
        from codev_git.ownership.builder_state import record_json

        dump_json({**record_json(record), "released": True})
        return
    echo(f"released {record.builder} (branch {record.branch_name}; it was {record.architect}'s)")


@click.command("status")
@architect_option("Only this architect's builders.")
@click.option("--mine", is_flag=True, help="Only your own builders.")
@thread_option("Only builders in this thread.")
@click.option("--watch", is_flag=True, help="Redraw the table in place as things change.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    metavar="S",
    help="With --watch: redraw at least every S seconds.",
)
@click.option("--by-architect", is_flag=True, help="The board: everything grouped by architect.")
@as_option
@json_option
def status_cmd(
    architect: str | None,
    mine: bool,
    thread: str | None,
    watch: bool,
    interval: float,
    by_architect: bool,
    as_name: str | None,
    as_json: bool,
) -> None:
    """List owned builders: owner, thread, branch state, worktree, unread messages, and the
    messages still awaiting an answer (sent with --ack), with their age.

    --watch redraws the table in place on a terminal, at once when a message, an ownership
    change or a branch lands, else every --interval seconds, until Ctrl-C; when the output
    is not a terminal it prints the table once.

    A builder whose branch is more than codev.staleBaseCommits commits behind the base
    branch is flagged STALE ("staleBase" in --json). With --by-architect, the board: per
    architect its threads, builders (state, phase), unread messages, answers it owes and is
    owed (messages sent with --ack that no answer names yet), and its last activity.

    \b
    Examples:
      git codev status
      git codev status --architect payments --json
      CODEV_ARCHITECT_NAME=main git codev status --mine
      git codev status --watch --interval 5
      git codev status --by-architect
    """
    if mine and architect:
        raise UsageError("give --architect or --mine, not both")
    if watch and as_json:
        raise UsageError("--watch redraws a table for a person", "use --json without --watch")
    if not watch:
        from click.core import ParameterSource

        source = click.get_current_context().get_parameter_source("interval")
        if source == ParameterSource.COMMANDLINE:
            raise UsageError("--interval goes with --watch", "add --watch, or drop --interval")
    if by_architect:
        if watch:
            raise UsageError(
                "--watch redraws the status table", "give --by-architect without --watch"
            )
        if mine or architect or thread:
            raise UsageError("--by-architect shows everyone; give no filter with it")
        from codev_git.commands.board import show_board

        show_board(as_json)
        return
    owner = parse_architect(architect) if architect is not None else None
    thread_name = parse_thread(thread) if thread is not None else None
    from codev_git.ownership.builder_state import status_for

    store = Store.discover()
    if watch and sys.stdout.isatty():
        from codev_git.commands.status_watch import watch_status
        from codev_git.ownership.builder_state import owner_filter, status_report

        owner = owner_filter(store, owner, mine, as_name)

        def draw() -> None:
            shown = status_report(store, architect=owner, thread=thread_name)
            echo_lines(_status_lines(shown))
            if not shown["builders"]:
                _say_empty(shown, thread_name)

        watch_status(store, draw, interval)
        return
    report, pending = status_for(store, owner, mine, thread_name, as_name)
    if thread_name is not None and not report["builders"]:
        _require_thread(store, thread_name)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(report)
        return
    lines = _status_lines(report)
    if pending:
        lines.append("awaiting answers:")
        lines += [f"  {item.line()}" for item in pending]
    echo_lines(lines)
    if not report["builders"]:
        _say_empty(report, thread_name)


def _require_thread(store: Store, name: ThreadName) -> None:
    """A thread no builder names must at least have its file (active or archived) at HEAD:
    else the name is a typo, refused with the threads there are."""
    from codev_git.threads.model import head_commit, read_thread, unknown_thread

    head = head_commit(store)
    if head is None or read_thread(store, head, name) is None:
        raise unknown_thread(store, name, "HEAD")


def _say_empty(report: dict[str, Any], thread_name: str | None) -> None:
    owner = report["ownerFilter"]
    if owner:
        note(f"no builders owned by {owner}")  # afx's words
    else:
        note("no builders match" if thread_name else "no owned builders yet")


def _status_lines(report: dict[str, Any]) -> list[str]:
    """The status table and the architects line."""
    from codev_git.messaging.render import style

    lines: list[str] = []
    builders = report["builders"]
    if builders:
        header = f"{'BUILDER':<26} {'ARCHITECT':<14} {'THREAD':<14} {'STATE':<8} {'+/-':<9} UNREAD"
        lines.append(style(header, "bold"))
        for b in builders:
            state = b["branchState"]
            ahead_behind = f"+{b['ahead']}/-{b['behind']}" if state != "gone" else "-"
            colour = {"active": "green", "new": "cyan", "merged": "dim", "gone": "red"}[state]
            lines.append(
                f"{b['id']:<26} {b['spawnedByArchitect']:<14} {b.get('thread') or '-':<14} "
                f"{style(f'{state:<8}', colour)} {ahead_behind:<9} {b['unread']}"
                + (f"  (from {b['remoteBranch']})" if b.get("remoteBranch") else "")
                + (style("  STALE: rebase on the base branch", "red") if b["staleBase"] else "")
            )
    arch = ", ".join(f"{a['name']} ({a['unread']} unread)" for a in report["architects"])
    if arch:
        lines.append(f"architects: {arch}")
    return lines
