"""``status --watch``: the status table redrawn in place on a terminal.

It redraws when a ref changes (the ref watcher of ``inbox --follow``) and at least every
``interval`` seconds, on the terminal's alternate screen like ``watch(1)``; Ctrl-C leaves the
last table on the normal screen and exits 0.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import sys
import time
from collections.abc import Callable

from codev_git.store import Store

HOME, CLEAR_LINE, CLEAR_BELOW = "\x1b[H", "\x1b[K", "\x1b[J"
ENTER, LEAVE = "\x1b[?1049h\x1b[?25l", "\x1b[?25h\x1b[?1049l"


class _Screen(io.StringIO):
    """Captures a frame and lets colour through, as on the terminal it is shown on."""

    def isatty(self) -> bool:
        return True


def capture(draw: Callable[[], None]) -> str:
    buffer = _Screen()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        draw()
    return buffer.getvalue()


def fit(text: str, columns: int, rows: int) -> list[str]:
    """At most ``rows`` lines; lines without escapes cut to ``columns`` (coloured lines are
    short status rows and are left whole rather than cut inside an escape)."""
    lines = text.rstrip("\n").split("\n")[:rows]
    return [line if "\x1b" in line else line[:columns] for line in lines]


def watch(
    draw: Callable[[], None], wait: Callable[[float], None], interval: float, title: str
) -> None:
    out = sys.stdout
    frame = ""
    signal.signal(signal.SIGINT, _interrupted)
    out.write(ENTER)
    try:
        while True:
            columns, rows = shutil.get_terminal_size()
            stamp = time.strftime("%H:%M:%S")
            head = f"Every {interval:g}s and on change: {title}"
            head = head[: max(0, columns - len(stamp) - 1)].ljust(columns - len(stamp) - 1)
            frame = capture(draw)
            lines = [f"{head} {stamp}", "", *fit(frame, columns, rows - 3)]
            out.write(HOME + "".join(line + CLEAR_LINE + "\n" for line in lines) + CLEAR_BELOW)
            out.flush()
            wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        out.write(LEAVE)
        out.write(frame)
        out.flush()


def _interrupted(signum: int, frame: object) -> None:
    """The first Ctrl-C stops the loop; any later one (`git codev` passes Ctrl-C on to us a
    second time) is ignored, so the last table is always left on the screen."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def watch_status(store: Store, draw: Callable[[], None], interval: float) -> None:
    from codev_git.messaging.follow import RefWatcher
    from codev_git.web.live import watched_dirs

    watcher = RefWatcher(watched_dirs(store), poll_seconds=interval)
    try:
        watch(draw, watcher.wait, interval, "git codev status")
    finally:
        watcher.close()
