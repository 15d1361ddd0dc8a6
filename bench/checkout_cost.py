"""What the post-checkout hook adds to checkouts that do not concern git codev: a branch
without an ownership record, a file checkout, a bisect. The floor is the same command in
the same repository with hooks turned off for that call (``-c core.hooksPath=...``)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from bench import fixtures as fx
from bench.rows import Bench
from bench.timing import TIMES, BenchError, Row, interleaved, run_timed

NO_HOOKS = ["-c", "core.hooksPath=/nonexistent-codev-bench-hooks"]
BISECT_COMMITS = 64  # 6 bisect steps


def checkout_repo(b: Bench) -> Path:
    """A repository set up by `git codev init` (hook installed), with an owned builder, a
    plain branch, and a 64-commit line to bisect."""
    if "checkout" in b._cache:
        path: Path = b._cache["checkout"]
        return path
    root = b.dir("checkout") / "repo"
    store = fx.new_repo(root)
    fx.add_builders(store, 3)
    fx.git(root, "branch", "plain")
    for i in range(BISECT_COMMITS):
        (root / "n").write_text(f"{i}\n")
        fx.git(root, "add", "n")
        fx.git(root, "commit", "-q", "-m", f"step {i}")
    fx.git(root, "branch", "-f", "plain")
    if not (root / ".git" / "hooks" / "post-checkout").is_file():
        raise BenchError("git codev init did not install the post-checkout hook")
    b._cache["checkout"] = root
    return root


def _pair(root: Path, args: list[str], hooks: bool) -> Callable[[], float]:
    argv = ["git", *([] if hooks else NO_HOOKS)]
    there = [*argv, *args]
    back = [*argv, "checkout", "-q", "main"]

    def once() -> float:
        spent = run_timed(there, root)
        run_timed(back, root)
        return spent

    return once


def branch_checkout_row(b: Bench) -> Row:
    row = Row("checkout-branch", "`git checkout` of a branch without an ownership record", 2.0)
    row.floor_name = "the same checkout without the hook"
    root = checkout_repo(b)
    args = ["checkout", "-q", "plain"]
    fx.git(root, "branch", "-f", "plain", "main~3")  # a different tree: files change
    row.values, row.floor_values = interleaved(
        _pair(root, args, True), _pair(root, args, False), b.sizes.checkout_runs, 2
    )
    return row


def file_checkout_row(b: Bench) -> Row:
    row = Row("checkout-file", "`git checkout -- FILE` (flag 0: no branch change)", 1.5)
    row.floor_name = "the same checkout without the hook"
    root = checkout_repo(b)

    def restore(config: list[str]) -> Callable[[], float]:
        argv = ["git", *config, "checkout", "--", "n"]

        def once() -> float:
            (root / "n").write_text("scribbled\n")
            return run_timed(argv, root)

        return once

    row.values, row.floor_values = interleaved(
        restore([]), restore(NO_HOOKS), b.sizes.checkout_runs, 2
    )
    # what any post-checkout hook costs here: git starting a script that exits, or a binary
    exit_0 = _hook_dir(root.parent / "exit-0-hooks", "#!/bin/sh\nexit 0\n")
    true = _hook_dir(root.parent / "true-hooks", None)
    costs = []
    for hooks in (exit_0, true):
        timed, bare = interleaved(
            restore(["-c", f"core.hooksPath={hooks}"]),
            restore(NO_HOOKS),
            b.sizes.checkout_runs,
            2,
        )
        costs.append(statistics.median(timed) / statistics.median(bare))
    row.note = (
        f"the same run with a hook that is only `exit 0`: {costs[0]:.2f}{TIMES}; with "
        f"`/bin/true` itself as the hook: {costs[1]:.2f}{TIMES} (git starting any hook)"
    )
    return row


def _hook_dir(path: Path, script: str | None) -> Path:
    """A hooks directory whose post-checkout is ``script``, or a link to ``true``."""
    import shutil

    path.mkdir(exist_ok=True)
    hook = path / "post-checkout"
    hook.unlink(missing_ok=True)
    if script is None:
        hook.symlink_to(shutil.which("true") or "/bin/true")
    else:
        hook.write_text(script)
        hook.chmod(0o755)
    return path


def bisect_row(b: Bench) -> Row:
    row = Row("bisect", f"`git bisect run` over {BISECT_COMMITS} commits (6 steps)", 1.3)
    row.floor_name = "the same bisect without the hook"
    root = checkout_repo(b)
    script = root.parent / "test.sh"
    script.write_text('#!/bin/sh\n[ "$(cat n)" -lt 40 ]\n')
    script.chmod(0o755)

    def bisect(hooks: bool) -> Callable[[], float]:
        argv = ["git", *([] if hooks else NO_HOOKS)]

        def once() -> float:
            fx.git(root, "checkout", "-q", "main")
            spent = run_timed([*argv, "bisect", "start", "main", f"main~{BISECT_COMMITS}"], root)
            spent += run_timed([*argv, "bisect", "run", str(script)], root)
            spent += run_timed([*argv, "bisect", "reset"], root)
            return spent

        return once

    row.values, row.floor_values = interleaved(
        bisect(True), bisect(False), max(1, b.sizes.checkout_runs // 3), 1
    )
    return row


ROWS: dict[str, Callable[[Bench], Row]] = {
    "checkout-branch": branch_checkout_row,
    "checkout-file": file_checkout_row,
    "bisect": bisect_row,
}
