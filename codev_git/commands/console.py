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
