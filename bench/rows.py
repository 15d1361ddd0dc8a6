"""Each measured operation, with its floor measured in the same run (one function a row)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from bench import fixtures as fx
from bench.timing import BenchError, Row, interleaved, run_timed, timed
from codev_git.messaging.message import append
from codev_git.store import EMPTY_TREE, Store

IMPORT_FLOOR = 'python -c "import pygit2, click"'


@dataclass(frozen=True)
class Sizes:
    big_inbox: int  # built with git fast-import
    disk_messages: int  # appended in-process, packing policy on: the on-disk figures
    small_inbox: int
    unread: int
    builders: int
    gc_messages: int
    appends: int
    cli_runs: int
    warmup: int
    sync_messages: int
    sync_imported: int  # diverged messages of the 10x sync row, written by git fast-import
    hook_runs: int
    depth: int  # commits on main in the deep repository
    deep_builders: int  # owned builder branches there
    behind: int  # about how far behind main each one forked
    scale_runs: int  # runs of each deep-repository row
    log_messages: int  # messages in the inbox `log -n 20` reads
    architects: int  # architects' inboxes a clone syncs
    checkout_runs: int  # runs of each checkout row
    auto_pack: int | None = None  # codev.autoPack for the big inbox (None: the default)


FULL = Sizes(
    big_inbox=1_000_000,
    disk_messages=20_000,
    small_inbox=100,
    unread=10,
    builders=1000,
    gc_messages=20_000,
    appends=500,
    cli_runs=15,
    warmup=2,
    sync_messages=10_000,
    sync_imported=100_000,
    hook_runs=7,
    depth=80_000,
    deep_builders=1000,
    behind=12_000,
    scale_runs=5,
    log_messages=300_000,
    architects=1000,
    checkout_runs=101,
)
SMOKE = Sizes(
    big_inbox=400,
    disk_messages=400,
    small_inbox=30,
    unread=10,
    builders=20,
    gc_messages=50,
    appends=20,
    cli_runs=1,
    warmup=0,
    sync_messages=40,
    sync_imported=400,
    hook_runs=1,
    depth=400,
    deep_builders=20,
    behind=100,
    scale_runs=1,
    log_messages=500,
    architects=20,
    checkout_runs=1,
    auto_pack=256,  # so that the packing policy runs even in a tiny inbox
)


@dataclass
class Bench:
    root: Path
    sizes: Sizes
    say: Callable[[str], None]
    disk: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def codev(args: list[str], cwd: Path, architect: str | None = None) -> Callable[[], float]:
    env = dict(os.environ)
    if architect is not None:
        env["CODEV_ARCHITECT_NAME"] = architect
    argv = ["git", "codev", *args]
    return lambda: run_timed(argv, cwd, env)


def import_floor(cwd: Path) -> Callable[[], float]:
    argv = [sys.executable, "-c", "import pygit2, click"]
    return lambda: run_timed(argv, cwd)


def codev_json(args: list[str], cwd: Path, architect: str | None = None) -> Any:
    env = dict(os.environ)
    if architect is not None:
        env["CODEV_ARCHITECT_NAME"] = architect
    proc = subprocess.run(["git", "codev", *args], cwd=cwd, env=env, capture_output=True)
    if proc.returncode != 0:
        raise BenchError(f"git codev {' '.join(args)} failed: {proc.stderr.decode().strip()}")
    return json.loads(proc.stdout)


# -- fixtures shared by several rows ------------------------------------------------------------
def builders_repo(b: Bench) -> Path:
    """A repository with many owned builders, some messages, and one builder worktree."""
    if "builders" not in b._cache:
        n = b.sizes.builders
        b.say(f"building a repository with {n:,} owned builders")
        root = b.dir("builders") / "repo"
        store = fx.new_repo(root)
        fx.add_builders(store, n)
        fx.fill(store, fx.architect_inbox(), 20)
        for k in range(1, n + 1, 10):
            fx.fill(store, f"refs/codev/builders/builder-spir-{k}", 1, sender="architect:main")
        fx.git(root, "worktree", "add", "-q", str(root / ".builders" / "spir-1"), "builder/spir-1")
        b._cache["builders"] = root
    path: Path = b._cache["builders"]
    return path


def inbox_repo(b: Bench, count: int, name: str) -> tuple[Path, Store, list[str]]:
    root = b.dir(name) / "repo"
    store = fx.new_repo(root)
    if count == b.sizes.disk_messages and b.sizes.auto_pack is not None:
        store.config_set("codev.autoPack", str(b.sizes.auto_pack))
    fx.add_builders(store, 1)
    start = time.perf_counter()
    slowest: list[float] = []
    ids = fx.fill(
        store,
        fx.architect_inbox(),
        count,
        progress=lambda i: b.say(f"  {i:,} messages"),
        slowest=slowest,
    )
    elapsed = time.perf_counter() - start
    if count == b.sizes.disk_messages:
        objects = root / ".git" / "objects"
        allocated, apparent = fx.disk_usage(root / ".git")
        obj_alloc, _ = fx.disk_usage(objects)
        logs_alloc, _ = fx.disk_usage(root / ".git" / "logs")
        b.disk = {
            "messages": count,
            "appendSeconds": elapsed,
            "appendMicrosecondsEach": elapsed / count * 1e6,
            "slowestAppendSeconds": slowest[0],
            "gitDirBytes": allocated,
            "gitDirApparentBytes": apparent,
            "objectsBytes": obj_alloc,
            "reflogBytes": logs_alloc,
            "looseObjects": fx.loose_objects(objects),
            "packs": fx.pack_count(objects),
        }
    return root, store, ids


def imported_inbox(b: Bench, count: int, name: str) -> tuple[Path, Store, list[str]]:
    """An inbox of ``count`` messages written by git fast-import; the ids of its newest
    ``unread + 1`` messages, oldest first."""
    from bench.fastimport import fast_import, message_chains

    root = b.dir(name) / "repo"
    store = fx.new_repo(root)
    fx.add_builders(store, 1)
    fast_import(root, message_chains({fx.architect_inbox(): count}))
    newest = fx.git(root, "rev-list", "-n", str(b.sizes.unread + 1), fx.architect_inbox())
    return root, Store.open(str(root)), newest.split()[::-1]


# -- the rows -----------------------------------------------------------------------------------
def send_row(b: Bench) -> Row:
    row = Row("send", "`git codev send` (whole process, from a builder worktree)", 0.8)
    row.floor_name = IMPORT_FLOOR
    worktree = builders_repo(b) / ".builders" / "spir-1"
    op = codev(["send", "architect", "spec ready for review"], worktree)
    row.values, row.floor_values = interleaved(
        op, import_floor(worktree), b.sizes.cli_runs, b.sizes.warmup
    )
    return row


def append_row(b: Bench) -> Row:
    row = Row("append", "library append of one message (in-process)", 1.5)
    row.floor_name = "raw pygit2 CAS append"
    root = b.dir("append") / "repo"
    store = fx.new_repo(root)
    store.empty_tree()
    repo = store.repo
    payload = fx.body(0).decode()
    mine, raw = "refs/codev/inbox/main", "refs/codev/inbox/raw"

    def op() -> float:
        extra = fx.trailers("builder-spir-1", "architect:main")
        return timed(lambda: append(store, mine, fx.body(0), extra, fx.AUTHOR))

    def floor() -> float:
        return timed(lambda: raw_cas_append(repo, raw, payload))

    row.values, row.floor_values = interleaved(op, floor, b.sizes.appends, warmup=5)
    return row


def raw_cas_append(repo: pygit2.Repository, name: str, message: str) -> None:
    """The least pygit2 code that appends a commit to a ref with compare-and-swap."""
    sig = pygit2.Signature("Bench Architect", "bench@example.invalid")
    ref = repo.references.get(name)
    parents = [ref.target] if ref is not None else []
    oid = repo.create_commit(None, sig, sig, message, pygit2.Oid(hex=EMPTY_TREE), parents)
    if ref is None:
        repo.create_reference_direct(name, oid, False, message="bench")  # first append only
    else:
        ref.set_target(oid, "bench")  # fails if the ref moved since the lookup


def inbox_row(b: Bench) -> Row:
    s = b.sizes
    row = Row(
        "inbox",
        f"`git codev inbox`, {s.unread} unread in a {s.big_inbox:,}-message inbox",
        1.2,
        floor_name=f"same, {s.small_inbox}-message inbox",
    )
    b.say(f"appending {s.disk_messages:,} messages in-process (packing policy on)")
    inbox_repo(b, s.disk_messages, "disk")
    b.say(f"building a {s.big_inbox:,}-message inbox (git fast-import)")
    big = imported_inbox(b, s.big_inbox, "inbox-big")
    small = inbox_repo(b, s.small_inbox, "inbox-small")
    cursor = "refs/codev/read/architect/main/inbox"

    def reader(root: Path, store: Store, ids: list[str]) -> Callable[[], float]:
        run = codev(["inbox"], root, architect="main")

        def once() -> float:
            fx.set_ref(store, cursor, ids[-s.unread - 1])
            return run()

        fx.set_ref(store, cursor, ids[-s.unread - 1])
        shown = codev_json(["inbox", "--peek", "--json"], root, architect="main")["messages"]
        if len(shown) != s.unread:
            raise BenchError(f"inbox fixture shows {len(shown)} unread, not {s.unread}")
        return once

    row.values, row.floor_values = interleaved(reader(*big), reader(*small), s.cli_runs, s.warmup)
    return row


def status_row(b: Bench) -> Row:
    n = b.sizes.builders
    row = Row("status", f"`git codev status` with {n:,} owned builders", 2.0)
    row.floor_name = IMPORT_FLOOR
    root = builders_repo(b)
    listed = codev_json(["status", "--json"], root)["builders"]
    if len(listed) != n:
        raise BenchError(f"status lists {len(listed)} builders, not {n}")
    row.values, row.floor_values = interleaved(
        codev(["status"], root), import_floor(root), b.sizes.cli_runs, b.sizes.warmup
    )
    return row


def whoami_row(b: Bench) -> Row:
    row = Row("whoami", "`git codev whoami` in a builder worktree", 1.3)
    row.floor_name = IMPORT_FLOOR
    worktree = builders_repo(b) / ".builders" / "spir-1"
    if codev_json(["whoami", "--json"], worktree)["type"] != "builder":
        raise BenchError("whoami in the builder worktree is not the builder")
    row.values, row.floor_values = interleaved(
        codev(["whoami"], worktree), import_floor(worktree), b.sizes.cli_runs, b.sizes.warmup
    )
    return row


def bytes_row(b: Bench) -> Row:
    n = b.sizes.gc_messages
    row = Row("bytes", f"bytes per message incl. reflogs, after `git gc` ({n:,} messages)", 1.2)
    row.floor_name = "raw git plumbing messages (same text and times, no trailers)"
    row.unit = "B"
    mine = b.dir("bytes") / "codev"
    store = fx.new_repo(mine)  # a worktree's repository, set up by `git codev init`
    fx.fill(store, fx.architect_inbox(), n)
    tip = store.ref_target(fx.architect_inbox())
    assert tip is not None
    times = [info.time for info in store.walk(tip)]  # newest first
    raw = b.dir("bytes") / "raw"
    plumbing_messages(raw, times[::-1])
    for repo in (mine, raw):
        fx.git(repo, "gc", "--quiet")
    spent = fx.disk_usage(mine / ".git" / "objects")[1] + fx.disk_usage(mine / ".git" / "logs")[1]
    row.values = [spent / n]
    row.note = f"reflogs: {fx.disk_usage(mine / '.git' / 'logs')[1]:,} B in all"
    row.floor_values = [fx.disk_usage(raw / "objects")[1] / n]
    return row


def plumbing_messages(repo: Path, times: list[int]) -> None:
    """One plain commit per message, written by `git hash-object` and `git update-ref`: the
    same bodies, author and times as the codev messages, without the Codev-* trailers."""
    fx.git(repo.parent, "init", "-q", "--bare", str(repo))
    fx.git(repo, "hash-object", "-w", "-t", "tree", "--stdin", stdin=b"")
    files = repo.parent / "raw-objects"
    files.mkdir()
    parent: str | None = None
    paths = []
    who = b"Bench Architect <bench@example.invalid>"
    for i, when in enumerate(times):
        head = b"tree " + EMPTY_TREE.encode() + b"\n"
        if parent is not None:
            head += b"parent " + parent.encode() + b"\n"
        head += b"author %s %d +0000\ncommitter %s %d +0000\n" % (who, when, who, when)
        data = head + b"\n" + fx.body(i) + b"\n"
        parent = hashlib.sha1(b"commit %d\0" % len(data) + data).hexdigest()
        path = files / parent
        path.write_bytes(data)
        paths.append(str(path))
    stdin = "\n".join(paths).encode() + b"\n"
    written = fx.git(repo, "hash-object", "-w", "-t", "commit", "--stdin-paths", stdin=stdin)
    if parent is None or written.split()[-1] != parent:
        raise BenchError("git hash-object wrote different commits than expected")
    fx.git(repo, "update-ref", fx.architect_inbox(), parent)


# -- rows that other modules complete ---------------------------------------------------------
def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def post_checkout_hook_row(b: Bench) -> Row:
    """`git worktree add` of an owned builder with the post-checkout hook installed vs not,
    alternating; measured by bench/hook_cost.py, which also checks the hook wrote .thread."""
    row = Row("hook", "post-checkout hook on `git worktree add`", None)
    row.floor_name = "`git worktree add` without the hook"
    if not (has_module("codev_git.commands.hooks") and has_module("bench.hook_cost")):
        row.note = "not measured: `git codev hooks` (bench/hook_cost.py) is not there yet"
        return row
    from bench.hook_cost import measure

    result = measure(runs=b.sizes.hook_runs)
    row.values = [result["worktree_add_with_hook"]["median_ms"] / 1000]
    row.floor_values = [result["worktree_add_without_hook"]["median_ms"] / 1000]
    row.samples = int(result["runs"])
    row.note = (
        f"the hook adds {result['hook_overhead_median_ms']:.0f} ms; the hook script alone "
        f"takes {result['hook_alone']['median_ms']:.0f} ms"
    )
    return row


def sync_row(b: Bench) -> Row:
    """Two clones each append half the messages to one inbox; the headline is the second
    clone's sync (fetch, merge, push), measured by bench/sync_bench.py, which also checks
    that both clones end with every message."""
    n = b.sizes.sync_messages
    row = Row("sync", f"`git codev sync` of {n:,} diverged messages", 3.0)
    if not (has_module("codev_git.sync.exchange") and has_module("bench.sync_bench")):
        row.note = "not measured: `git codev sync` (bench/sync_bench.py) is not there yet"
        return row
    from bench.sync_bench import measure_sync

    b.say(f"building two clones with {n // 2:,} new messages each")
    figures = measure_sync(b.dir("sync"), per_clone=n // 2)
    row.values = [figures["diverged"]]
    row.note = (
        f"in-process sync(), {n // 2:,} new messages on each side, one run; then the other "
        f"clone catches up in {figures['catch-up']:.2f} s and a sync with nothing to do "
        f"takes {figures['idle']:.2f} s; git's own fetch and push of the same update "
        f"(the sync-10x row's floor) take {figures['transfer']:.2f} s here "
        f"({figures['diverged'] / figures['transfer']:.2f}x)"
    )
    return row


def sync_imported_row(b: Bench) -> Row:
    """The sync row at 10x the messages; both sides built by ``git fast-import``."""
    n = b.sizes.sync_imported
    row = Row("sync-10x", f"`git codev sync` of {n:,} diverged messages", 1.5)
    from bench.sync_bench import measure_sync

    b.say(f"building two clones with {n // 2:,} new messages each (git fast-import)")
    figures = measure_sync(b.dir("sync-10x"), per_clone=n // 2, imported=True)
    row.values = [figures["diverged"]]
    row.floor_name = (
        "git fetch of the other side's messages, then git push of a merge of both sides to "
        "the same inbox"
    )
    row.floor_values = [figures["transfer"]]
    row.note = (
        f"in-process sync(), {n // 2:,} messages on each side, one run; the other clone "
        f"catches up in {figures['catch-up']:.2f} s. At this size git's own fetch and push of "
        "the messages (the floor) are most of a sync, so the target is a ratio to them"
    )
    return row


ROWS: dict[str, Callable[[Bench], Row]] = {
    "send": send_row,
    "append": append_row,
    "inbox": inbox_row,
    "status": status_row,
    "whoami": whoami_row,
    "hook": post_checkout_hook_row,
    "sync": sync_row,
    "sync-10x": sync_imported_row,
    "bytes": bytes_row,
}

from bench.delivery_bench import DELIVERY_ROWS  # noqa: E402  (they use this module's helpers)
from bench.web_bench import ROWS as WEB_ROWS  # noqa: E402  (it builds on Bench above)

ROWS.update(DELIVERY_ROWS)
ROWS.update(WEB_ROWS)
