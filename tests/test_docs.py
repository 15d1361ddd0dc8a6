"""Help, man page and completion come from one source and stay current."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from codev_git.cli import cli
from codev_git.manpage import render
from tests.helpers import Sandbox, run_subprocess

ROOT = Path(__file__).resolve().parent.parent


def test_man_page_is_current() -> None:
    shipped = (ROOT / "man" / "git-codev.1").read_text()
    assert shipped == render(cli), "man/git-codev.1 is stale: run `make man`"
    for name in ("send", "inbox", "spawn", "status", "whoami"):
        assert f'.SS "git codev {name}"' in shipped


def test_git_codev_help_opens_the_man_page(sandbox: Sandbox, tmp_path: Path) -> None:
    assert shutil.which("man"), "man is needed for `git codev --help` (make installs man-db)"
    # the page as shipped, where man looks for it: no install step of any kind is assumed
    pages = tmp_path / "man" / "man1"
    pages.mkdir(parents=True)
    shutil.copy(ROOT / "man" / "git-codev.1", pages / "git-codev.1")
    env = {"MANPAGER": "cat", "PAGER": "cat", "MANPATH": str(tmp_path / "man")}
    result = run_subprocess(sandbox.root, ["--help"], env)
    assert result.code == 0, result.err
    assert "git-codev" in result.out and "inbox" in result.out


def test_help_command_and_unknown_command(sandbox: Sandbox) -> None:
    assert "TARGET" in sandbox.ok("help", "send").out
    assert "Commands:" in sandbox.ok("help").out
    bad = sandbox.run("help", "nope")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1
    unknown = sandbox.run("frobnicate")
    assert unknown.code == 2 and "frobnicate" in unknown.err
    # 'help CMD' is the same text as 'CMD -h' (-h listed, same width)
    for words in (["send"], ["thread", "new"], []):
        assert sandbox.ok("help", *words).out == sandbox.ok(*words, "-h").out, words
    extra = sandbox.run("help", "send", "foo")
    assert extra.code == 2 and "; " in extra.err and "git codev help send" in extra.err


def test_bash_completion_under_git(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("spawn", "1481", "--protocol", "spir", "--architect", "payments", as_="main")
    script = sandbox.ok("completion", "bash").out

    def complete(word: str, *before: str) -> list[str]:
        words = " ".join(f'"{w}"' for w in ("git", "codev", *before, word))
        text = script + (
            f"\nCOMP_WORDS=({words}); COMP_CWORD={len(before) + 2}; _git_codev; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        out = subprocess.run(
            ["bash", "-c", text],
            cwd=sandbox.root,
            capture_output=True,
            text=True,
            env={**os.environ},
            check=True,
        )
        return out.stdout.split()

    assert "inbox" in complete("in")
    assert {"main", "payments"} <= set(complete("", "status", "--architect"))
    assert "builder-spir-1487" in complete("builder-", "send")
    for shell in ("zsh", "fish"):
        assert "git-codev" in sandbox.ok("completion", shell).out


def _on_a_tty(cwd: Path, args: list[str], env: dict[str, str]) -> bytes:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        ["git", "codev", *args],
        cwd=cwd,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **env},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks)


def test_colour_only_on_a_tty_and_never_with_no_color(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    assert b"\x1b[" in _on_a_tty(sandbox.root, ["status"], {})
    assert b"\x1b[" not in _on_a_tty(sandbox.root, ["status"], {"NO_COLOR": "1"})
    piped = run_subprocess(sandbox.root, ["status"])
    assert "\x1b[" not in piped.out
    as_json = _on_a_tty(sandbox.root, ["status", "--json"], {})
    assert b"\x1b[" not in as_json
