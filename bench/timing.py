"""Measuring: wall-clock timers, operation and floor interleaved, medians, one row each."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

TIMES = "\u00d7"  # the multiplication sign


class BenchError(Exception):
    """A fixture or a measured command failed: the numbers would mean nothing."""


@dataclass
class Row:
    """One line of the table: an operation, its floor measured in the same run, a target.

    ``limit`` is a ratio against the floor when there is a floor, else an absolute bound in
    the row's unit; None means the row is only reported."""

    key: str
    operation: str
    limit: float | None
    floor_name: str = ""
    unit: Literal["s", "B"] = "s"
    values: list[float] = field(default_factory=list)
    floor_values: list[float] = field(default_factory=list)
    note: str = ""
    samples: int | None = None  # when ``values`` holds medians measured elsewhere

    @property
    def target(self) -> str:
        if self.limit is None:
            return "report"
        if self.floor_name:
            return f"≤ {self.limit:g}{TIMES}"
        return f"≤ {self.limit:g} {self.unit}"

    @property
    def measured(self) -> bool:
        return bool(self.values)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def floor(self) -> float | None:
        return statistics.median(self.floor_values) if self.floor_values else None

    @property
    def ratio(self) -> float | None:
        median, floor = self.median, self.floor
        if median is None or floor is None or floor <= 0:
            return None
        return median / floor

    @property
    def ok(self) -> bool | None:
        if self.limit is None or self.median is None:
            return None
        if self.floor_name:
            return self.ratio is not None and self.ratio <= self.limit
        return self.median <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "operation": self.operation,
            "unit": self.unit,
            "measured": self.measured,
            "median": self.median,
            "p90": _quantile(self.values, 0.9),
            "samples": self.samples if self.samples is not None else len(self.values),
            "floorName": self.floor_name or None,
            "floor": self.floor,
            "floorSamples": self.samples if self.samples is not None else len(self.floor_values),
            "ratio": self.ratio,
            "target": self.target,
            "limit": self.limit,
            "ok": self.ok,
            "note": self.note or None,
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run a command to completion and return its wall time; a failure is a BenchError."""
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {err[-1] if err else ''}")
    return elapsed


def interleaved(
    op: Callable[[], float], floor: Callable[[], float], runs: int, warmup: int = 2
) -> tuple[list[float], list[float]]:
    """``runs`` timings of each, alternating which goes first so drift hits both alike.

    Each callable returns the seconds it measured (so set-up it does is not counted)."""
    for _ in range(warmup):
        op()
        floor()
    ops: list[float] = []
    floors: list[float] = []
    for i in range(runs):
        if i % 2:
            ops.append(op())
            floors.append(floor())
        else:
            floors.append(floor())
            ops.append(op())
    return ops, floors


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start
