"""The bench's output: a markdown table (README-ready) or JSON, from the same data."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from typing import Any

from bench.timing import TIMES

HEADER = (
    "| operation | median | floor (measured in the same run) | ratio | target | ok? |",
    "|---|---:|---|---:|---|---|",
)


def machine() -> dict[str, Any]:
    import pygit2

    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), "")
    except OSError:
        pass
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "git": git.stdout.strip().removeprefix("git version "),
        "pygit2": str(getattr(pygit2, "__version__", "?")),
        "libgit2": pygit2.LIBGIT2_VERSION,
        "executable": sys.executable,
    }


def amount(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "B":
        return f"{value:,.0f} B"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = list(HEADER)
    for row in rows:
        unit = row["unit"]
        if not row["measured"]:
            cells = [row["operation"], "not measured", row["floorName"] or "—", "—"]
            cells += [row["target"], row["note"] or ""]
        else:
            floor = "—"
            if row["floorName"]:
                floor = f"{amount(row['floor'], unit)} ({row['floorName']})"
            ratio = f"{row['ratio']:.2f}{TIMES}" if row["ratio"] is not None else "—"
            ok = {True: "yes", False: "**no**", None: "report"}[row["ok"]]
            cells = [row["operation"], amount(row["median"], unit), floor, ratio, row["target"]]
            cells.append(ok)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def notes(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"- {row['key']}: {row['note']}" for row in rows if row["measured"] and row["note"]]
    return [*lines, ""] if lines else []


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def disk_lines(disk: dict[str, Any]) -> list[str]:
    if not disk:
        return []
    return [
        f"On disk after {disk['messages']:,} sends (in-process `messages.append`, packing policy "
        f"on): `.git` {mb(disk['gitDirBytes'])} allocated ({mb(disk['gitDirApparentBytes'])} "
        f"apparent); objects {mb(disk['objectsBytes'])} in {disk['packs']} packs + "
        f"{disk['looseObjects']:,} loose; reflogs {mb(disk['reflogBytes'])}. "
        f"Appending took {disk['appendSeconds']:.1f} s "
        f"({disk['appendMicrosecondsEach']:.0f} µs a message, packing included; the slowest "
        f"single append{', one that packed,' if disk['packs'] else ''} took "
        f"{disk['slowestAppendSeconds'] * 1000:.0f} ms).",
    ]


def text(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores), {m['os']}; Python "
        f"{m['python']}, git {m['git']}, pygit2 {m['pygit2']} (libgit2 {m['libgit2']}).",
        f"Medians of {report['runs']} runs each; every floor is measured in the same run, "
        "interleaved with its operation.",
        "",
        *table(report["rows"]),
        "",
        *notes(report["rows"]),
        *disk_lines(report["disk"]),
    ]
    rated = [r for r in report["rows"] if r["ok"] is not None]
    met = sum(1 for r in rated if r["ok"])
    lines += ["", f"{met} of {len(rated)} targets met."]
    return "\n".join(lines)


def shapes(sizes: Any) -> list[str]:
    s = sizes
    return [
        "Shapes: a deep history of "
        f"{s.depth:,} commits on main built with `git fast-import`, {s.deep_builders:,} owned "
        f"builder branches forked ~{s.behind:,} commits behind it (every 7th with a merge), "
        f"the commit-graph written by `git codev init`; a {s.big_inbox:,}-message inbox "
        f"(fast-import) for `inbox`, {s.disk_messages:,} messages appended in-process for the "
        f"disk figures; a {s.log_messages:,}-message inbox (fast-import) for `log`; "
        f"{s.architects:,} architects' inboxes on a bare remote for `sync`; "
        f"{s.sync_messages:,} and {s.sync_imported:,} diverged messages (half on each of two "
        "clones) for the `sync` rows; "
        f"{s.builders:,} builders for the shallow `status` row.",
    ]


def document(report: dict[str, Any], sizes: Any) -> str:
    """docs/benchmark.md: how to rerun, the shapes, the table, and the earlier numbers."""
    from pathlib import Path

    before = Path(__file__).with_name("before.md")
    lines = [
        "# Benchmark",
        "",
        "Written by `make bench` (bench/run.py; rows registered in bench/registry.py). Every",
        "ratio compares an operation with a floor measured in the same run, interleaved with it.",
        "",
        *shapes(sizes),
        "",
        text(report),
        "",
    ]
    if before.is_file():
        lines += [before.read_text().rstrip(), ""]
    return "\n".join(lines)
