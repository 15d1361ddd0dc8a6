"""A hermetic seal for the benchmark, like tests/conftest.py: temporary HOME with a known
identity, no system or user git config. Call :func:`seal` before pygit2 is imported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

GITCONFIG = (
    "[user]\n\tname = Bench Architect\n\temail = bench@example.invalid\n"
    "[init]\n\tdefaultBranch = main\n"
    '[protocol "file"]\n\tallow = always\n'
    "[advice]\n\tdetachedHead = false\n"
)


def seal(root: Path) -> Path:
    """Point git, libgit2 and every child process at a fresh HOME under ``root``."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(GITCONFIG)
    for name in list(os.environ):
        # PYTHONDONTWRITEBYTECODE would make every `git codev` recompile its modules, which an
        # installed package never does: let the warm-up runs cache the bytecode.
        if name.startswith(("GIT_", "CODEV_")) or name in {"NO_COLOR", "PYTHONDONTWRITEBYTECODE"}:
            del os.environ[name]
    venv_bin = str(Path(sys.executable).parent)
    os.environ.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_EDITOR="false",
        GIT_PAGER="cat",
        LC_ALL="C.UTF-8",
        TZ="UTC",
        PATH=venv_bin + os.pathsep + os.environ.get("PATH", ""),
    )
    import pygit2

    levels = pygit2.enums.ConfigLevel
    pygit2.settings.search_path[levels.SYSTEM] = str(home / "no-system")
    pygit2.settings.search_path[levels.GLOBAL] = str(home)
    pygit2.settings.search_path[levels.XDG] = str(home / ".config")
    return home
