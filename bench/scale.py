"""Rows at real scale: a deep history with many builders far behind, a huge inbox, many
architects. Every fixture is built here (``git fast-import``), never fetched."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench import fixtures as fx
from bench.fastimport import deep_history, fast_import, message_chains
from bench.rows import IMPORT_FLOOR, Bench, codev, codev_json, import_floor
from bench.timing import TIMES, BenchError, Row, interleaved, run_timed
from codev_git.clock import now_iso
from codev_git.names import ArchitectName, BuilderId, ThreadName
from codev_git.ownership.records import OwnerBook, OwnerRecord
from codev_git.store import Store

THREAD = "alpha"  # 10 builders
OTHER = "beta"  # every other builder


def _shape(b: Bench) -> str:
    s = b.sizes
    return f"{s.depth:,}-commit history, {s.deep_builders:,} builders ~{s.behind:,} commits behind"


# -- the deep repository ------------------------------------------------------------------------
def deep_repo(b: Bench) -> Path:
    """main with ``depth`` commits, ``deep_builders`` owned builder branches forked ~``behind``
    commits back, two threads, one builder worktree; set up by `git codev init` (which
    writes the commit-graph)."""
    if "deep" in b._cache:
        path: Path = b._cache["deep"]
        return path
    s = b.sizes
    b.say(f"building a {_shape(b)} (git fast-import)")
    root = b.dir("deep") / "repo"
    fx.git(root.parent, "init", "-q", "-b", "main", str(root))
    fast_import(root, deep_history(s.depth, s.deep_builders, s.behind))
    fx.git(root, "checkout", "-q", "-f", "main")
    (root / "codev").mkdir()
    (root / "codev" / "README.md").write_text("codev state\n")
    fx.git(root, "add", "codev")
    fx.git(root, "commit", "-q", "-m", "codev dir")
    fx.git(root, "codev", "init")
    for name in (THREAD, OTHER):
        codev(["thread", "new", name], root, architect="main")()
    store = Store.open(str(root))
    _own_builders(store, s.deep_builders)
    fx.git(root, "worktree", "add", "-q", str(root / ".builders" / "spir-1"), "builder/spir-1")
    b._cache["deep"] = root
    return root


def _own_builders(store: Store, count: int) -> None:
    records = []
    for n in range(1, count + 1):
        branch = fx.builder_branch(n)
        tip = store.ref_target(branch)
        records.append(
            OwnerRecord(
                time=now_iso(),
                event="spawn",
                builder=BuilderId(f"builder-spir-{n}"),
                branch=branch,
                architect=fx.MAIN,
                thread=ThreadName(THREAD if n <= 10 else OTHER),
                protocol="spir",
                issue=n,
                by=ArchitectName("main"),
                base=tip,
            )
        )
    OwnerBook(store).record(records, fx.AUTHOR, f"spawn {count} builders")


def one_walk_floor(root: Path, builders: int) -> Callable[[], float]:
    """git's own batch: `for-each-ref --format=%(upstream:track)` over every builder branch,
    each given main as its upstream for this call (git walks with its commit-graph)."""
    argv = ["git"]
    for n in range(1, builders + 1):
        argv += ["-c", f"branch.builder/spir-{n}.remote=.", "-c"]
        argv += [f"branch.builder/spir-{n}.merge=refs/heads/main"]
    argv += ["for-each-ref", "--format=%(refname) %(upstream:track)", "refs/heads/builder/"]
    return lambda: run_timed(argv, root)


WALK_FLOOR = "git for-each-ref %(upstream:track), every builder"


def _deep_row(b: Bench, key: str, what: str, args: list[str], cwd: Path | None = None) -> Row:
    root = deep_repo(b)
    row = Row(key, f"{what} ({_shape(b)})", 1.5, floor_name=WALK_FLOOR)
    row.values, row.floor_values = interleaved(
        codev(args, cwd or root, architect="main"),
        one_walk_floor(root, b.sizes.deep_builders),
        b.sizes.scale_runs,
        1,
    )
    return row


def status_deep_row(b: Bench) -> Row:
    root = deep_repo(b)
    rows = codev_json(["status", "--json"], root)["builders"]
    if len(rows) != b.sizes.deep_builders:
        raise BenchError(f"status lists {len(rows)} builders, not {b.sizes.deep_builders}")
    check = {r["id"]: (r["ahead"], r["behind"]) for r in rows}
    for n in (1, 2, 7, b.sizes.deep_builders):
        out = fx.git(root, "rev-list", "--left-right", "--count", f"main...builder/spir-{n}")
        behind, ahead = (int(x) for x in out.split())
        if check[f"builder-spir-{n}"] != (ahead, behind):
            raise BenchError(f"status counts for builder-spir-{n} differ from git rev-list")
    return _deep_row(b, "status-deep", "`git codev status`", ["status"])


def thread_list_deep_row(b: Bench) -> Row:
    return _deep_row(
        b, "thread-list", "`git codev thread list` (every builder in a thread)", ["thread", "list"]
    )


def thread_show_deep_row(b: Bench) -> Row:
    row = _deep_row(
        b,
        "thread-show",
        f"`git codev thread show {THREAD}` (10 builders)",
        ["thread", "show", THREAD],
    )
    row.note = "a thread's cost follows its own builders: compare with thread list"
    return row


def context_deep_row(b: Bench) -> Row:
    worktree = deep_repo(b) / ".builders" / "spir-1"
    return _deep_row(
        b, "context", "`git codev context` in a builder worktree", ["context"], cwd=worktree
    )


# -- messages -----------------------------------------------------------------------------------
def log_row(b: Bench) -> Row:
    n = b.sizes.log_messages
    inbox = fx.architect_inbox()
    root = b.dir("log") / "repo"
    b.say(f"building a {n:,}-message inbox (git fast-import)")
    fx.new_repo(root)
    fast_import(root, message_chains({inbox: n}))
    row = Row("log", f"`git codev log -n 20`, {n:,}-message inbox", 3.0)
    row.floor_name = "`git log -n 20` of that ref"
    shown = codev_json(["log", "-n", "20", "--json"], root)["messages"]
    if len(shown) != 20 or not shown[-1]["message"].startswith(f"message {n - 1}:"):
        raise BenchError("log -n 20 does not show the newest 20 messages")
    bare = ["git", "log", "-n", "20", inbox]
    row.values, row.floor_values = interleaved(
        codev(["log", "-n", "20"], root), lambda: run_timed(bare, root), b.sizes.cli_runs, 2
    )
    row.note = _python_floor_note(row, python_then(bare, root), b) + (
        f"; the interpreter alone (`python -I -S -c pass`: no site, no import) takes "
        f"{_bare_interpreter(root, b) / (row.floor or 1):.1f}{TIMES} the floor; peak memory "
        f"of `log -n 20`: {_peak_kb(['git', 'codev', 'log', '-n', '20'], root) / 1024:.0f} MB"
    )
    return row


def _bare_interpreter(cwd: Path, b: Bench) -> float:
    """The median time of a Python process that does nothing: below it no Python command
    can go."""
    argv = [sys.executable, "-I", "-S", "-c", "pass"]
    times = [run_timed(argv, cwd) for _ in range(b.sizes.warmup + max(3, b.sizes.cli_runs))]
    return statistics.median(times[b.sizes.warmup :])


def _python_floor_note(row: Row, floor: Callable[[], float], b: Bench) -> str:
    """How the row compares with a Python command that starts, imports pygit2 and click and
    runs the same git command (the floor of every other command row)."""
    times = [floor() for _ in range(b.sizes.warmup + max(3, b.sizes.cli_runs))]
    least = statistics.median(times[b.sizes.warmup :])
    return (
        f"Python starting, importing pygit2 and click, then running the same git command "
        f"takes {least * 1000:.1f} ms ({(row.median or 0) / least:.2f}{TIMES} of that), "
        f"which is already {least / (row.floor or least):.1f}{TIMES} the floor"
    )


def python_then(argv: list[str], cwd: Path) -> Callable[[], float]:
    """The least a Python CLI can take to run ``argv``: start, import pygit2 and click,
    run it."""
    code = f"import pygit2, click, subprocess; subprocess.run({argv!r}, stdout=-3, check=True)"
    return lambda: run_timed([sys.executable, "-c", code], cwd)


# A child's peak RSS starts from the memory of the process that forked it (Linux records the
# forking process's high-water mark when the child execs), and the bench process holds big
# fixtures by now: so a small Python starts the command and reports its child's peak.
_PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _peak_kb(argv: list[str], cwd: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, *argv], cwd=cwd, capture_output=True, check=True
    )
    return int(done.stdout)


def inbox_empty_row(b: Bench) -> Row:
    row = Row("inbox-empty", "`git codev inbox` with nothing unread (architect)", 0.8)
    row.floor_name = IMPORT_FLOOR
    root = b.dir("inbox-empty") / "repo"
    store = fx.new_repo(root)
    fx.add_builders(store, 1)
    fx.fill(store, fx.architect_inbox(), 20)
    codev(["inbox"], root, architect="main")()  # reads everything
    row.values, row.floor_values = interleaved(
        codev(["inbox"], root, architect="main"),
        import_floor(root),
        b.sizes.cli_runs,
        b.sizes.warmup,
    )
    return row


# -- many architects ----------------------------------------------------------------------------
def _architects_remote(b: Bench) -> Path:
    n = b.sizes.architects
    remote = b.dir("architects") / "remote.git"
    if not remote.exists():
        b.say(f"building a remote with {n:,} architects' inboxes (git fast-import)")
        fx.git(remote.parent, "init", "-q", "--bare", "-b", "main", str(remote))
        chains = {f"refs/codev/inbox/arch-{k}": 3 for k in range(n)}
        fast_import(remote, message_chains(chains))
        seed = b.dir("architects") / "seed"
        fx.git(seed.parent, "clone", "-q", str(remote), str(seed))
        fx.git(seed, "commit", "-q", "--allow-empty", "-m", "initial")
        fx.git(seed, "push", "-q", "origin", "main")
    return remote


def _fresh_clone(b: Bench, remote: Path, name: str) -> Path:
    clone = b.dir("architects") / name
    fx.git(clone.parent, "clone", "-q", str(remote), str(clone))
    fx.git(clone, "codev", "init")
    return clone


def first_sync_row(b: Bench) -> Row:
    n = b.sizes.architects
    row = Row("sync-first", f"first `git codev sync` of a clone, {n:,} architects' inboxes", 1.0)
    remote = _architects_remote(b)
    for k in range(max(1, b.sizes.cli_runs // 5)):
        clone = _fresh_clone(b, remote, f"first-{k}")
        row.values.append(run_timed(["git", "codev", "sync", "--json"], clone))
    refs = clone / ".git" / "refs"
    loose = sum(
        1 for top in ("codev", "codev-remotes") for p in (refs / top).rglob("*") if p.is_file()
    )
    packed = (clone / ".git" / "packed-refs").read_text().count(" refs/codev")
    row.note = (
        f"{loose} loose refs under refs/codev/ and the sync mirror after the sync, "
        f"{packed:,} in packed-refs"
    )
    return row


def noop_sync_row(b: Bench) -> Row:
    n = b.sizes.architects
    row = Row("sync-noop", f"`git codev sync` with nothing to do, {n:,} architects", 1.5)
    row.floor_name = "`git fetch` of the same refs"
    remote = _architects_remote(b)
    clone = _fresh_clone(b, remote, "noop")
    fx.git(clone, "codev", "sync")
    fetch = ["git", "fetch", "--atomic", "--prune", "--no-tags", "--no-write-fetch-head"]
    fetch += ["--quiet", "origin", "+refs/codev/*:refs/codev-remotes/origin/codev/*"]
    fetch += ["+refs/notes/codev/*:refs/codev-remotes/origin/notes/codev/*"]
    row.values, row.floor_values = interleaved(
        codev(["sync"], clone), lambda: run_timed(fetch, clone), b.sizes.cli_runs, b.sizes.warmup
    )
    full = [
        run_timed(["git", "codev", "sync"], clone, {**os.environ, "CODEV_NO_FAST_PATH": "1"})
        for _ in range(b.sizes.warmup + max(3, b.sizes.cli_runs))
    ]
    listing = ["git", "ls-remote", "origin", "refs/codev/*", "refs/notes/codev/*"]
    lists = [run_timed(listing, clone) for _ in range(b.sizes.warmup + max(3, b.sizes.cli_runs))]
    row.note = (
        f"told without a fetch (codev_git/sync/quick.py): `git ls-remote` of the same refs "
        f"takes {statistics.median(lists[b.sizes.warmup :]) * 1000:.1f} ms; the full cycle, "
        f"which fetches (CODEV_NO_FAST_PATH=1), "
        f"{statistics.median(full[b.sizes.warmup :]) * 1000:.1f} ms"
    )
    return row


ROWS: dict[str, Callable[[Bench], Row]] = {
    "status-deep": status_deep_row,
    "thread-list": thread_list_deep_row,
    "thread-show": thread_show_deep_row,
    "context": context_deep_row,
    "inbox-empty": inbox_empty_row,
    "log": log_row,
    "sync-first": first_sync_row,
    "sync-noop": noop_sync_row,
}
