"""The one path for warnings and notes from domain code.

Domain modules never print. They call :func:`warn` or :func:`note`; whoever drives them
decides what happens: the CLI prints them on stderr as ``git-codev: warning: …`` lines (or
puts them in the JSON it prints), a library caller or a test reads them with
:func:`collecting`. With no sink installed they are kept in :data:`unclaimed`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

Level = Literal["warning", "note"]


@dataclass(frozen=True)
class Report:
    level: Level
    text: str


Sink = Callable[[Report], None]

unclaimed: list[Report] = []
_sinks: list[Sink] = []


def warn(text: str) -> None:
    """Something the user should know went wrong or was skipped; the command goes on."""
    _emit(Report("warning", text))


def note(text: str) -> None:
    """Something the user should know the command decided for them."""
    _emit(Report("note", text))


def _emit(item: Report) -> None:
    if _sinks:
        _sinks[-1](item)
    else:
        unclaimed.append(item)


@contextlib.contextmanager
def sink(receiver: Sink) -> Iterator[None]:
    """Send reports to ``receiver`` for the duration of the block (innermost wins)."""
    _sinks.append(receiver)
    try:
        yield
    finally:
        _sinks.remove(receiver)


@contextlib.contextmanager
def collecting() -> Iterator[list[Report]]:
    """Collect the reports made inside the block into the yielded list."""
    found: list[Report] = []
    with sink(found.append):
        yield found
