"""The one clock. Every time the program records (ownership events, messages, thread files)
comes from :func:`now`, and every time it shows is formatted here, as ISO-8601 UTC.

``CODEV_NOW`` (seconds since the epoch, or an ISO-8601 UTC time) fixes the clock: tests and
reproducible demos use it. Order never depends on this clock: messages are ordered by their
parents, ownership events by their own causal order.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

ENV_NOW = "CODEV_NOW"


def now() -> float:
    """Seconds since the epoch: the fixed ``CODEV_NOW`` when set, else the system clock."""
    fixed = os.environ.get(ENV_NOW)
    if fixed:
        parsed = parse(fixed)
        if parsed is not None:
            return parsed
    return time.time()


def iso(epoch: float, *, micro: bool = False) -> str:
    """``2026-11-24T17:00:00Z`` (or with microseconds, for records that must sort finely)."""
    stamp = datetime.fromtimestamp(epoch, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def now_iso(*, micro: bool = True) -> str:
    return iso(now(), micro=micro)


def iso_seconds(stamp: str) -> str:
    """``2026-11-24T17:00:00.123456Z`` -> ``2026-11-24T17:00:00Z``."""
    return stamp.split(".")[0] + "Z" if "." in stamp else stamp


def parse(text: str) -> float | None:
    """Seconds since the epoch from a number or an ISO-8601 time (``Z`` or an offset)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()
