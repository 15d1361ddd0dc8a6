"""architect add | list | remove: the architects registered in this repository."""

from __future__ import annotations

import click

from codev_git.commands.common import as_option, echo, json_option
from codev_git.errors import UsageError
from codev_git.names import parse_architect
from codev_git.store import Store


@click.group("architect")
def architect_group() -> None:
    """Register, list and remove the architects of this repository (afx's add-architect).

    The registry lives in the repository (a ref of its own) and syncs with it. Sending
    to, acting as (--as) or filtering by an architect nobody registered is refused; an
    architect that spawns or adopts a builder or starts a thread (and the owner it names) is
    registered on the spot. `main` always exists.

    \b
    Examples:
      git codev architect add payments
      git codev architect add --auto          # architect-1, architect-2, ...
      git codev architect list --json
      git codev architect remove payments
    """


@architect_group.command("add")
@click.argument("name", required=False)
@click.option("--auto", is_flag=True, help="Pick the next free architect-N name.")
@as_option
@json_option
def add_cmd(name: str | None, auto: bool, as_name: str | None, as_json: bool) -> None:
    """Register architect NAME (or, with --auto, the next architect-N). Architects register
    architects: a builder's worktree is refused.

    \b
    Examples:
      git codev architect add payments
      git codev architect add --auto --json
    """
    from codev_git.ownership.registry import add_architect

    if auto == (name is not None):
        raise UsageError(
            "give a NAME or --auto (not both)", "e.g. git codev architect add payments"
        )
    wanted = parse_architect(name) if name is not None else None
    result = add_architect(Store.discover(), wanted, as_name)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"name": result.name, "added": result.written, "commit": result.commit})
    elif result.written:
        echo(f"added architect {result.name}")
    else:
        echo(f"architect {result.name} is already registered; nothing changed")


@architect_group.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List the known architects: builders owned, unread messages, last activity.

    \b
    Examples:
      git codev architect list
      git codev architect list --json
    """
    from codev_git.ownership.registry import listing

    rows = listing(Store.discover())
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"architects": rows})
        return
    echo(f"{'ARCHITECT':<20} {'BUILDERS':<9} {'UNREAD':<7} LAST ACTIVITY")
    for row in rows:
        builders = row["builders"]
        assert isinstance(builders, list)
        mark = "" if row["registered"] else "  (not registered: seen in records)"
        echo(
            f"{row['name']!s:<20} {len(builders):<9} {row['unread']!s:<7} "
            f"{row['lastActivity'] or '-'}{mark}"
        )


@architect_group.command("remove")
@click.argument("name")
@as_option
@json_option
def remove_cmd(name: str, as_name: str | None, as_json: bool) -> None:
    """Remove architect NAME (refused while it owns builders: reassign them first).

    \b
    Example:
      git codev architect remove payments
    """
    from codev_git.ownership.registry import remove_architect

    result = remove_architect(Store.discover(), parse_architect(name), as_name)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"name": result.name, "removed": True, "commit": result.commit})
    else:
        echo(f"removed architect {result.name}")
