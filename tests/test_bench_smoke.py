"""`make bench` keeps working: a tiny run prints every row. Timings are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.registry import all_rows
from bench.report import text

RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"


def test_smoke_run_prints_every_row_as_json_and_as_a_table() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--json"], capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    report = json.loads(proc.stdout)  # JSON only on stdout: progress goes to stderr
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == list(all_rows())
    for row in rows.values():
        if row["measured"]:
            assert row["median"] > 0 and row["samples"] > 0
            assert row["ok"] in (True, False, None)
            if row["floorName"]:
                assert row["floor"] > 0 and row["ratio"] > 0
        else:
            assert row["note"].startswith("not measured")
    assert report["disk"]["messages"] > 0 and report["disk"]["gitDirBytes"] > 0
    table = text(report).splitlines()
    for row in rows.values():
        assert sum(1 for line in table if line.startswith(f"| {row['operation']} |")) == 1
    assert any(line.startswith("On disk after") for line in table)


def test_unknown_row_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--only", "nope"], capture_output=True, check=False
    )
    assert proc.returncode == 2 and b"unknown rows" in proc.stderr
