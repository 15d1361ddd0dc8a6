"""The ``git-codev`` program: the fast path (:mod:`codev_git.fastpath`: plain ``send`` and
``inbox``, an agent hook or a ``sync`` with nothing to do), else the full CLI.

Neither click nor pygit2 is imported unless the full command runs, and the interpreter's
teardown (freeing every module one by one, ~20 ms) is skipped once output is flushed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import NoReturn

from codev_git.errors import EXIT_FAILURE, EXIT_INTERRUPTED


def main() -> NoReturn:
    args = sys.argv[1:]
    code: int | None = None
    _closed_streams()
    from codev_git.fastpath import COMMANDS

    if args[:1] and args[0] in COMMANDS:
        from codev_git.commands.console import stderr_sink
        from codev_git.fastpath import attempt
        from codev_git.report import sink

        try:
            with sink(stderr_sink):
                code = attempt(args)
        except BrokenPipeError:
            _quiet_stdout()
            code = EXIT_FAILURE
        except KeyboardInterrupt:
            from codev_git.commands.console import say

            say("git-codev: interrupted")
            code = EXIT_INTERRUPTED
        except Exception as exc:  # once the work was done (e.g. stdout on a full disk)
            from codev_git.cli import fast_failure

            code = fast_failure(args, exc)
    if code is None:
        from codev_git.cli import main as full

        code = full(args, fast=False)
    _exit(code)


class _ClosedOutput(io.TextIOBase):
    """Standard output when the program was started with it closed (``git-codev ... >&-``;
    git itself would have given it /dev/null): every write fails as a write to a closed
    descriptor does, so what could not be written stays unread."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _closed_streams() -> None:
    """Python sets a standard stream it finds closed to None: give each one that fails
    (stdout) or reads and writes nothing (stdin, stderr), instead of a traceback later."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull)  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _exit(code: int) -> NoReturn:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        code = code or EXIT_FAILURE
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    if "coverage" in sys.modules:  # measured (make test): let coverage save its data at exit
        sys.exit(code)
    os._exit(code)


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
