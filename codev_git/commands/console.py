"""Where the command line writes: the one place that prints to stderr.

Domain code reports through :mod:`codev_git.report`; :func:`stderr_sink` turns those reports
into ``git-codev: warning: …`` / ``git-codev: note: …`` lines. Imports nothing heavy, so the
post-checkout hook can use it too.
"""

from __future__ import annotations

import contextlib
import sys

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
