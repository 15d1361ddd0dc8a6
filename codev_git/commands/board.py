"""status --by-architect (the board) and issues-owned (the issue ledger)."""

from __future__ import annotations

from typing import Any

import click

from codev_git.commands.common import echo, json_option, note
from codev_git.store import Store


def show_board(as_json: bool) -> None:
    from codev_git.messaging.render import dump_json, style, visible
    from codev_git.ownership.board import board

    data = board(Store.discover())
    if as_json:
        dump_json(data)
        return
    if not data["architects"]:
        note("no architects yet: spawn a builder or send a message first")
    for arch in data["architects"]:
        echo(style(f"architect {arch['name']}", "bold"))
        echo(f"  threads:  {', '.join(arch['threads']) or '-'}")
        echo(f"  unread:   {arch['unread']}")
        echo(f"  owes:     {_asks(arch['owes'], 'from')}")
        echo(f"  owed:     {_asks(arch['owed'], 'to')}")
        echo(f"  last:     {arch['lastActivity'] or '-'}")
        for b in arch["builders"]:
            work = f"#{b['issueNumber']}" if b["issueNumber"] else "task"
            phase = f" phase {visible(b['phase'])}" if b["phase"] else ""
            stale = style(" STALE", "red") if b["staleBase"] else ""
            echo(
                f"  - {b['id']:<24} {work:<7} {b['branchState']:<7}{phase} "
                f"+{b['ahead']}/-{b['behind']} unread {b['unread']}{stale}"
            )


def _asks(asks: list[dict[str, Any]], side: str) -> str:
    if not asks:
        return "0"
    shown = ", ".join(f"{a['id'][:8]} ({a[side]})" for a in asks[:5])
    more = f", +{len(asks) - 5} more" if len(asks) > 5 else ""
    return f"{len(asks)}: {shown}{more}"


@click.command("issues-owned")
@json_option
def issues_owned_cmd(as_json: bool) -> None:
    """The issue ledger: issue number -> builder -> architect, for every issue with a builder.

    Live and merged builders are listed (a released one is no builder). An issue with two
    live builders (spawned on two clones before a sync, or with spawn --force) shows both.

    \b
    Examples:
      git codev issues-owned
      git codev issues-owned --json
    """
    from codev_git.messaging.render import dump_json
    from codev_git.ownership.board import issue_ledger

    ledger = issue_ledger(Store.discover())
    if as_json:
        dump_json({"issues": ledger})
        return
    if not ledger:
        note("no builder works on a numbered issue yet")
        return
    echo(f"{'ISSUE':<8} {'BUILDER':<26} {'ARCHITECT':<14} STATE")
    for entry in ledger:
        live = [b for b in entry["builders"] if b["branchState"] in ("new", "active")]
        for b in entry["builders"]:
            flag = "  (two live builders)" if len(live) > 1 and b in live else ""
            echo(
                f"{entry['issueNumber']:<8} {b['id']:<26} {b['spawnedByArchitect']:<14} "
                f"{b['branchState']}{flag}"
            )
