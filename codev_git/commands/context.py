"""context and consult: what this directory belongs to, and consult for that project."""

from __future__ import annotations

import click

from codev_git.commands.common import as_option, echo, json_option, note, thread_option
from codev_git.names import parse_thread
from codev_git.store import Store

THREAD_HELP = "The thread (initiative) to use, overriding .thread and the branch's record."


@click.command("context")
@thread_option(THREAD_HELP)
@as_option
@json_option
def context_cmd(thread: str | None, as_name: str | None, as_json: bool) -> None:
    """Print the architect, builder, thread and project of this directory, and how each was found.

    Order: --thread, then .thread at this worktree's root, then the ownership record of the
    checked-out branch, then your only active thread. The project is the builder's issue
    number, or the project of the thread's single live builder. Several candidates exit 2,
    listing them: nothing is guessed.

    \b
    Examples:
      git codev context
      git codev context --thread checkout-v2 --json
    """
    from codev_git.context.resolve import resolve_context

    name = parse_thread(thread) if thread is not None else None
    ctx = resolve_context(Store.discover(), name, as_name)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(ctx.as_json())
        return
    for label, fact in (
        ("architect", ctx.architect),
        ("builder", ctx.builder),
        ("thread", ctx.thread),
        ("project", ctx.project),
    ):  # the same facts as --json's fields, with how each was found
        echo(f"{label + ':':<11}{fact.value or '-'}  ({fact.source})")
    if ctx.project_dir is not None:
        echo(f"{'porch:':<11}{ctx.project_dir}")
    if ctx.worktree is not None:
        echo(f"{'worktree:':<11}{ctx.worktree}")


@click.command(
    "consult",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@thread_option(THREAD_HELP)
@as_option
@json_option
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def consult_cmd(
    click_ctx: click.Context,
    thread: str | None,
    as_name: str | None,
    as_json: bool,
    args: tuple[str, ...],
) -> None:
    """Run Codev's consult for this directory's project: consult ARGS --project-id ID.

    The project is resolved as by `git codev context`; consult runs in the builder's worktree.
    The command is `git config codev.consultCommand` (default: consult). Give --project-id
    in ARGS to skip resolution. Exits with consult's own exit status. With --json (before
    ARGS), consult's output goes to stderr and stdout says what was resolved and run.

    \b
    Examples:
      git codev consult -- -m gemini --type spec
      git codev consult --thread checkout-v2 -- -m claude --type impl
      git codev consult --json -- -m gemini --type spec
    """
    from codev_git.context.consult import prepare, run, run_or_fail

    name = parse_thread(thread) if thread is not None else None
    ctx, invocation = prepare(Store.discover(), name, as_name, list(args))
    if not as_json:
        if ctx is not None:
            note(f"project {ctx.project.value} ({ctx.project.source}), in {invocation.cwd}")
        run_or_fail(invocation)
        return
    from codev_git.messaging.render import dump_json

    code = run(invocation, output_to_stderr=True)
    data = ctx.as_json() if ctx is not None else {"issueNumber": None, "sources": {}}
    dump_json({**data, "argv": invocation.argv, "cwd": str(invocation.cwd), "exitCode": code})
    click_ctx.exit(code)
