"""The ``.thread`` file at a worktree's root: which thread, architect and builder it serves.

The post-checkout hook writes it from the ownership record of the checked-out branch::

    checkout-v2
    architect: payments
    builder: builder-spir-1481
    branch: builder/spir-1481
    # git-codev: written by the post-checkout hook

The first line is the thread name (empty when the builder has none). The last line marks the
file as ours: the hook only ever replaces or removes a file carrying it. A person may write a
``.thread`` by hand (just a thread name is enough); the hook leaves such a file alone.

This module must stay cheap to import: the hook loads it on every checkout.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from codev_git.store.files import replace_file

FILE_NAME = ".thread"
MARKER = "# git-codev: written by the post-checkout hook"
MAX_BYTES = 64 * 1024  # a real tag is a few lines


@dataclass(frozen=True)
class ThreadFile:
    thread: str | None
    architect: str | None = None
    builder: str | None = None
    branch: str | None = None  # short branch name the hook wrote it for
    ours: bool = False  # written by the hook (carries MARKER)

    def text(self) -> str:
        lines = [self.thread or ""]
        for key in ("architect", "builder", "branch"):
            value = getattr(self, key)
            if value:
                lines.append(f"{key}: {value}")
        lines.append(MARKER)
        return "\n".join(lines) + "\n"


def parse(text: str) -> ThreadFile:
    """Read a ``.thread`` file: a thread-name line, then optional ``key: value`` lines."""
    lines = text.splitlines()
    thread = lines[0].strip() if lines else ""
    fields: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[key.strip().lower()] = value.strip()
    return ThreadFile(
        thread=thread or None,
        architect=fields.get("architect") or None,
        builder=fields.get("builder") or None,
        branch=fields.get("branch") or None,
        ours=MARKER in (line.strip() for line in lines),
    )


def read(worktree: Path) -> ThreadFile | None:
    """The tag, from its first ``MAX_BYTES`` (a hand-made or committed ``.thread`` may be
    anything: a symlink to ``/dev/zero`` never ends)."""
    try:
        with (worktree / FILE_NAME).open("rb") as handle:
            data = handle.read(MAX_BYTES)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return parse(data.decode("utf-8", errors="replace"))


def write_ours(worktree: Path, wanted: ThreadFile) -> str:
    """Write ``wanted`` unless a hand-written file is there. Returns what happened."""
    path = worktree / FILE_NAME
    current = read(worktree)
    if current is not None and not current.ours:
        return "kept-foreign"
    text = wanted.text()
    if current is not None and (worktree / FILE_NAME).read_text(errors="replace") == text:
        return "unchanged"
    replace_file(path, text)
    return "written"


def remove_ours(worktree: Path) -> str:
    """Remove ``.thread`` only if the hook wrote it. Returns what happened."""
    current = read(worktree)
    if current is None:
        return "absent"
    if not current.ours:
        return "kept-foreign"
    with contextlib.suppress(FileNotFoundError):
        (worktree / FILE_NAME).unlink()
    return "removed"
