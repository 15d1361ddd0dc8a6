"""Codev porch's files in a worktree: project directories ``codev/projects/<id>-<slug>/`` and
the ``phase:`` of their ``status.yaml``. Imports nothing of ours: ``status`` reads a phase
per builder without loading the context resolver."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

PROJECTS_DIR = Path("codev") / "projects"

# the project directories directly under one root (see :func:`projects_in`)
ProjectsIn = Callable[[Path], list[Path]]
STATUS_MAX = 64 * 1024  # porch's status.yaml is a few dozen lines


def project_number(directory: Path) -> int | None:
    head = directory.name.split("-", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else None


def projects_in(root: Path) -> list[Path]:
    """The project directories under ``root``'s ``codev/projects/``, sorted."""
    try:
        entries = sorted((root / PROJECTS_DIR).iterdir())
    except OSError:
        return []
    return [entry for entry in entries if entry.is_dir() and project_number(entry) is not None]


def project_dirs(roots: Iterable[Path | None], listed: ProjectsIn = projects_in) -> list[Path]:
    """Project directories on disk under ``roots``; a name found under an earlier root hides
    the same name under a later one."""
    seen: dict[str, Path] = {}
    for root in roots:
        if root is None:
            continue
        for entry in listed(root):
            seen.setdefault(entry.name, entry)
    return list(seen.values())


def porch_phase(
    roots: Iterable[Path | None], issue: int | None, listed: ProjectsIn = projects_in
) -> str | None:
    """The ``phase:`` of ``codev/projects/<issue>-<slug>/status.yaml`` under the first root
    that has it, else None."""
    if issue is None:
        return None
    for directory in project_dirs(roots, listed):
        if project_number(directory) != issue:
            continue
        try:  # a bounded prefix: committed data, it may be a symlink to a file that never ends
            with (directory / "status.yaml").open("rb") as handle:
                text = handle.read(STATUS_MAX).decode("utf-8", "replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key == "phase":
                value = value.split(" #", 1)[0].strip().strip("'\"")
                return value[:64] or None
    return None


class PorchPhases:
    """:func:`porch_phase` for many builders (their worktree, then the main one): each
    root's projects are listed once, not once per builder."""

    def __init__(self, main_workdir: Path | None) -> None:
        self.main_workdir = main_workdir
        self._listed: ProjectsIn = functools.cache(projects_in)

    def __call__(self, worktree: Path | None, issue: int | None) -> str | None:
        return porch_phase((worktree, self.main_workdir), issue, self._listed)
