"""What the post-checkout hook costs: `git worktree add` of an owned branch, with and without it.

Usage: python bench/hook_cost.py [RUNS]     (prints JSON; milliseconds)
From code: ``from bench.hook_cost import measure; measure(runs=10)``.

Each run adds a worktree for a different owned builder branch, so the hook really writes a
``.thread`` every time. The hook alone is also timed by running the installed script directly.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "CODEV_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", CODEV_ARCHITECT_NAME="main")
    return env


def _run(cwd: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)


def _codev(cwd: Path, env: dict[str, str], *args: str) -> None:
    _run(cwd, env, sys.executable, "-m", "codev_git", *args)


def _timed(cwd: Path, env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(samples), 1),
        "mean_ms": round(statistics.fmean(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
    }


def measure(runs: int = 10) -> dict[str, Any]:
    """Time `git worktree add` with the hook installed and without it, ``runs`` times each."""
    with tempfile.TemporaryDirectory(prefix="codev-hook-bench-") as tmp:
        base = Path(tmp)
        home = base / "home"
        home.mkdir()
        (home / ".gitconfig").write_text(
            "[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
        )
        env = _env(home)
        repo = base / "repo"
        _run(base, env, "git", "init", "-q", "-b", "main", str(repo))
        _run(repo, env, "git", "commit", "-q", "--allow-empty", "-m", "initial")
        _codev(repo, env, "init")
        for n in range(1, 2 * runs + 1):
            _codev(repo, env, "spawn", str(n), "--protocol", "spir", "--no-worktree")
        with_hook: list[float] = []
        without_hook: list[float] = []
        # alternate, so that drift of the machine affects both sides alike
        for n in range(1, runs + 1):
            for installed, samples, number in (
                (True, with_hook, n),
                (False, without_hook, n + runs),
            ):
                _codev(repo, env, "hooks", "install" if installed else "uninstall")
                path = base / f"wt-{number}"
                branch = f"builder/spir-{number}"
                samples.append(_timed(repo, env, "git", "worktree", "add", "-q", str(path), branch))
                if installed != (path / ".thread").exists():
                    raise RuntimeError(f"hook {'did not run' if installed else 'ran'} for {path}")
        _codev(repo, env, "hooks", "install")
        hook = repo / ".git" / "hooks" / "post-checkout"
        alone = [
            _timed(base / "wt-1", env, str(hook), "0" * 40, "0" * 40, "1") for _ in range(runs)
        ]
    with_stats, without_stats = _summary(with_hook), _summary(without_hook)
    return {
        "runs": runs,
        "worktree_add_with_hook": with_stats,
        "worktree_add_without_hook": without_stats,
        "hook_overhead_median_ms": round(with_stats["median_ms"] - without_stats["median_ms"], 1),
        "hook_alone": _summary(alone),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10), indent=2))
