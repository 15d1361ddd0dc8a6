"""help and completion."""

from __future__ import annotations

import click

from codev_git.errors import UsageError

BASH_GIT = r"""
# `git codev <TAB>` under git's own bash completion: git calls _git_codev.
_git_codev() {
    local IFS=$'\n' line
    local -a words=("git-codev" "${COMP_WORDS[@]:2}")
    COMPREPLY=()
    while IFS= read -r line; do
        case "$line" in
            plain,*) COMPREPLY+=("${line#plain,}") ;;
            file,*|dir,*) COMPREPLY+=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}")) ;;
        esac
    done < <(COMP_WORDS="${words[*]}" COMP_CWORD=$((COMP_CWORD - 1)) \
             _GIT_CODEV_COMPLETE=bash_complete git-codev 2>/dev/null)
}
"""


@click.command("help")
@click.argument("command", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="The commands and their summaries.")
def help_cmd(command: tuple[str, ...], as_json: bool) -> None:
    """Show the help of git codev or of one of its commands (`git codev --help` opens the man page).

    \b
    Examples:
      git codev help
      git codev help send
      git codev help thread new
    """
    from codev_git.cli import cli

    # the settings 'git codev CMD -h' runs with (-h, the width): click caches each command's
    # help option from the first context that asks, so a bare context would drop -h for
    # every later command run in this process (the MCP server runs them in-process)
    ctx = click.Context(cli, info_name="git codev", **cli.context_settings)
    current: click.Command = cli
    for word in command:
        if not isinstance(current, click.Group):
            raise UsageError(
                f"{ctx.command_path} has no subcommand {word!r}",
                f"run '{ctx.command_path.replace('git codev', 'git codev help', 1)}'",
            )
        found = current.get_command(ctx, word)
        if found is None:
            raise UsageError(f"no command {word!r}", "run 'git codev help' to list them")
        ctx = click.Context(found, parent=ctx, info_name=word)
        current = found
    if as_json:
        from codev_git.messaging.render import dump_json

        group = current if isinstance(current, click.Group) else None
        names = group.list_commands(ctx) if group is not None else []
        rows = []
        for name in names or [ctx.info_name or "git codev"]:
            cmd = group.get_command(ctx, name) if group is not None else current
            assert cmd is not None
            row: dict[str, object] = {"name": name, "summary": cmd.get_short_help_str(100)}
            if isinstance(cmd, click.Group):
                row["subcommands"] = cmd.list_commands(ctx)
            rows.append(row)
        dump_json({"commands": rows})
        return
    click.echo(current.get_help(ctx))


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.option("--json", "as_json", is_flag=True, help="The script inside a JSON object.")
def completion_cmd(shell: str, as_json: bool) -> None:
    """Print a shell completion script (commands, options, architects, builders, threads).

    \b
    Examples:
      eval "$(git codev completion bash)"     # in ~/.bashrc, after git's completion
      git codev completion zsh > ~/.zfunc/_git-codev
      git codev completion fish > ~/.config/fish/completions/git-codev.fish
    """
    from click.shell_completion import get_completion_class

    from codev_git.cli import cli

    cls = get_completion_class(shell)
    assert cls is not None
    script = cls(cli, {}, "git-codev", "_GIT_CODEV_COMPLETE").source()
    if shell == "bash":
        script += "\n" + BASH_GIT
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"shell": shell, "script": script})
        return
    click.echo(script)
