"""One error hierarchy: every expected failure is one line and a documented exit code.

Exit codes: 0 success, 1 operational failure (the repository or the world said no),
2 bad input (the caller can fix the command line), 130 interrupted.
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CodevError(Exception):
    """An expected failure. ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_FAILURE

    def __init__(self, what: str, hint: str | None = None) -> None:
        self.what = what
        self.hint = hint
        super().__init__(what if hint is None else f"{what}; {hint}")


class UsageError(CodevError):
    """The command line is wrong: bad name, unknown target, empty message, no identity."""

    exit_code = EXIT_USAGE


class OperationalError(CodevError):
    """The command was fine but could not be carried out: locks, missing objects, remotes."""

    exit_code = EXIT_FAILURE
