"""The modules whose rows `make bench` measures, in table order. Each module exposes
``ROWS: dict[str, Callable[[Bench], Row]]``; registering one is a one-line edit here."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bench.rows import Bench
from bench.timing import Row

MODULES = (
    "bench.rows",  # send, append, inbox, status, whoami, worktree hook, sync, bytes
    "bench.scale",  # deep history, 1,000 builders, huge inbox, 1,000 architects
    "bench.checkout_cost",  # the post-checkout hook on checkouts that are not ours
)


def all_rows() -> dict[str, Callable[[Bench], Row]]:
    rows: dict[str, Callable[[Bench], Row]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for key, measure in module.ROWS.items():
            if key in rows:
                raise ValueError(f"bench row {key!r} of {name} is already registered")
            rows[key] = measure
    return rows
