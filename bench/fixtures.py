"""Repositories to measure, built fast and in-process (no subprocess per message)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pygit2

from bench.timing import BenchError
from codev_git.clock import now_iso
from codev_git.layout import inbox_ref
from codev_git.messaging.message import append
from codev_git.names import ArchitectName, BranchRef, builder_branch_for_dir, builder_id_for_branch
from codev_git.ownership.records import OwnerBook, OwnerRecord
from codev_git.store import Ident, Store
from codev_git.worktree.repo_init import init_repository

AUTHOR = Ident("Bench Architect", "bench@example.invalid")
MAIN = ArchitectName("main")


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"git {' '.join(args[:3])} failed: {proc.stderr.decode().strip()}")
    return proc.stdout.decode()


def new_repo(path: Path, *, bare: bool = False) -> Store:
    """A repository with one commit on main (unless bare), set up with `git codev init`."""
    if bare:
        git(path.parent, "init", "-q", "--bare", "-b", "main", str(path))
    else:
        git(path.parent, "init", "-q", "-b", "main", str(path))
        (path / "README").write_text("bench\n")
        git(path, "add", "README")
        git(path, "commit", "-q", "-m", "initial")
    store = Store.open(str(path))
    init_repository(store)
    return store


def body(i: int) -> bytes:
    return f"message {i}: spec ready for review, see codev/specs/{i}-checkout.md".encode()


def trailers(sender: str, to: str) -> dict[str, str]:
    return {"Codev-From": sender, "Codev-To": to, "Codev-Time": now_iso()}


def fill(
    store: Store,
    ref: str,
    count: int,
    *,
    sender: str = "builder-spir-1",
    to: str = "architect:main",
    start: int = 0,
    progress: Callable[[int], None] | None = None,
    slowest: list[float] | None = None,
) -> list[str]:
    """Append ``count`` messages to ``ref`` through the library (packing policy included).
    ``slowest`` receives the longest single append, in seconds (a packing one)."""
    ids: list[str] = []
    worst = 0.0
    for i in range(start, start + count):
        began = time.perf_counter()
        ids.append(append(store, ref, body(i), trailers(sender, to), AUTHOR))
        worst = max(worst, time.perf_counter() - began)
        if progress is not None and (i + 1) % 10_000 == 0:
            progress(i + 1)
    if slowest is not None:
        slowest.append(worst)
    return ids


def builder_branch(n: int) -> BranchRef:
    return builder_branch_for_dir(f"spir-{n}")


def add_builders(store: Store, count: int, architect: ArchitectName = MAIN) -> None:
    """``count`` builder branches (every other one a commit ahead of main) with ownership
    records, written in one notes commit."""
    base = store.ref_target("refs/heads/main")
    assert base is not None
    tree = store.tree_of(base)
    records = []
    for n in range(1, count + 1):
        branch = builder_branch(n)
        tip = base
        if n % 2 == 0:
            tip = store.write_commit(
                tree=tree, parents=[base], author=AUTHOR, message=f"work on {n}\n".encode()
            )
        store.repo.references.create(branch, tip)
        records.append(
            OwnerRecord(
                time=now_iso(),
                event="spawn",
                builder=builder_id_for_branch(branch),
                branch=branch,
                architect=architect,
                protocol="spir",
                issue=n,
                by=architect,
                base=base,
            )
        )
    OwnerBook(store).record(records, AUTHOR, f"spawn {count} builders")


def architect_inbox(architect: ArchitectName = MAIN) -> str:
    return inbox_ref(architect)


def set_ref(store: Store, name: str, target: str) -> None:
    store.repo.references.create(name, pygit2.Oid(hex=target), force=True)


def disk_usage(path: Path) -> tuple[int, int]:
    """(bytes allocated on disk, like du; apparent bytes) of every file under ``path``."""
    allocated = apparent = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            allocated += st.st_blocks * 512
            apparent += st.st_size
    return allocated, apparent


def loose_objects(objects: Path) -> int:
    total = 0
    for name in os.listdir(objects):
        if len(name) == 2:
            total += len(os.listdir(objects / name))
    return total


def pack_count(objects: Path) -> int:
    pack_dir = objects / "pack"
    return sum(1 for n in os.listdir(pack_dir) if n.endswith(".pack")) if pack_dir.is_dir() else 0
