"""Running Codev's ``consult`` for the resolved project, in the right worktree."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from codev_git import config
from codev_git.context.resolve import THREAD_HINT, Context
from codev_git.errors import CodevError, OperationalError, UsageError
from codev_git.names import ThreadName
from codev_git.store import Store

CONFIG_COMMAND = config.CONSULT_COMMAND.name
PROJECT_FLAG = "--project-id"


class ConsultFailed(CodevError):
    """consult ran and exited non-zero: git codev exits with the same code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"consult exited with status {code}")
        self.exit_code = code


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    cwd: Path


def gives_project(args: list[str]) -> bool:
    """True when the caller passed --project-id themselves (then nothing is resolved)."""
    before_separator = args[: args.index("--")] if "--" in args else args
    return any(a == PROJECT_FLAG or a.startswith(PROJECT_FLAG + "=") for a in before_separator)


def consult_command(store: Store) -> list[str]:
    configured = config.CONSULT_COMMAND.text(store) or "consult"
    try:
        words = shlex.split(configured)
    except ValueError as exc:
        raise UsageError(
            f"git config {CONFIG_COMMAND}={configured!r} cannot be parsed ({exc})",
            f"fix it with 'git config {CONFIG_COMMAND} \"consult\"'",
        ) from exc
    if not words:
        raise UsageError(f"git config {CONFIG_COMMAND} is empty", "unset it or name a command")
    found = shutil.which(words[0])
    if found is None:
        raise OperationalError(
            f"the consult command {words[0]!r} was not found on PATH",
            f"install Codev's consult, or point 'git config {CONFIG_COMMAND}' at it",
        )
    return [found, *words[1:]]


def plan(store: Store, ctx: Context | None, args: list[str]) -> Invocation:
    """The command line and directory for consult; ``ctx`` is None when ARGS name the project."""
    command = consult_command(store)
    here = Path.cwd()
    if ctx is None:
        return Invocation([*command, *args], here)
    if ctx.project.value is None:
        hint = THREAD_HINT
        if ctx.thread.value is not None:  # the thread is known: it has no live project
            hint = (
                f"spawn a builder into thread {ctx.thread.value}, pick another thread, or "
                "give --project-id ID after --"
            )
        raise UsageError(f"no project to consult on ({ctx.project.source})", hint)
    # --project-id goes before a "--" in ARGS (so it stays an option), else at the end
    cut = args.index("--") if "--" in args else len(args)
    argv = [*command, *args[:cut], PROJECT_FLAG, ctx.project.value, *args[cut:]]
    elsewhere = ctx.worktree is not None and not _same_dir(ctx.worktree, store.workdir)
    return Invocation(argv, ctx.worktree if elsewhere and ctx.worktree else here)


def prepare(
    store: Store, thread: ThreadName | None, as_name: str | None, args: list[str]
) -> tuple[Context | None, Invocation]:
    """``git codev consult``: resolve the project (unless ARGS give one) and plan the run."""
    ctx = None
    if not gives_project(args):
        from codev_git.context.resolve import resolve_context

        ctx = resolve_context(store, thread, as_name)
    return ctx, plan(store, ctx, args)


def run(invocation: Invocation, *, output_to_stderr: bool = False) -> int:
    """Run consult; returns its exit status (a signal's as 128 + its number).
    ``output_to_stderr``: consult's own output goes to stderr (stdout carries JSON)."""
    from codev_git.store.porcelain import run_program

    code = run_program(invocation.argv, invocation.cwd, stdout_to_stderr=output_to_stderr)
    return 128 - code if code < 0 else code


def run_or_fail(invocation: Invocation) -> None:
    """Run consult; a non-zero exit status is raised as :class:`ConsultFailed`."""
    code = run(invocation)
    if code != 0:
        raise ConsultFailed(code)


def _same_dir(a: Path, b: Path | None) -> bool:
    if b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
