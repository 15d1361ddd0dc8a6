"""A hermetic seal for every test: temporary HOME, fixed identity, no system config.

The environment is set before pygit2 is imported so that libgit2 reads no real config.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="codev-test-home-"))
for _name in list(os.environ):
    if _name == "CODEV_STRESS":
        continue  # `make stress` asks for heavier runs; it is not an identity
    if _name.startswith(("GIT_", "CODEV_")) or _name in {"NO_COLOR"}:
        del os.environ[_name]
os.environ.update(
    HOME=str(_HOME),
    XDG_CONFIG_HOME=str(_HOME / ".config"),
    GIT_CONFIG_NOSYSTEM="1",
    GIT_TERMINAL_PROMPT="0",
    GIT_EDITOR="false",
    GIT_PAGER="cat",
    LC_ALL="C.UTF-8",
    TZ="UTC",
)
(_HOME / ".gitconfig").write_text(
    "[user]\n\tname = Test Architect\n\temail = test@example.invalid\n"
    "[init]\n\tdefaultBranch = main\n"
    '[protocol "file"]\n\tallow = always\n'
    "[advice]\n\tdetachedHead = false\n"
)

import pygit2  # noqa: E402
import pytest  # noqa: E402

pygit2.settings.search_path[pygit2.enums.ConfigLevel.SYSTEM] = str(_HOME / "no-system")
pygit2.settings.search_path[pygit2.enums.ConfigLevel.GLOBAL] = str(_HOME)
pygit2.settings.search_path[pygit2.enums.ConfigLevel.XDG] = str(_HOME / ".config")

from tests.helpers import Sandbox, git  # noqa: E402


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """A fresh repository with one commit on main, initialised with `git codev init`."""
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    (root / "README").write_text("hello\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "initial")
    box = Sandbox(root)
    box.ok("init")
    return box
