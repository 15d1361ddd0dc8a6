"""thread new / list / show / refresh / archive."""

from __future__ import annotations

from typing import Any

import click

from codev_git.commands.common import as_option, complete_threads, echo, json_option, note
from codev_git.names import parse_architect, parse_thread
from codev_git.ownership.identity import resolve_architect
from codev_git.store import Store
from codev_git.threads.model import (
    Live,
    find_thread,
    head_commit,
    live,
    parse_headline,
    show_json,
    summaries,
)

REF_HELP = "Read the thread as stored at this branch, tag or commit (default: HEAD)."


@click.group("thread", invoke_without_command=True)
@click.pass_context
def thread_group(ctx: click.Context) -> None:
    """Threads: one file per architect initiative, codev/<name>-thread.md.

    Anyone reads any thread (straight from git objects, at any ref, from any worktree);
    only the owning architect changes one. Archived threads move to codev/archive/.

    \b
    Examples:
      CODEV_ARCHITECT_NAME=payments git codev thread new checkout-v2 --headline "Rebuild checkout"
      git codev thread list --all
      git codev thread show checkout-v2 --ref origin/main
      CODEV_ARCHITECT_NAME=payments git codev thread refresh checkout-v2
      CODEV_ARCHITECT_NAME=payments git codev thread archive checkout-v2
    """
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


