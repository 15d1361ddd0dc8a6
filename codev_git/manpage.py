"""The git-codev(1) man page, generated from the same click definitions as --help.

``git codev --help`` is answered by git itself with ``man git-codev``; the page ships in
``man/git-codev.1`` (installed to ``share/man/man1``) and a test checks it is current.
Regenerate it with ``make man``.
"""

from __future__ import annotations

import click

from codev_git import __version__

SEE_ALSO = "git(1), git-notes(1), git-worktree(1), githooks(5)"


def _esc(text: str) -> str:
    out = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in out.splitlines():
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _paragraphs(help_text: str) -> str:
    """Click's help text (with \\b no-rewrap blocks) as roff."""
    parts: list[str] = []
    for block in help_text.strip().split("\n\n"):
        lines = block.splitlines()
        if lines and lines[0].strip() == "\b":
            parts.append(".PP\n.nf\n" + _esc("\n".join(lines[1:])) + "\n.fi")
        else:
            parts.append(".PP\n" + _esc(" ".join(line.strip() for line in lines)))
    return "\n".join(parts)


def _command_section(path: str, command: click.Command, ctx: click.Context) -> list[str]:
    out = [f'.SS "{_esc(path)}"']
    usage = " ".join(command.collect_usage_pieces(ctx))
    out.append(f".B {_esc(path)}\n{_esc(usage)}")
    out.append(_paragraphs(command.help or ""))
    options = [p for p in command.get_params(ctx) if isinstance(p, click.Option)]
    for opt in options:
        record = opt.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        out.append(f".TP\n.B {_esc(names)}\n{_esc(text)}")
    return out


def _settings_sections() -> list[str]:
    """CONFIGURATION, ENVIRONMENT and FILES, from :mod:`codev_git.config`."""
    from codev_git import config

    lines = [".SH CONFIGURATION"]
    for key in config.KEYS:
        default = f" (default: {key.default})" if key.default is not None else ""
        lines.append(f".TP\n.B {_esc(key.name)}\n{_esc(f'{key.type}{default}. {key.doc}')}")
    lines.append(".SH ENVIRONMENT")
    for var in config.ENVIRONMENT:
        lines.append(f".TP\n.B {_esc(var.name)}\n{_esc(var.doc)}")
    lines.append(".SH FILES")
    for path, doc in config.FILES:
        lines.append(f".TP\n.I {_esc(path)}\n{_esc(doc)}")
    return lines


def render(group: click.Group) -> str:
    ctx = click.Context(group, info_name="git codev", **group.context_settings)
    lines = [
        f'.TH GIT-CODEV 1 "" "git-codev {__version__}" "Git Manual"',
        ".SH NAME",
        "git\\-codev \\- several architect agents sharing one repository",
        ".SH SYNOPSIS",
        ".B git codev\n[\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        _paragraphs(group.help or ""),
        ".SH COMMANDS",
    ]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        sub_ctx = click.Context(command, parent=ctx, info_name=name)
        lines += _command_section(f"git codev {name}", command, sub_ctx)
        if isinstance(command, click.Group):
            for sub_name in command.list_commands(sub_ctx):
                sub = command.get_command(sub_ctx, sub_name)
                if sub is not None:
                    leaf_ctx = click.Context(sub, parent=sub_ctx, info_name=sub_name)
                    lines += _command_section(f"git codev {name} {sub_name}", sub, leaf_ctx)
    lines += [
        ".SH EXIT STATUS",
        ".PP\n0 success; 1 operational failure; 2 bad input (nothing written); 130 interrupted.",
        *_settings_sections(),
        ".SH SEE ALSO",
        SEE_ALSO,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    from codev_git.cli import cli

    click.echo(render(cli), nl=False)


if __name__ == "__main__":
    main()
