"""sync: exchange messages, ownership records and read state with a git remote."""

from __future__ import annotations

import click

from codev_git.commands.common import as_option, echo, json_option
from codev_git.commands.console import progress_line
from codev_git.store import Store


@click.command("sync")
@click.argument("remote", required=False)
@click.option(
    "--dry-run", is_flag=True, help="Fetch and say what would change; change no local ref."
)
@as_option
@json_option
def sync_cmd(remote: str | None, dry_run: bool, as_name: str | None, as_json: bool) -> None:
    """Fetch, merge and push the codev refs (messages, ownership, read state) with REMOTE.

    REMOTE defaults to the current branch's upstream remote, else origin. The remote's refs
    are fetched into refs/codev-remotes/REMOTE/ (never over local refs), merged into the local
    ones, and everything ahead of the remote is pushed as fast-forwards in one atomic push with
    leases; if another clone pushed in between, the whole cycle is retried (git config
    codev.syncAttempts N, default 6). Running it again changes nothing and says so. When the
    records taken in show two live builders for one issue (spawned on two clones before
    either synced), both are listed (a warning; "duplicates" in --json) and both owners are
    told by a message, once, from the architect you are (--as, else the environment or git
    config; without one they are not told and the warning says so).

    \b
    Examples:
      git codev sync
      git codev sync upstream --dry-run
      git codev sync --json
    """
    from codev_git.sync.exchange import parse_remote, sync

    store = Store.discover()
    if as_name is not None:
        # a malformed name is refused before anything moves; whether it names a known
        # architect is asked after the merge (a fresh clone knows none before it)
        from codev_git.names import parse_architect

        parse_architect(as_name)
    bar = progress_line(not as_json)  # git's transfer stages, on a terminal only
    try:
        report = sync(
            store, parse_remote(store, remote), dry_run=dry_run, progress=bar, as_name=as_name
        )
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(report.as_json())
    else:
        echo(report.summary())
