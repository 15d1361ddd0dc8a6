"""The hermetic seal shared by the tests (tests/conftest.py) and the benchmark: a temporary
HOME with a known identity, no system or user git config, no CODEV_/GIT_ variables leaking in.
Call :func:`seal` before pygit2 is imported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

GITCONFIG = (
    "[user]\n\tname = {name}\n\temail = {email}\n"
    "[init]\n\tdefaultBranch = main\n"
    '[protocol "file"]\n\tallow = always\n'
    "[advice]\n\tdetachedHead = false\n"
)


def seal(
    root: Path,
    *,
    name: str = "Bench Architect",
    email: str = "bench@example.invalid",
    keep: frozenset[str] = frozenset(),
) -> Path:
    """Point git, libgit2 and every child process at a fresh HOME under ``root``; the
    variables in ``keep`` survive (e.g. CODEV_STRESS, which is a switch, not an identity)."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(GITCONFIG.format(name=name, email=email))
    for name_ in list(os.environ):
        if name_ in keep:
            continue
        # PYTHONDONTWRITEBYTECODE would make every `git codev` recompile its modules, which an
        # installed package never does: let the warm-up runs cache the bytecode.
        if name_.startswith(("GIT_", "CODEV_")) or name_ in {
            "NO_COLOR",
            "PYTHONDONTWRITEBYTECODE",
        }:
            del os.environ[name_]
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
