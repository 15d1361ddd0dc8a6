"""kill -9 at random points of spawn, reassign and release; the same command again repairs
or cleanly refuses, and the repository stays consistent."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import Sandbox, run_subprocess

STRESS = bool(os.environ.get("CODEV_STRESS"))


def annotated(box: Sandbox) -> set[str]:
    try:
        listed = box.git("notes", "--ref", "codev/owners", "list")
    except AssertionError:
        return set()
    return {line.split()[1] for line in listed.splitlines()}


def check_consistent(box: Sandbox, after: str = "") -> None:
    """``after``: what the last command said, shown when the repository is not consistent."""
    notes = annotated(box)
    branches = box.refs("refs/heads/builder/")
    for branch in branches:
        assert box.anchor(branch) in notes, f"{branch} has no ownership record"
    rows = json.loads(box.ok("status", "--json").out)["builders"]
    for row in rows:
        assert row["branchState"] != "gone", f"{row['id']} is recorded but its branch is gone"
        assert row["worktree"] is not None, f"{row['id']} has no worktree; {after}"
    for lock in (box.root / ".git").rglob("*.lock"):
        refused_naming(box, lock)
    assert list((box.root / ".git").rglob("*.lock")) == [], "a stale lock was left"
    fsck = subprocess.run(["git", "fsck"], cwd=box.root, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def refused_naming(box: Sandbox, lock: Path) -> None:
    """A kill inside a ref update (git's lock-write-rename) can leave that ref's lock file:
    git's files backend cannot tell a dead writer's lock from a live one. The next command
    that writes the ref must name the lock and how to remove it; the user then does."""
    ref = lock.relative_to(box.root / ".git").as_posix().removesuffix(".lock")
    assert ref.startswith("refs/codev/builders/"), f"a stale lock was left: {lock}"
    old = time.time() - 3600  # as old as a lock left by a crash is once someone notices
    os.utime(lock, (old, old))
    builder = ref.removeprefix("refs/codev/builders/")
    owner = json.loads(box.ok("status", "--json").out)["builders"]
    owners = {row["id"]: row["spawnedByArchitect"] for row in owner}
    result = box.run("send", builder, "are you there?", as_=owners.get(builder, "main"))
    if builder in owners:
        assert result.code == 1 and str(lock) in result.err, result.err
    lock.unlink()


def run_again(box: Sandbox, args: list[str], env: dict[str, str]) -> str:
    """The same command once more, as a user would after a crash: it repairs, or refuses in
    one line; a lock that the killed process left is named, and removed as the hint says."""
    for _ in range(3):
        result = run_subprocess(box.root, args, env)
        assert "Traceback" not in result.err and result.code in (0, 1, 2), result.err
        if result.code == 0 or ".lock" not in result.err:
            if result.code != 0:
                assert len(result.err.strip().splitlines()) == 1, result.err
            return f"{' '.join(args)} again: exit {result.code}, {result.err.strip()!r}"
        for lock in (box.root / ".git").rglob("*.lock"):
            lock.unlink()
    raise AssertionError(f"{args} kept failing after the stale lock was removed")


@pytest.mark.stress
def test_kill_9_during_spawn_reassign_release_then_rerun(sandbox: Sandbox) -> None:
    rng = random.Random(20261125)
    trials = 40 if STRESS else 8
    owners = ("main", "payments")
    for _n in range(trials):
        issue = rng.randint(1, 4)
        kind = rng.choice(["spawn", "spawn", "reassign", "release"])
        if kind == "spawn":
            args = ["spawn", str(issue), "--protocol", "spir", "--no-fetch"]
        elif kind == "reassign":
            args = ["reassign", f"spir-{issue}", "--to", rng.choice(owners), "--force"]
        else:
            args = ["release", f"spir-{issue}", "--force"]
        env = {**os.environ, "CODEV_ARCHITECT_NAME": rng.choice(owners)}
        proc = subprocess.Popen(
            ["git", "codev", *args],
            cwd=sandbox.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # kill it and the git it runs, as a harness would
        )
        # spawn takes ~0.4 s on a small repository, reassign and release ~0.2 s: most kills
        # land inside the command, after Python has started
        time.sleep(rng.uniform(0.08, 0.4) if kind == "spawn" else rng.uniform(0.05, 0.2))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        said = run_again(sandbox, args, env)
        if kind == "release":  # a released builder's branch goes, so its issue can be spawned
            branch = f"builder/spir-{issue}"
            worktree = sandbox.builder_dir(f"spir-{issue}")
            if worktree.exists():
                sandbox.git("worktree", "remove", "--force", str(worktree))
            if f"refs/heads/{branch}" in sandbox.refs():
                sandbox.git("branch", "-D", branch)
        check_consistent(sandbox, said)
