"""Installing the post-checkout hook where git runs it for every worktree.

The hook goes into ``core.hooksPath`` when that is set, else into the common git directory's
``hooks/`` (shared by all linked worktrees). The installed file is the template shipped in
``codev_git.hooks`` with the interpreter running this install pinned in it, and carries a
marker line so we only ever replace or remove our own file. A hook that was already there is
renamed ``post-checkout.codev-chained`` and run by ours first; uninstalling puts it back.
Installing twice changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from codev_git.errors import OperationalError
from codev_git.store import Store

HOOK_NAME = "post-checkout"
CHAINED_NAME = HOOK_NAME + ".codev-chained"
MARKER = "# git-codev post-checkout hook"
PYTHON_PLACEHOLDER = "@PYTHON@"
PYTHON_LINE = "CODEV_PYTHON="


@dataclass(frozen=True)
class HookPlace:
    """Where git looks for hooks in this repository, and why."""

    directory: Path
    source: str

    @property
    def hook(self) -> Path:
        return self.directory / HOOK_NAME

    @property
    def chained(self) -> Path:
        return self.directory / CHAINED_NAME


@dataclass(frozen=True)
class HookStatus:
    place: HookPlace
    installed: bool  # our hook is in place
    current: bool  # ... and is exactly what 'install' would write now
    interpreter: str | None  # pinned in the installed hook
    foreign: bool  # a hook that is not ours sits where ours would go

    @property
    def chained(self) -> Path | None:
        return self.place.chained if self.place.chained.exists() else None

    @property
    def interpreter_found(self) -> bool:
        return self.interpreter is not None and os.access(self.interpreter, os.X_OK)

    def as_json(self) -> dict[str, Any]:
        return {
            "hook": HOOK_NAME,
            "path": str(self.place.hook),
            "directory": str(self.place.directory),
            "source": self.place.source,
            "installed": self.installed,
            "current": self.current,
            "interpreter": self.interpreter,
            "interpreterFound": self.interpreter_found,
            "chained": str(self.chained) if self.chained else None,
            "foreign": self.foreign,
        }


def hook_place(store: Store) -> HookPlace:
    configured = store.config_get("core.hooksPath")
    if configured:
        path = Path(os.path.expanduser(configured))
        if not path.is_absolute():  # git runs hooks from the worktree root (git dir if bare)
            path = (store.workdir or store.git_dir) / path
        return HookPlace(path, "core.hooksPath")
    return HookPlace(store.common_dir / "hooks", "the common git directory")


def render(python: str) -> str:
    template = resources.files("codev_git.hooks").joinpath(HOOK_NAME).read_text("utf-8")
    return template.replace(PYTHON_PLACEHOLDER, shlex.quote(python), 1)


def is_ours(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return any(line.startswith(MARKER) for line in head.splitlines()[:3])


def pinned_interpreter(path: Path) -> str | None:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(PYTHON_LINE):
            words = shlex.split(line[len(PYTHON_LINE) :])
            return words[0] if words else None
    return None


def hook_status(store: Store, python: str | None = None) -> HookStatus:
    place = hook_place(store)
    ours = is_ours(place.hook)
    current = False
    if ours:
        with contextlib.suppress(OSError):
            current = place.hook.read_text("utf-8") == render(python or sys.executable)
    return HookStatus(
        place=place,
        installed=ours,
        current=current,
        interpreter=pinned_interpreter(place.hook) if ours else None,
        foreign=not ours and os.path.lexists(place.hook),
    )


def install(store: Store, python: str | None = None) -> list[str]:
    """Install (or refresh) the hook; returns what changed, empty when nothing did."""
    from codev_git.worktree.owned_cache import refresh

    refresh(store)  # the list of owned branches the hook reads, for records already here
    interpreter = python or sys.executable
    state = hook_status(store, interpreter)
    place = state.place
    if state.current:
        return []
    changes: list[str] = []
    try:
        place.directory.mkdir(parents=True, exist_ok=True)
        if state.foreign:
            if os.path.lexists(place.chained):
                raise OperationalError(
                    f"{place.hook} is not git codev's and {place.chained} exists too",
                    "merge the two hooks by hand, then run 'git codev hooks install' again",
                )
            os.replace(place.hook, place.chained)
            changes.append(f"kept the existing hook as {place.chained} (it still runs first)")
        _write_executable(place.hook, render(interpreter))
    except OSError as exc:
        raise OperationalError(
            f"cannot install {place.hook}: {exc.strerror or exc}",
            f"check that {place.directory} is writable",
        ) from exc
    verb = "updated" if state.installed else "installed"
    changes.append(f"{verb} {place.hook} ({place.source}; interpreter {interpreter})")
    return changes


def uninstall(store: Store) -> list[str]:
    """Remove our hook and put back the one it chained; returns what changed."""
    place = hook_place(store)
    changes: list[str] = []
    ours = is_ours(place.hook)
    try:
        if ours:
            place.hook.unlink()
            changes.append(f"removed {place.hook}")
        if os.path.lexists(place.chained) and not os.path.lexists(place.hook):
            os.replace(place.chained, place.hook)
            changes.append(f"restored the earlier hook {place.hook}")
    except OSError as exc:
        raise OperationalError(
            f"cannot uninstall {place.hook}: {exc.strerror or exc}",
            f"check that {place.directory} is writable",
        ) from exc
    return changes


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
