"""A hermetic seal for every test: temporary HOME, fixed identity, no system config.

The environment is set before pygit2 is imported so that libgit2 reads no real config.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.env import seal

_HOME = seal(
    Path(tempfile.mkdtemp(prefix="codev-test-")),
    name="Test Architect",
    email="test@example.invalid",
    keep=frozenset({"CODEV_STRESS"}),  # `make stress` asks for heavier runs
)

import pytest  # noqa: E402

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