@thread_group.command("new")
@click.argument("name")
@click.option("--architect", metavar="A", help="The owning architect (default: you).")
@click.option("--headline", metavar="TEXT", default="", help="One line: what the thread is for.")
@click.option("--no-commit", is_flag=True, help="Write the file but do not commit it.")
@as_option
@json_option
def new_cmd(
    name: str,
    architect: str | None,
    headline: str,
    no_commit: bool,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Create codev/NAME-thread.md from the template and commit exactly that file.

    The template is codev/templates/THREAD.md.j2 when the repository has one, else the one
    shipped with git codev. Other staged changes stay staged and out of the commit.

    \b
    Example:
      CODEV_ARCHITECT_NAME=payments git codev thread new checkout-v2 --headline "Rebuild checkout"
    """
    thread = parse_thread(name)
    owner = parse_architect(architect) if architect is not None else None
    text = parse_headline(headline)
    from codev_git.threads.edit import start_thread

    result, owner = start_thread(Store.discover(), as_name, thread, owner, text, not no_commit)
    if as_json:
        _dump_written(thread, result.path, result.commit, True, architect=owner)
        return
    done = f"committed as {result.commit[:12]}" if result.commit else "not committed"
    echo(f"created {result.path} for architect {owner} ({done})")


def _dump_written(name: str, path: str, commit: str | None, changed: bool, **extra: object) -> None:
    """What thread new, refresh and archive print under --json: the thread, its path, whether
    anything changed and the commit that holds the change (null when not committed)."""
    from codev_git.messaging.render import dump_json

    dump_json({"name": name, "path": path, "changed": changed, "commit": commit, **extra})


@thread_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Archived threads too.")
@click.option("--ref", default="HEAD", metavar="REF", help=REF_HELP)
@json_option
def list_cmd(show_all: bool, ref: str, as_json: bool) -> None:
    """List threads: name, owner, status, builders (live = unmerged), last change.

    \b
    Examples:
      git codev thread list
      git codev thread list --all --ref origin/main --json
    """
    store = Store.discover()
    commit = head_commit(store) if ref == "HEAD" else store.resolve_commit(ref)
    found = summaries(store, commit, archived=show_all)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"ref": ref, "commit": commit, "threads": found})
        return
    if not found:
        note(f"no {'' if show_all else 'active '}threads at {ref}; start one with 'thread new'")
        return
    from codev_git.messaging.render import style, visible

    echo(
        style(
            f"{'THREAD':<24} {'ARCHITECT':<14} {'STATUS':<10} {'BUILDERS':<10} LAST CHANGE", "bold"
        )
    )
    for t in found:
        status = visible(t["status"])
        builders = f"{t['builderCount']} ({t['liveBuilderCount']} live)"
        echo(
            f"{t['name']:<24} {t['architect'] or '-':<14} {status:<10} {builders:<10} "
            f"{_change(t['lastChange'])}"
        )


def _change(change: dict[str, Any] | None, width: int = 50) -> str:
    if change is None:
        return "-"
    from codev_git.messaging.render import visible

    return f"{change['time'][:10]} {change['commit'][:10]} {visible(change['subject'])[:width]}"


@thread_group.command("show")
@click.argument("name", shell_complete=complete_threads)
@click.option("--ref", default="HEAD", metavar="REF", help=REF_HELP)
@click.option("--brief", is_flag=True, help="Facts from the front matter instead of the file.")
@json_option
def show_cmd(name: str, ref: str, brief: bool, as_json: bool) -> None:
    """Print a thread as stored at REF, then a live section computed from the repository.

    Read-only, for any architect: no checkout, nothing written. The live section lists the
    thread's builders (branch ahead/behind the base branch, merged or not, last commit) and
    unread messages. Archived threads are shown too. --brief prints the owner, status and
    headline instead of the whole file.

    \b
    Examples:
      CODEV_ARCHITECT_NAME=main git codev thread show checkout-v2 --brief
      git codev thread show checkout-v2 --ref origin/main --json
    """
    thread_name = parse_thread(name)
    store = Store.discover()
    commit = store.resolve_commit(ref)
    thread = find_thread(store, commit, thread_name, ref)
    now = live(store, thread)
    last = store.last_commit_touching(commit, thread.path)
    data = show_json(thread, ref, commit, last, now, brief=brief)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(data)
        return
    _print_show(data, now, brief)


def _print_show(data: dict[str, Any], now: Live, brief: bool) -> None:
    from codev_git.messaging.render import style, visible
    from codev_git.threads.render import roster_markdown

    change = _change(data["lastChange"], 72)
    echo(style(f"==> {data['path']} at {data['ref']} ({data['commit'][:12]})", "bold"))
    if brief:
        echo(f"thread:      {data['name']}")
        echo(f"status:      {visible(data['status'])}")
        echo(f"owner:       {data['architect'] or '(none named)'}")
        echo(f"headline:    {visible(data['headline']) or '-'}")
        echo(f"created:     {visible(data['created'] or '-')}")
        echo(f"last change: {change}")
    else:
        echo(f"last change: {change}")
        echo(visible(data["text"]).rstrip("\n"))
    echo()
    echo(style("==> live: computed now from this repository, not stored in the file", "bold"))
    unread = data["live"]["unread"]
    echo(
        f"owner: {now.owner or '(none named)'} - {unread['architect']} unread in its inbox, "
        f"{unread['architectInThread']} about this thread"
    )
    echo(f"base branch: {now.base or '(none)'}")
    echo(visible(roster_markdown(now.builders, now.base, data["name"], behind=True)))
    if now.builders:
        echo(f"unread by the builders: {unread['builders']}")


@thread_group.command("refresh")
@click.argument("name", shell_complete=complete_threads)
@click.option("--no-commit", is_flag=True, help="Rewrite the file but do not commit it.")
@as_option
@json_option
def refresh_cmd(name: str, no_commit: bool, as_name: str | None, as_json: bool) -> None:
    """Regenerate the roster and merge-state blocks from live data and commit the file.

    Only the text between the <!-- codev:roster:begin/end --> and <!-- codev:merges:... -->
    markers changes; the commit holds that file alone. Owner only.

    \b
    Example:
      CODEV_ARCHITECT_NAME=payments git codev thread refresh checkout-v2
    """
    thread = parse_thread(name)
    from codev_git.threads.edit import refresh_thread

    store = Store.discover()
    who = resolve_architect(store, as_name, what="thread refresh")
    result = refresh_thread(store, who, thread, commit=not no_commit)
    if as_json:
        _dump_written(thread, result.path, result.commit, result.changed)
        return
    if not result.changed:
        echo(f"{result.path} is up to date; nothing changed")
    elif result.commit:
        echo(f"refreshed {result.path} (committed as {result.commit[:12]})")
    else:
        echo(f"refreshed {result.path} (not committed)")


@thread_group.command("archive")
@click.argument("name", shell_complete=complete_threads)
@click.option("--force", is_flag=True, help="Archive despite unmerged builders or another owner.")
@as_option
@json_option
def archive_cmd(name: str, force: bool, as_name: str | None, as_json: bool) -> None:
    """Move codev/NAME-thread.md to codev/archive/ with git mv and commit just that move.

    Owner only, and only once every builder of the thread is merged (or with --force).
    `git log --follow codev/archive/NAME-thread.md` keeps the file's history.

    \b
    Example:
      CODEV_ARCHITECT_NAME=payments git codev thread archive checkout-v2
    """
    thread = parse_thread(name)
    from codev_git.threads.edit import archive_thread

    store = Store.discover()
    who = resolve_architect(store, as_name, what="thread archive")
    result = archive_thread(store, who, thread, force=force)
    if as_json:
        _dump_written(
            thread,
            result.destination,
            result.commit,
            True,
            archivedFrom=result.source,
            unmergedBuilders=list(result.unmerged),
        )
        return
    if result.resumed:
        note("an earlier archive of this thread was interrupted after moving the file; finished it")
    if result.unmerged:
        note(f"archived with unmerged builders: {', '.join(result.unmerged)}")
    commit = result.commit[:12] if result.commit else "?"
    echo(f"archived {result.source} -> {result.destination} (committed as {commit})")
