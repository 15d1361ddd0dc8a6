"""Where the command line writes: the one place that prints to stderr.

Domain code reports through :mod:`codev_git.report`; :func:`stderr_sink` turns those reports
into ``git-codev: warning: …`` / ``git-codev: note: …`` lines. Under ``--json`` the reports
are collected instead and go *inside* the JSON document the command prints (``warnings`` and
``notes`` arrays, see :func:`attach_reports`); whatever is reported after that document (or by
a command that streams JSON lines) is written to stderr as one JSON object per line, never as
prose. Imports nothing heavy, so the post-checkout hook can use it too.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

from codev_git.report import Report

PREFIX = "git-codev: "


def say(line: str) -> None:
    """One line on stderr; a closed or full stderr is not worth failing over."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)


def stderr_sink(item: Report) -> None:
    say(f"{PREFIX}{item.level}: {item.text}")


class ProgressLine:
    """A one-line progress display on a terminal's stderr (git's own stages: "Receiving
    objects 40/120"), redrawn in place and cleared at the end. On anything but a terminal
    it is None: see :func:`progress_line`."""

    def __init__(self) -> None:
        self.width = 0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        text = f"{stage}: {done}/{total}" if total else f"{stage}: {done}"
        self._write("\r" + text.ljust(self.width))
        self.width = len(text)

    def close(self) -> None:
        if self.width:
            self._write("\r" + " " * self.width + "\r")
            self.width = 0

    @staticmethod
    def _write(text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(text)
            sys.stderr.flush()


def progress_line(enabled: bool = True) -> ProgressLine | None:
    """A progress display when stderr is a terminal and ``enabled``, else None."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return ProgressLine() if enabled and tty else None


class JsonReports:
    """The sink the CLI installs under ``--json``."""

    def __init__(self) -> None:
        self.pending: list[Report] = []
        self.streaming = False

    def __call__(self, item: Report) -> None:
        if self.streaming:
            say(json.dumps({item.level: item.text}, ensure_ascii=False))
        else:
            self.pending.append(item)

    def take(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for item in self.pending:
            found.setdefault(f"{item.level}s", []).append(item.text)
        self.pending.clear()
        return found

    def flush(self) -> None:
        """Reports made after the document was printed: JSON lines on stderr."""
        for item in self.pending:
            say(json.dumps({item.level: item.text}, ensure_ascii=False))
        self.pending.clear()


json_reports: JsonReports | None = None


def attach_reports(data: Any) -> Any:
    """``data`` with the pending warnings and notes put inside (only when there are any)."""
    if json_reports is None or not isinstance(data, dict):
        return data
    found = json_reports.take()
    if not found:
        return data
    merged = dict(data)
    for key, items in found.items():
        have = list(merged.get(key) or [])
        merged[key] = have + [item for item in items if item not in have]
    return merged


def stream_reports() -> None:
    """From now on, reports go straight to stderr as JSON lines (for JSON-lines output)."""
    if json_reports is not None:
        json_reports.flush()
        json_reports.streaming = True
