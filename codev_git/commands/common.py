"""Options and helpers shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def as_option(func: F) -> F:
    return click.option(
        "--as",
        "as_name",
        metavar="NAME",
        help="Act as this architect (else $CODEV_ARCHITECT_NAME, else git config codev.architect).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)


def echo(text: str = "") -> None:
    click.echo(text)


def note(text: str) -> None:
    click.echo(f"git-codev: {text}", err=True)
