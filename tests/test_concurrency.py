"""Many real processes writing at once: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.helpers import Sandbox


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


def test_32_processes_send_to_one_inbox(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    builder = sandbox.builder_dir("spir-1")
    finish([launch(builder, ["send", "architect", f"message {n}"]) for n in range(32)])
    data = json.loads(sandbox.ok("inbox", "--json", as_="main").out)
    bodies = [m["message"] for m in data["messages"]]
    assert sorted(bodies) == sorted(f"message {n}" for n in range(32))
    assert len({m["id"] for m in data["messages"]}) == 32
    # the history is one linear chain, and the reflog saw every move
    chain = sandbox.git("rev-list", "--count", "refs/codev/inbox/main").strip()
    assert chain == "32"
    reflog = sandbox.git("reflog", "show", "--format=%H", "refs/codev/inbox/main").split()
    assert len(reflog) == 32


def test_16_spawns_and_adopts_at_once_keep_every_record(sandbox: Sandbox) -> None:
    for n in range(8):
        sandbox.git("branch", f"builder/air-{100 + n}")
    env = {"CODEV_ARCHITECT_NAME": "main"}
    procs = [
        launch(sandbox.root, ["spawn", str(n + 1), "--protocol", "spir", "--no-worktree"], env)
        for n in range(8)
    ]
    procs += [
        launch(sandbox.root, ["adopt", f"builder/air-{100 + n}", "--architect", "payments"], env)
        for n in range(8)
    ]
    finish(procs)
    data = json.loads(sandbox.ok("status", "--json").out)
    ids = sorted(b["id"] for b in data["builders"])
    assert ids == sorted(
        [f"builder-spir-{n + 1}" for n in range(8)] + [f"builder-air-{100 + n}" for n in range(8)]
    )
    owners = {b["id"]: b["spawnedByArchitect"] for b in data["builders"]}
    assert sum(1 for v in owners.values() if v == "payments") == 8
    listed = sandbox.git("notes", "--ref", "codev/owners", "list").splitlines()
    assert len(listed) == 16
