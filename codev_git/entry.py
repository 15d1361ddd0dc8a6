"""The ``git-codev`` program: the fast path for plain ``send``/``inbox``, else the full CLI.

Neither click nor pygit2 is imported unless the full command runs, and the interpreter's
teardown (freeing every module one by one, ~20 ms) is skipped once output is flushed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

from codev_git.errors import EXIT_FAILURE, EXIT_INTERRUPTED


def main() -> NoReturn:
    args = sys.argv[1:]
    code: int | None = None
    if args[:1] in (["send"], ["inbox"]):
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
    if code is None:
        from codev_git.cli import main as full

        code = full(args, fast=False)
    _exit(code)


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
