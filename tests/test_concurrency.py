"""Many real processes writing at once: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Sandbox

STRESS = bool(os.environ.get("CODEV_STRESS"))
SENDERS = 64 if STRESS else 32
WRITERS = 32 if STRESS else 16


def launch(
    cwd: Path, args: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["git", "codev", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()


@pytest.mark.stress
def test_many_processes_send_to_one_inbox(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    builder = sandbox.builder_dir("spir-1")
    finish([launch(builder, ["send", "architect", f"message {n}"]) for n in range(SENDERS)])
    data = json.loads(sandbox.ok("inbox", "--json", as_="main").out)
    bodies = [m["message"] for m in data["messages"]]
    assert sorted(bodies) == sorted(f"message {n}" for n in range(SENDERS))
    assert len({m["id"] for m in data["messages"]}) == SENDERS
    # the history is one linear chain: its parents record every append (no reflog needed)
    chain = sandbox.git("rev-list", "--count", "refs/codev/inbox/main").strip()
    assert chain == str(SENDERS)


@pytest.mark.stress
def test_sends_while_gc_runs(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    builder = sandbox.builder_dir("spir-1")
    procs = [launch(builder, ["send", "architect", f"m{n}"]) for n in range(SENDERS // 2)]
    gcs = [subprocess.Popen(["git", "gc", "-q", "--prune=now"], cwd=sandbox.root) for _ in range(2)]
    procs += [launch(builder, ["send", "architect", f"m{n}"]) for n in range(SENDERS // 2, SENDERS)]
    finish(procs)
    for gc in gcs:
        gc.wait(timeout=120)
    bodies = [
        m["message"] for m in json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    ]
    assert sorted(bodies) == sorted(f"m{n}" for n in range(SENDERS))
    fsck = subprocess.run(["git", "fsck"], cwd=sandbox.root, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


@pytest.mark.stress
def test_concurrent_spawns_adopts_and_reassigns_keep_every_record(sandbox: Sandbox) -> None:
    third = WRITERS // 4
    half = WRITERS // 2
    sandbox.ok("architect", "add", "payments")
    for n in range(half):
        sandbox.git("branch", f"builder/air-{100 + n}")
    for n in range(third):
        sandbox.ok("spawn", str(500 + n), "--protocol", "pir", "--no-worktree", as_="main")
    env = {"CODEV_ARCHITECT_NAME": "main"}
    procs = [
        launch(sandbox.root, ["spawn", str(n + 1), "--protocol", "spir", "--no-worktree"], env)
        for n in range(half - third)
    ]
    procs += [
        launch(sandbox.root, ["adopt", f"builder/air-{100 + n}", "--architect", "payments"], env)
        for n in range(half)
    ]
    procs += [
        launch(sandbox.root, ["reassign", f"pir-{500 + n}", "--to", "payments"], env)
        for n in range(third)
    ]
    finish(procs)
    data = json.loads(sandbox.ok("status", "--json").out)
    owners = {b["id"]: b["spawnedByArchitect"] for b in data["builders"]}
    expected = (
        {f"builder-spir-{n + 1}": "main" for n in range(half - third)}
        | {f"builder-air-{100 + n}": "payments" for n in range(half)}
        | {f"builder-pir-{500 + n}": "payments" for n in range(third)}
    )
    assert owners == expected
    listed = sandbox.git("notes", "--ref", "codev/owners", "list").splitlines()
    assert len(listed) == len(expected)
