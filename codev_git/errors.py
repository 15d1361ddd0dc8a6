"""One error hierarchy: every expected failure is one line and a documented exit code.

Exit codes: 0 success, 1 operational failure (the repository or the world said no),
2 bad input (the caller can fix the command line), 130 interrupted.
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CodevError(Exception):
    """An expected failure. ``str(err)`` is the one line shown to the user.

    ``code`` names the kind of failure for machines (``{"error": {"code": …}}`` under
    ``--json``); ``candidates`` lists the choices when the failure is an ambiguity or an
    unknown name (the builders a tail matches, the known architects, the projects found).
    """

    exit_code = EXIT_FAILURE
    default_code = "failed"

    def __init__(
        self,
        what: str,
        hint: str | None = None,
        *,
        code: str | None = None,
        candidates: list[str] | None = None,
    ) -> None:
        self.what = what
        self.hint = hint
        self.code = code or self.default_code
        self.candidates = list(candidates or [])
        super().__init__(what if hint is None else f"{what}; {hint}")

    def as_json(self) -> dict[str, object]:
        return {
            "error": {
                "code": self.code,
                "message": self.what,
                "hint": self.hint,
                "candidates": self.candidates,
            }
        }


class UsageError(CodevError):
    """The command line is wrong: bad name, unknown target, empty message, no identity."""

    exit_code = EXIT_USAGE
    default_code = "bad-input"


class OperationalError(CodevError):
    """The command was fine but could not be carried out: locks, missing objects, remotes."""

    exit_code = EXIT_FAILURE
