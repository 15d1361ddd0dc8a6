"""The hermetic seal, an autouse fixture: every test runs with its own temporary HOME and a
known git identity, no system or user git config, no CODEV_/GIT_ variables from outside, and
gets the environment it started with back afterwards. pytest removes the temporary
directories of passing tests (``tmp_path_retention_policy = "failed"``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.env import seal
from tests.helpers import Sandbox, new_sandbox

KEEP = frozenset({"CODEV_STRESS"})  # `make stress` asks for heavier runs


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    saved = dict(os.environ)
    home = seal(
        tmp_path_factory.mktemp("hermetic"),
        name="Test Architect",
        email="test@example.invalid",
        keep=KEEP,
    )
    try:
        yield home
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """A fresh repository with one commit on main, initialised with `git codev init`."""
    return new_sandbox(tmp_path / "repo")


@pytest.fixture
def fixed_dates() -> Iterator[None]:
    """Commit and record times fixed (git's GIT_AUTHOR_DATE/GIT_COMMITTER_DATE and the
    program's own clock, CODEV_NOW), for tests whose output must not depend on when they
    run. Order never depends on them: messages are ordered by their parents."""
    stamp = "2026-11-24T17:00:00Z"
    os.environ.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp, CODEV_NOW=stamp)
    yield
