"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from codev_git.address import BROADCAST, OWN_ARCHITECT, architect_address
from codev_git.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


def as_option(func: F) -> F:
    return click.option(
        "--as",
        "as_name",
        metavar="NAME",
        shell_complete=complete_architects,
        help="Act as this architect (else $CODEV_ARCHITECT_NAME, else git config codev.architect).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)


def echo(text: str = "") -> None:
    click.echo(text)


def echo_lines(lines: list[str]) -> None:
    """Many lines in one write (a table of 1,000 rows: one call, not 1,000); none, nothing."""
    if lines:
        click.echo("\n".join(lines))


def note(text: str) -> None:
    """A note for the user: stderr, or inside the JSON under --json (one output path)."""
    from codev_git import report

    report.note(text)


# -- shell completion from the repository (never raises: a completion must not break a shell)
def _names(kind: str) -> list[str]:
    try:
        from codev_git.ownership.builder_state import architect_names
        from codev_git.ownership.records import OwnerBook
        from codev_git.store import Store

        store = Store.discover()
        owned = OwnerBook(store).all()
        if kind == "architects":
            return list(architect_names(store, owned))
        if kind == "builders":
            return [o.current.builder for o in owned]
        from codev_git.threads.model import head_commit, list_threads

        return [t.name for t in list_threads(store, head_commit(store))]
    except Exception:
        return []


def complete_architects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [n for n in _names("architects") if n.startswith(incomplete)]


def complete_builders(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [n for n in _names("builders") if n.startswith(incomplete)]


def complete_threads(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [n for n in _names("threads") if n.startswith(incomplete)]


def complete_targets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    options = [OWN_ARCHITECT, BROADCAST]
    options += [architect_address(n) for n in _names("architects")]
    options += _names("builders")
    return [n for n in options if n.startswith(incomplete)]


def architect_option(help: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option(
            "--architect", metavar="A", shell_complete=complete_architects, help=help
        )(func)

    return decorate


def thread_option(help: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option("--thread", metavar="T", shell_complete=complete_threads, help=help)(
            func
        )

    return decorate


def parse_reason(raw: str) -> str:
    text = " ".join(raw.split())
    if not text or len(text) > 200:
        raise UsageError("give a --reason of 1 to 200 characters", "say why, briefly")
    from codev_git.messaging.render import visible

    return visible(text)


def reason_option(func: F) -> F:
    """``--reason TEXT``, which explains a ``--force`` (read with :func:`forced_reason`)."""
    return click.option(
        "--reason", metavar="TEXT", help="Why --force (recorded in the ownership event)."
    )(func)


def forced_reason(force: bool, reason: str | None) -> str | None:
    """The --reason of a command whose --force it explains (refused without --force)."""
    if reason is not None and not force:
        raise UsageError("--reason goes with --force", "add --force, or drop --reason")
    return parse_reason(reason) if reason is not None else None
