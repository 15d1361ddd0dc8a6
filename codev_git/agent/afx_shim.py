"""An ``afx`` wrapper for builders spawned by afx: their ``afx send architect ...`` goes
through ``git codev send`` (so it reaches the architect that owns them, in git), and every
other afx command goes to the real afx unchanged.

The wrapper lives in ``<common git dir>/codev/bin/afx``; a builder gets it by putting that
directory first on its PATH. It asks ``git codev agent afx-send`` to handle a send; exit 3
from that means "not a builder worktree here", and the real afx (the next ``afx`` on PATH
that is not this wrapper) runs instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from codev_git.store import Store

NOT_HERE = 3  # afx-send: not a builder worktree with a record; let the real afx do it

SHIM = r"""#!/bin/sh
# git codev's afx wrapper (git codev agent install afx-shim): from a builder worktree,
# 'afx send architect ...' and 'afx send architect:NAME ...' become 'git codev send';
# every other afx command goes to the real afx unchanged.
if [ "$1" = send ]; then
  case "$2" in
    [Aa][Rr][Cc][Hh]|[Aa][Rr][Cc][Hh][Ii][Tt][Ee][Cc][Tt]|[Aa][Rr][Cc][Hh][Ii][Tt][Ee][Cc][Tt]:*)
      git codev agent afx-send "$@"
      rc=$?
      [ "$rc" -ne 3 ] && exit "$rc"
      ;;
  esac
fi
self_dir=$(cd "$(dirname "$0")" && pwd -P)
old_ifs=$IFS
IFS=:
for dir in $PATH; do
  [ -n "$dir" ] || continue
  real=$(cd "$dir" 2>/dev/null && pwd -P) || continue
  if [ "$real" != "$self_dir" ] && [ -x "$dir/afx" ]; then
    IFS=$old_ifs
    exec "$dir/afx" "$@"
  fi
done
IFS=$old_ifs
echo "afx: the real afx is not on PATH (git codev's afx wrapper is in $self_dir)" >&2
exit 127
"""


def shim_path(store: Store) -> Path:
    return store.common_dir / "codev" / "bin" / "afx"


def install_shim(store: Store) -> tuple[Path, bool]:
    path = shim_path(store)
    if path.exists() and path.read_text() == SHIM and os.access(path, os.X_OK):
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".afx.{os.getpid()}")
    tmp.write_text(SHIM)
    tmp.chmod(0o755)
    os.replace(tmp, path)
    return path, True


def uninstall_shim(store: Store) -> tuple[Path, bool]:
    """Remove the wrapper ``install_shim`` wrote; a file that is not it is left alone."""
    from codev_git.errors import OperationalError

    path = shim_path(store)
    if not path.exists():
        return path, False
    if path.read_text(errors="replace") != SHIM:
        raise OperationalError(
            f"{path} is not git codev's afx wrapper (it was changed or written by someone else)",
            "remove it yourself if it is yours to remove",
        )
    path.unlink()
    return path, True


def send_from_builder(args: list[str]) -> tuple[int, str | None]:
    """``args`` as given to afx: ``send TARGET [MESSAGE|-] [--file F] [afx-only flags]``.
    Returns (exit code, what to say): NOT_HERE when this is not a builder worktree."""
    from codev_git.errors import CodevError
    from codev_git.ownership.identity import builder_here
    from codev_git.ownership.records import OwnerBook

    try:
        store = Store.discover()
        book = OwnerBook(store)
        me = builder_here(store, book)
    except CodevError:
        return NOT_HERE, None
    if me is None or len(args) < 2:
        return NOT_HERE, None
    target = args[1]
    name = target.partition(":")[2]
    if name and name != me.architect:
        return 2, f"afx: {me.name} may only write to its own architect ({me.architect}), not {name}"
    message: str | None = None
    attach: str | None = None
    rest = args[2:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--file" and i + 1 < len(rest):
            attach = rest[i + 1]
            i += 2
            continue
        if arg == "--delay" and i + 1 < len(rest):
            i += 2  # terminal-delivery controls mean nothing for a message in git
            continue
        if arg.startswith("--"):
            i += 1
            continue
        if message is None:
            message = arg
        i += 1
    if message is None or message == "-":
        body = sys.stdin.buffer.read()
    else:
        body = message.encode("utf-8", "surrogateescape")
    if attach is not None:
        try:
            body += b"\n\n" + Path(attach).read_bytes()
        except OSError as exc:
            return 2, f"afx: cannot read {attach}: {exc.strerror}"
    from codev_git.messaging.message import send

    sent = send(store, me, "architect", body, book=book)
    return 0, f"sent {sent.id[:12]} to {sent.to} (from {me.address}, through git codev)"
