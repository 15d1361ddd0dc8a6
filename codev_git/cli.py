"""The ``git codev`` command line: parse, call one domain function, print.

Commands are loaded lazily so that ``send`` and ``inbox`` import only what they use.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from typing import Any

import click

from codev_git import __version__
from codev_git.commands import console
from codev_git.commands.console import say, stderr_sink
from codev_git.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, CodevError
from codev_git.report import sink

COMMANDS: dict[str, str] = {
    "init": "codev_git.commands.core:init_cmd",
    "whoami": "codev_git.commands.core:whoami_cmd",
    "spawn": "codev_git.commands.spawning:spawn_cmd",
    "adopt": "codev_git.commands.spawning:adopt_cmd",
    "reassign": "codev_git.commands.core:reassign_cmd",
    "release": "codev_git.commands.core:release_cmd",
    "status": "codev_git.commands.core:status_cmd",
    "issues-owned": "codev_git.commands.board:issues_owned_cmd",
    "architect": "codev_git.commands.architect:architect_group",
    "send": "codev_git.commands.messaging:send_cmd",
    "inbox": "codev_git.commands.messaging:inbox_cmd",
    "reply": "codev_git.commands.history:reply_cmd",
    "ack": "codev_git.commands.acks:ack_cmd",
    "prime": "codev_git.commands.agent:prime_cmd",
    "agent": "codev_git.commands.agent:agent_group",
    "mcp": "codev_git.commands.agent:mcp_cmd",
    "log": "codev_git.commands.history:log_cmd",
    "thread": "codev_git.commands.threads:thread_group",
    "hooks": "codev_git.commands.hooks:hooks_group",
    "context": "codev_git.commands.context:context_cmd",
    "consult": "codev_git.commands.context:consult_cmd",
    "sync": "codev_git.commands.sync:sync_cmd",
    "completion": "codev_git.commands.docs:completion_cmd",
    "help": "codev_git.commands.docs:help_cmd",
    "demo": "codev_git.commands.demo:demo_cmd",
    "web": "codev_git.commands.web:web_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = sorted(set(COMMANDS) | set(self.commands))
        return [name for name in names if self.get_command(ctx, name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        # a command listed here whose module or object is missing is a packaging bug: let it
        # surface as one (main reports an internal error), never as "no such command"
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="git-codev")
def cli() -> None:
    """Several architect agents sharing one repository, coordinated through git itself.

    Builders' messages reach only the architect that spawned them; ownership, messages and
    read state live in refs of the repository and travel with push and fetch.

    \b
    Identity: --as NAME, else $CODEV_ARCHITECT_NAME, else `git config codev.architect`;
    inside a builder's worktree you are that builder.

    \b
    Examples:
      git codev init
      CODEV_ARCHITECT_NAME=main git codev spawn 1487 --protocol spir
      cd .builders/spir-1487 && git codev send architect "spec ready for review"
      CODEV_ARCHITECT_NAME=main git codev inbox
      git codev status --architect main --json

    Exit codes: 0 ok, 1 operational failure, 2 bad input.
    """


_DEVICE_ERRNOS = {
    errno.ENOSPC: "free some space or write elsewhere, then run it again",
    errno.EDQUOT: "free some space or write elsewhere, then run it again",
    errno.EIO: "check the device, then run it again",
    errno.EROFS: "write to a writable place, then run it again",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def wants_json(args: list[str]) -> bool:
    """``--json`` among the command's own options (not in ARGS after ``--``)."""
    own = args[: args.index("--")] if "--" in args else args
    return "--json" in own


def main(argv: list[str] | None = None, *, fast: bool = True) -> int:
    """The entry point: run one command. Plain ``send``/``inbox`` go by
    :mod:`codev_git.fastpath` first (unless ``fast`` is false: the caller tried it already).
    Domain warnings and notes go to stderr, or under ``--json`` inside the JSON document;
    failures are one line, or under ``--json`` one ``{"error": …}`` object on stdout, with
    the same exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not wants_json(args):
        with sink(stderr_sink):
            return _run(args, fast, fail=_fail_text)
    reports = console.JsonReports()
    console.json_reports = reports
    try:
        with sink(reports):
            return _run(args, False, fail=_fail_json)
    finally:
        reports.flush()
        console.json_reports = None


def _fail_text(code: str, what: str, hint: str | None, candidates: list[str]) -> None:
    from codev_git.messaging.render import visible  # an argument echoed back stays inert

    line = _one_line(what if hint is None else f"{what}; {hint}")
    say(f"git-codev: {visible(line)}")


def _fail_json(code: str, what: str, hint: str | None, candidates: list[str]) -> None:
    from codev_git.messaging.render import json_text, visible

    error = {
        "code": code,
        "message": visible(_one_line(what)),  # no raw control or undecodable bytes
        "hint": None if hint is None else visible(hint),
        "candidates": [visible(c) for c in candidates],
    }
    data = console.attach_reports({"error": error})
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.write(json_text(data) + "\n")
        sys.stdout.flush()


def _run(args: list[str], fast: bool, fail: Any) -> int:
    try:
        from codev_git.fastpath import COMMANDS, attempt

        if fast and args[:1] and args[0] in COMMANDS:
            code = attempt(args)
            if code is not None:
                return code
        result = cli.main(
            args=args,
            prog_name="git codev",
            complete_var="_GIT_CODEV_COMPLETE",
            standalone_mode=False,
        )
    except CodevError as exc:
        fail(exc.code, exc.what, exc.hint, exc.candidates)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        fail("interrupted", "aborted", None, [])
        return EXIT_INTERRUPTED
    except click.exceptions.NoArgsIsHelpError as exc:  # a group named without a command
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 0
    except click.ClickException as exc:
        ctx = exc.ctx if isinstance(exc, click.UsageError) else None
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
        fail("bad-input", exc.format_message().rstrip("."), hint, [])  # "...; hint" follows
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        fail("interrupted", "interrupted", None, [])
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_FAILURE
    except Exception as exc:
        if os.environ.get("CODEV_DEBUG"):
            raise
        return _unexpected(exc, fail)
    # without standalone mode, click returns the code given to ctx.exit(n) instead of exiting
    return result if isinstance(result, int) else 0


def _unexpected(exc: Exception, fail: Any) -> int:
    if isinstance(exc, OSError) and exc.errno in _DEVICE_ERRNOS:
        # the world, not a bug: a full or failing disk, e.g. stdout sent to /dev/full
        where = f" ({exc.filename})" if exc.filename else ""
        fail("failed", f"{exc.strerror or exc}{where}", _DEVICE_ERRNOS[exc.errno], [])
        return EXIT_FAILURE
    fail(
        "internal",
        f"internal error ({type(exc).__name__}: {_one_line(str(exc))[:200]})",
        "this is a bug: rerun with CODEV_DEBUG=1 for the traceback and report it",
        [],
    )
    return EXIT_FAILURE


def fast_failure(args: list[str], exc: Exception) -> int:
    """Report, as the full command would, an error the fast path (:mod:`codev_git.fastpath`)
    met once its work was done (its answer could not be written, say); the exit code."""
    if os.environ.get("CODEV_DEBUG"):
        raise exc
    fail = _fail_json if wants_json(args) else _fail_text
    if isinstance(exc, CodevError):
        fail(exc.code, exc.what, exc.hint, exc.candidates)
        return exc.exit_code
    return _unexpected(exc, fail)


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
