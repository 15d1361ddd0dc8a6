"""The command table itself: every listed command loads, and a broken entry is a bug, not
"no such command"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codev_git import cli
from tests.helpers import run_inprocess


def test_every_listed_command_loads() -> None:
    import click

    ctx = click.Context(cli.cli)
    assert cli.cli.list_commands(ctx) == sorted(cli.COMMANDS)


def test_a_command_whose_module_is_missing_is_reported_as_a_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "ghost", "codev_git.commands.no_such_module:ghost_cmd")
    result = run_inprocess(tmp_path, ["ghost"])
    assert result.code == 1
    assert "internal error (ModuleNotFoundError" in result.err
    assert "No such command" not in result.err


def test_a_usage_error_from_the_parser_is_one_clean_sentence(tmp_path: Path) -> None:
    # click ends its messages with a full stop; joined to the hint it read "x>=1.; see ..."
    for args in (["inbox", "--limit", "0"], ["nosuch"], ["status", "--bogus"]):
        result = run_inprocess(tmp_path, args)
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1
        assert ".;" not in result.err and "; see 'git codev" in result.err, result.err


def test_a_group_without_a_subcommand_prints_its_help(tmp_path: Path) -> None:
    # it was squashed into one stderr line ("git-codev: Usage: ... Commands: ...") with exit 2
    for args in ([], ["agent"], ["hooks"], ["architect"], ["thread"]):
        result = run_inprocess(tmp_path, args)
        assert result.code == 0 and result.err == "", (args, result.err[:200])
        assert result.out.startswith("Usage: git codev") and "\nCommands:\n" in result.out, args


def test_an_error_that_echoes_an_argument_escapes_it(tmp_path: Path) -> None:
    # click's own messages quote the argument as given: an escape sequence reached the
    # terminal, and an undecodable byte made --json output that is not UTF-8
    for bad in ("a\x1b[31mRED", "\udcff"):
        text = run_inprocess(tmp_path, ["status", bad])
        assert text.code == 2 and "\x1b" not in text.err and "\ufffd" not in text.err
        assert "\\e[31m" in text.err or "\\xff" in text.err, text.err
        machine = run_inprocess(tmp_path, ["status", bad, "--json"])
        assert machine.code == 2 and "\ufffd" not in machine.out, machine.out  # valid UTF-8
        error = json.loads(machine.out)["error"]
        assert "\x1b" not in error["message"] and "\udcff" not in error["message"]
