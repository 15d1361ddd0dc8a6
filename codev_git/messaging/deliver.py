"""Handing messages to a reader: a read cursor moves only past what was fully delivered.

:func:`write_each` writes one chunk per message to a binary stream and flushes after each, so
the caller knows exactly how many reached the other end (a file, a pipe, a terminal). A write
error — a closed pipe (EPIPE), a full disk (ENOSPC), anything else — stops it; the caller
marks read only the messages before that point and reports the rest as still unread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from codev_git.errors import OperationalError


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back until the block is done (then they act)."""
    import signal

    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@dataclass(frozen=True)
class Delivered:
    """How many chunks were written and flushed completely, and the error that stopped it."""

    count: int
    error: OSError | None = None


def write_each(chunks: Iterable[bytes], stream: BinaryIO | None = None) -> Delivered:
    """Write and flush each chunk in turn; stop at the first write error."""
    text: TextIO | None = None
    if stream is None:
        sys.stdout.flush()  # anything already printed through the text layer goes first
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:  # an in-memory text stream (a caller capturing the output)
            text = sys.stdout
    count = 0
    for chunk in chunks:
        try:
            if text is not None:
                text.write(chunk.decode("utf-8", "surrogateescape"))
                text.flush()
            else:
                assert stream is not None
                stream.write(chunk)
                stream.flush()
        except OSError as exc:
            return Delivered(count, exc)
        count += 1
    return Delivered(count)


def output_error(delivered: Delivered, total: int, *, marked: bool = True) -> OperationalError:
    """The one line for output that could not be written; stdout is silenced so that the
    interpreter's own flush at exit does not add a second complaint."""
    exc = delivered.error
    assert exc is not None
    silence_stdout()
    reason = _reason(exc)
    rest = total - delivered.count
    kept = (
        f"the {rest} not written stay{'s' if rest == 1 else ''} unread"
        if marked
        else "nothing was marked read"
    )
    return OperationalError(
        f"could not write to standard output ({reason}) after {delivered.count} of {total} "
        f"message{'' if total == 1 else 's'}; {kept}",
        _hint(exc),
    )


def feed_error(exc: OSError) -> OperationalError:
    """The one line for a live feed (``inbox --follow``) whose output cannot be written."""
    silence_stdout()
    return OperationalError(
        f"could not write to standard output ({_reason(exc)}); "
        "the messages not written stay unread",
        _hint(exc),
    )


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EPIPE:
        return "the reader closed the pipe"
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or type(exc).__name__


def _hint(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "free some space or write elsewhere, then run it again"
    if exc.errno == errno.EPIPE:
        return "run it again, letting the reader take all of its output (or use --limit N)"
    return "fix the output and run it again"


def silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    with contextlib.suppress(OSError):  # drop whatever the text layer still holds
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
