"""How long `git codev sync` takes to reconcile two clones that diverged by many messages.

Two clones of one bare remote each append ``per_clone`` messages to the same inbox (in
process, through ``messages.append``), then sync in turn:

    publish    clone A pushes its messages to the empty remote
    diverged   clone B fetches A's, merges them with its own, pushes   <- the headline figure
    catch-up   clone A fetches B's side and fast-forwards
    idle       clone A syncs again and finds nothing to do

Run: ``python bench/sync_bench.py [PER_CLONE]`` (default 5000, i.e. 10,000 messages).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codev_git.messaging.message import append, is_merge
from codev_git.store import EMPTY_TREE, Ident, Store
from codev_git.sync.exchange import sync

INBOX = "refs/codev/inbox/main"
IDENTITY = ("-c", "user.name=Bench", "-c", "user.email=bench@example.invalid")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


def _fill(store: Store, label: str, count: int) -> None:
    author = Ident(f"bench-{label}", f"{label}@example.invalid")
    for n in range(count):
        trailers = {
            "Codev-From": "builder-spir-1",
            "Codev-To": "architect:main",
            "Codev-Time": f"2026-01-01T00:00:{n % 60:02d}.{n:06d}Z",
        }
        append(store, INBOX, f"{label} message {n}".encode(), trailers, author)


def _messages(store: Store) -> int:
    tip = store.ref_target(INBOX)
    assert tip is not None
    return sum(1 for info in store.walk(tip) if not is_merge(info))


def _import(store: Store, label: str, count: int) -> None:
    """``count`` messages on the inbox in one ``git fast-import`` (a chain of its own: the
    two clones' inboxes then share no commit, as when both started it before syncing)."""
    from bench.fastimport import fast_import, message_chains

    fast_import(store.git_dir, message_chains({INBOX: count}, sender=f"builder-spir-{label}"))


def measure_sync(workdir: Path, per_clone: int = 5000, imported: bool = False) -> dict[str, float]:
    """Seconds taken by each phase (see the module docstring); checks nothing was lost.
    ``imported``: the messages are written by ``git fast-import`` instead of appended one
    by one (seconds instead of minutes for 100,000)."""
    remote = workdir / "remote.git"
    _git(workdir, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = workdir / "seed"
    _git(workdir, "init", "-q", "-b", "main", str(seed))
    _git(seed, "commit", "-q", "--allow-empty", "-m", "initial")
    _git(seed, "push", "-q", str(remote), "main")
    stores = []
    for name in ("a", "b"):
        _git(workdir, "clone", "-q", str(remote), name)
        stores.append(Store.discover(workdir / name))
    a, b = stores
    figures: dict[str, float] = {}
    started = time.perf_counter()
    fill = _import if imported else _fill
    fill(a, "1", per_clone)
    fill(b, "2", per_clone)
    figures["build"] = time.perf_counter() - started
    for phase, store in (("publish", a), ("diverged", b), ("catch-up", a), ("idle", a)):
        if phase == "diverged":
            figures["transfer"] = _transfer_floor(workdir, remote, workdir / "b")
        started = time.perf_counter()
        report = sync(store, "origin")
        figures[phase] = time.perf_counter() - started
        if phase == "diverged":
            assert report.new_messages == per_clone and report.merge_commits == 1, report
        if phase == "idle":
            assert not report.changed, report
    for store in stores:
        assert _messages(store) == 2 * per_clone
    return figures


def _transfer_floor(workdir: Path, remote: Path, clone: Path) -> float:
    """Seconds git itself takes for the same ref update: in copies of the remote and of the
    clone about to sync, ``git fetch`` of the other side's inbox, then ``git push`` of a
    merge of both sides (made by ``git commit-tree``, not timed) to that inbox. Updating a
    ref that exists makes git check that the push is a fast-forward, an ancestry walk over
    this side's new commits that a push to a new ref would skip."""
    import shutil

    floor_remote, floor_clone = workdir / "floor-remote.git", workdir / "floor-clone"
    shutil.copytree(remote, floor_remote, symlinks=True)
    shutil.copytree(clone, floor_clone, symlinks=True)
    _git(floor_clone, "remote", "set-url", "origin", str(floor_remote))
    started = time.perf_counter()
    _git(floor_clone, "fetch", "-q", "origin", f"+{INBOX}:refs/floor/theirs")
    took = time.perf_counter() - started
    parents = ["-p", INBOX, "-p", "refs/floor/theirs"]
    merge = subprocess.run(
        ["git", *IDENTITY, "commit-tree", *parents, "-m", "merge", EMPTY_TREE],
        cwd=floor_clone,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    started = time.perf_counter()
    _git(floor_clone, "push", "-q", "origin", f"{merge}:{INBOX}")
    took += time.perf_counter() - started
    shutil.rmtree(floor_remote)
    shutil.rmtree(floor_clone)
    return took


def main() -> None:
    per_clone = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    os.environ.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    with tempfile.TemporaryDirectory(prefix="codev-sync-bench-") as tmp:
        figures = measure_sync(Path(tmp), per_clone)
    print(f"sync of {2 * per_clone:,} diverged messages ({per_clone:,} new in each of 2 clones)")
    for phase, seconds in figures.items():
        print(f"  {phase:<9} {seconds:8.2f} s")


if __name__ == "__main__":
    main()
