"""Delivery rows: what an agent hook costs per prompt, and how fast a follower sees a send.

- ``agent-hook-idle``: `git codev agent hook UserPromptSubmit` with no new message, against
  the floor of starting Python and importing pygit2 and click (every hook call pays that).
- ``agent-hook-10``: the same hook handing over 10 new messages (appended, untimed, before
  each run), against the same floor.
- ``follow-latency``: from starting `git codev send` to the follower's JSON line for it,
  against the wall time of the same `git codev send` alone.

Registered in bench/rows.py's ROWS; measured in the same run as their floors, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench import fixtures as fx
from bench.timing import BenchError, Row, interleaved, run_timed
from codev_git.store import Store

if TYPE_CHECKING:
    from bench.rows import Bench

PROMPT = json.dumps(
    {
        "session_id": "bench",
        "transcript_path": "/tmp/bench.jsonl",
        "hook_event_name": "UserPromptSubmit",
        "permission_mode": "default",
        "prompt": "carry on",
    }
).encode()


def _env() -> dict[str, str]:
    return {**os.environ, "CODEV_ARCHITECT_NAME": "main"}


def _repo(b: Bench, name: str) -> tuple[Path, Store]:
    root = b.dir(name) / "repo"
    store = fx.new_repo(root)
    fx.add_builders(store, 1)
    return root, store


def _hook(root: Path, expect: int | None) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        proc = subprocess.run(
            ["git", "codev", "agent", "hook", "UserPromptSubmit"],
            cwd=root,
            env=_env(),
            input=PROMPT,
            capture_output=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(f"agent hook exited {proc.returncode}: {proc.stderr.decode()[-200:]}")
        answer = json.loads(proc.stdout)
        got = answer.get("hookSpecificOutput", {}).get("additionalContext", "")
        if expect == 0 and answer != {}:
            raise BenchError("the idle hook handed something over")
        if expect and f"{expect} new message(s)" not in got:
            raise BenchError(f"the hook did not hand over {expect} messages")
        return elapsed

    return once


def _floor(root: Path) -> Callable[[], float]:
    argv = [sys.executable, "-c", "import pygit2, click"]
    return lambda: run_timed(argv, root)


def hook_idle_row(b: Bench) -> Row:
    sizes = b.sizes
    root, _ = _repo(b, "agent-hook-idle")
    row = Row("agent-hook-idle", "agent hook per prompt, no new message", 4.0)
    row.floor_name = "python + import pygit2, click"
    row.values, row.floor_values = interleaved(
        _hook(root, 0), _floor(root), sizes.cli_runs, sizes.warmup
    )
    return row


def hook_ten_row(b: Bench) -> Row:
    sizes = b.sizes
    root, store = _repo(b, "agent-hook-10")
    hook = _hook(root, 10)

    def with_ten() -> float:
        fx.fill(store, fx.architect_inbox(), 10, sender="builder-spir-1")
        return hook()

    row = Row("agent-hook-10", "agent hook per prompt, 10 new messages", 5.0)
    row.floor_name = "python + import pygit2, click"
    row.values, row.floor_values = interleaved(with_ten, _floor(root), sizes.cli_runs, sizes.warmup)
    return row


def follow_latency_row(b: Bench) -> Row:
    sizes = b.sizes
    root, _ = _repo(b, "follow-latency")
    builder = root / ".builders" / "spir-1"
    fx.git(root, "worktree", "add", "-q", str(builder), "builder/spir-1")
    follower = subprocess.Popen(
        ["git", "codev", "inbox", "--follow", "--json"],
        cwd=root,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert follower.stdout is not None
    lines = follower.stdout

    def next_event() -> dict[str, object]:
        line = lines.readline()
        if not line:
            raise BenchError("the follower stopped")
        event: dict[str, object] = json.loads(line)
        return event

    def send(n: int) -> tuple[float, float]:
        """(seconds until the follower's line, seconds the send took)."""
        start = time.perf_counter()
        proc = subprocess.run(
            ["git", "codev", "send", "architect", f"latency {n}"],
            cwd=builder,
            env=_env(),
            capture_output=True,
            check=False,
        )
        sent = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(f"send failed: {proc.stderr.decode()[-200:]}")
        event = next_event()
        seen = time.perf_counter() - start
        if event.get("message") != f"latency {n}":
            raise BenchError(f"the follower printed {event!r}")
        return seen, sent

    row = Row("follow-latency", "`send` to the follower's line", 3.0)
    row.floor_name = "the same `send` alone"
    try:
        if next_event().get("event") != "ready":
            raise BenchError("the follower's first line is not its ready event")
        for n in range(sizes.warmup + sizes.cli_runs):
            seen, sent = send(n)
            if n >= sizes.warmup:
                row.values.append(seen)
                row.floor_values.append(sent)
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    return row


DELIVERY_ROWS: dict[str, Callable[[Bench], Row]] = {
    "agent-hook-idle": hook_idle_row,
    "agent-hook-10": hook_ten_row,
    "follow-latency": follow_latency_row,
}
