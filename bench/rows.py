"""Each measured operation, with its floor measured in the same run (one function a row)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
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
from codev_git.messages import append
from codev_git.store import EMPTY_TREE, Store

IMPORT_FLOOR = 'python -c "import pygit2, click"'


@dataclass(frozen=True)
class Sizes:
    big_inbox: int
    small_inbox: int
    unread: int
    builders: int
    gc_messages: int
    appends: int
    cli_runs: int
    warmup: int
    sync_messages: int
    sync_runs: int
    hook_runs: int
    auto_pack: int | None = None  # codev.autoPack for the big inbox (None: the default)


FULL = Sizes(100_000, 100, 10, 1000, 2000, 500, 15, 2, 10_000, 3, 7)
SMOKE = Sizes(600, 30, 10, 20, 50, 20, 1, 0, 40, 1, 1, auto_pack=256)


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
    if count == b.sizes.big_inbox and b.sizes.auto_pack is not None:
        store.config_set("codev.autoPack", str(b.sizes.auto_pack))
    fx.add_builders(store, 1)
    start = time.perf_counter()
    ids = fx.fill(store, fx.architect_inbox(), count, progress=lambda i: b.say(f"  {i:,} messages"))
    elapsed = time.perf_counter() - start
    if count == b.sizes.big_inbox:
        objects = root / ".git" / "objects"
        allocated, apparent = fx.disk_usage(root / ".git")
        obj_alloc, _ = fx.disk_usage(objects)
        logs_alloc, _ = fx.disk_usage(root / ".git" / "logs")
        b.disk = {
            "messages": count,
            "appendSeconds": elapsed,
            "appendMicrosecondsEach": elapsed / count * 1e6,
            "gitDirBytes": allocated,
            "gitDirApparentBytes": apparent,
            "objectsBytes": obj_alloc,
            "reflogBytes": logs_alloc,
            "looseObjects": fx.loose_objects(objects),
            "packs": fx.pack_count(objects),
        }
    return root, store, ids


# -- the rows -----------------------------------------------------------------------------------
def send_row(b: Bench) -> Row:
    row = Row("send", "`git codev send` (whole process, from a builder worktree)", 1.3)
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
        repo.create_reference_direct(name, oid, False, message="bench")  # create-only
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
    b.say(f"building a {s.big_inbox:,}-message inbox (in-process appends, packing policy on)")
    big = inbox_repo(b, s.big_inbox, "inbox-big")
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
    row = Row("bytes", f"bytes per message after `git gc` ({n:,} messages)", 2.0)
    row.floor_name = "raw git plumbing messages (same text and times, no trailers)"
    row.unit = "B"
    mine = b.dir("bytes") / "codev"
    store = fx.new_repo(mine, bare=True)
    fx.fill(store, fx.architect_inbox(), n)
    tip = store.ref_target(fx.architect_inbox())
    assert tip is not None
    times = [info.time for info in store.walk(tip)]  # newest first
    raw = b.dir("bytes") / "raw"
    plumbing_messages(raw, times[::-1])
    for repo in (mine, raw):
        fx.git(repo, "gc", "--quiet")
    row.values = [fx.disk_usage(mine / "objects")[1] / n]
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
    """`git worktree add` of an owned builder with the post-checkout hook vs without it."""
    row = Row("hook", "post-checkout hook on `git worktree add`", None)
    row.floor_name = "`git worktree add` without the hook"
    if not has_module("codev_git.commands.hooks"):
        row.note = "not measured: `git codev hooks` (codev_git.commands.hooks) is not there yet"
        return row
    runs = b.sizes.hook_runs + b.sizes.warmup
    roots = []
    for name in ("hooked", "plain"):
        root = b.dir(f"hook-{name}") / "repo"
        fx.add_builders(fx.new_repo(root), runs)
        roots.append(root)
    fx.git(roots[0], "codev", "hooks", "install")
    counters = {root: 0 for root in roots}

    def add_worktree(root: Path) -> Callable[[], float]:
        def once() -> float:
            counters[root] += 1
            n = counters[root]
            argv = ["git", "worktree", "add", "-q", f".builders/spir-{n}", f"builder/spir-{n}"]
            return run_timed(argv, root)

        return once

    row.values, row.floor_values = interleaved(
        add_worktree(roots[0]), add_worktree(roots[1]), b.sizes.hook_runs, b.sizes.warmup
    )
    return row


def sync_row(b: Bench) -> Row:
    """`git codev sync` of messages that diverged: half only on the remote, half only here."""
    n = b.sizes.sync_messages
    row = Row("sync", f"`git codev sync` of {n:,} diverged messages", 3.0)
    if not has_module("codev_git.sync"):
        row.note = "not measured: `git codev sync` (codev_git.sync) is not there yet"
        return row
    base = b.dir("sync")
    remote, local = base / "remote.git", base / "local"
    remote_store = fx.new_repo(remote, bare=True)
    local_store = fx.new_repo(local)
    fx.git(local, "remote", "add", "origin", str(remote))
    ref = fx.architect_inbox()
    fx.fill(local_store, ref, 1)
    fx.git(local, "push", "-q", "origin", "main", f"{ref}:{ref}")
    b.say(f"building {n:,} diverged messages for sync")
    fx.fill(remote_store, ref, n // 2, start=1)
    fx.fill(local_store, ref, n - n // 2, start=n)
    for i in range(b.sizes.sync_runs):
        run = base / f"run-{i}"
        shutil.copytree(remote, run / "remote.git", symlinks=True)
        shutil.copytree(local, run / "local", symlinks=True)
        fx.git(run / "local", "remote", "set-url", "origin", str(run / "remote.git"))
        row.values.append(codev(["sync", "origin"], run / "local")())
    return row


ROWS: dict[str, Callable[[Bench], Row]] = {
    "send": send_row,
    "append": append_row,
    "inbox": inbox_row,
    "status": status_row,
    "whoami": whoami_row,
    "hook": post_checkout_hook_row,
    "sync": sync_row,
    "bytes": bytes_row,
}
