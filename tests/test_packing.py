"""The packing policy: appends keep loose objects bounded, and nothing is ever lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codev_git.layout import inbox_ref
from codev_git.messaging.inbox import read_channel
from codev_git.messaging.message import append, decode
from codev_git.names import ArchitectName
from codev_git.store import Ident, Store, autopack
from tests.helpers import Sandbox

AUTHOR = Ident("Test Architect", "test@example.invalid")
INBOX = inbox_ref(ArchitectName("main"))


def loose(root: Path) -> int:
    objects = root / ".git" / "objects"
    return sum(len(os.listdir(objects / d)) for d in os.listdir(objects) if len(d) == 2)


def packs(root: Path) -> list[str]:
    return sorted(n for n in os.listdir(root / ".git" / "objects" / "pack") if n.endswith(".pack"))


def send(store: Store, i: int) -> str:
    trailers = {"Codev-From": "builder-spir-1", "Codev-To": "architect:main"}
    return append(store, INBOX, f"message {i}\n\tbyte for byte ".encode(), trailers, AUTHOR)


def test_appends_past_the_limit_pack_loose_objects_and_keep_every_message(
    sandbox: Sandbox,
) -> None:
    store = Store.discover(sandbox.root)
    store.config_set(autopack.CONFIG_LIMIT, "256")  # pack once objects/17/ holds more than 1
    before = packs(sandbox.root)
    users_own = loose(sandbox.root)  # the sandbox's first commit: not ours to pack
    ids: list[str] = []
    # Message ids depend on the clock, so when the policy fires varies from run to run (it
    # fired within the first 50 appends about once in 60 runs, which an assertion on a
    # sampled peak did not allow). What is certain: until then every append stays loose.
    loose_before_last = 0
    while packs(sandbox.root) == before:
        assert len(ids) < 20_000, "the policy never packed"
        loose_before_last = loose(sandbox.root)
        ids.append(send(store, len(ids)))
    assert ids[-1].startswith(autopack.PROBE)  # the check fired on the sampled fan-out only
    probed = [i for i in ids if i.startswith(autopack.PROBE)]
    assert 1 <= len(probed) <= 2  # at the first fan-out entry past the limit of 1
    # every message so far (and the empty tree) was loose until the pack; then only the
    # user's own objects are left loose
    assert loose_before_last == users_own + len(ids)
    assert loose(sandbox.root) == users_own
    assert not (store.common_dir / autopack.LOCK_NAME).exists()
    ids += [send(store, len(ids) + k) for k in range(3)]  # appends go on from the pack

    messages = read_channel(store, INBOX, None, include_read=True)
    assert [m.id for m in messages] == ids
    assert all(m.body == f"message {i}\n\tbyte for byte ".encode() for i, m in enumerate(messages))
    assert sandbox.git("rev-list", "--count", INBOX).strip() == str(len(ids))
    sandbox.git("fsck", "--full", "--strict", "--no-dangling")
    assert decode(store.commit(ids[0]), INBOX) is not None


def objects_in_probe_dir(store: Store, count: int) -> None:
    """Write blobs until ``count`` loose objects sit in objects/<PROBE>/, reachable from a
    codev ref (a tree holding them, committed on refs/codev/probe): packing takes only
    objects reachable from our refs."""
    i = 0
    blobs: dict[str, tuple[str, str]] = {}
    while store.loose_count(autopack.PROBE) < count:
        data = f"probe {i}".encode()
        if Store.hash_blob(data).startswith(autopack.PROBE):
            blobs[f"b{i}"] = (store.write_blob(data), "blob")
        i += 1
    tree = store.write_tree(blobs)
    commit = store.write_commit(tree=tree, parents=[], author=AUTHOR, message=b"probe\n")
    store.cas_update("refs/codev/probe", lambda old: commit, "probe")


def test_packing_leaves_objects_that_are_not_ours(sandbox: Sandbox) -> None:
    store = Store.discover(sandbox.root)
    mine = sandbox.git("hash-object", "-w", "README").strip()  # a user's own object
    dangling = store.write_blob(b"an unreachable object git gc will expire")
    objects_in_probe_dir(store, 2)
    assert autopack.pack_now(store) > 0
    assert store.loose_count(autopack.PROBE) == 0
    for oid in (mine, dangling):
        assert (store.objects_dir / oid[:2] / oid[2:]).is_file()


def test_only_sampled_ids_over_the_limit_pack_and_zero_turns_it_off(sandbox: Sandbox) -> None:
    store = Store.discover(sandbox.root)
    objects_in_probe_dir(store, 3)
    sampled = autopack.PROBE + "0" * 38
    store.config_set(autopack.CONFIG_LIMIT, "0")
    assert autopack.after_append(store, sampled) == 0
    store.config_set(autopack.CONFIG_LIMIT, str(256 * 3))  # 3 allowed in the probed directory
    assert autopack.after_append(store, sampled) == 0
    store.config_set(autopack.CONFIG_LIMIT, "256")
    assert autopack.after_append(store, "ab" + "0" * 38) == 0  # not sampled: no look
    store.config_set("extensions.preciousObjects", "true")
    assert autopack.after_append(store, sampled) == 0
    store.config_set("extensions.preciousObjects", "false")
    assert store.loose_count(autopack.PROBE) == 3
    users_own = loose(sandbox.root) - 3 - 2  # minus the probe blobs, their tree and commit
    assert autopack.after_append(store, sampled) >= 3
    assert loose(sandbox.root) == users_own
    sandbox.git("fsck", "--full", "--strict")


def test_a_running_packer_is_left_alone_and_a_stale_lock_is_taken_over(sandbox: Sandbox) -> None:
    store = Store.discover(sandbox.root)
    objects_in_probe_dir(store, 2)
    lock = store.common_dir / autopack.LOCK_NAME
    lock.write_text("12345\n")
    assert autopack.pack_now(store) == 0 and store.loose_count(autopack.PROBE) == 2
    old = time.time() - autopack.STALE_LOCK_SECONDS - 5
    os.utime(lock, (old, old))
    assert autopack.pack_now(store) > 0
    assert store.loose_count(autopack.PROBE) == 0 and not lock.exists()


WORKER = """
import sys
from codev_git.messaging.message import append
from codev_git.store import Ident, Store
store = Store.discover(".")
who, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    trailers = {"Codev-From": "builder-" + who, "Codev-To": "architect:main"}
    append(store, "refs/codev/inbox/main", f"{who} {i}".encode(), trailers, Ident(who, "w@x"))
"""

PACKER = """
import time
from codev_git.store.autopack import pack_now
from codev_git.store import Store
store = Store.discover(".")
for _ in range(25):
    pack_now(store)
    time.sleep(0.02)
"""


@pytest.mark.stress
def test_packing_while_others_append_loses_nothing(sandbox: Sandbox) -> None:
    store = Store.discover(sandbox.root)
    store.config_set(autopack.CONFIG_LIMIT, "256")  # appenders pack now and then as well
    workers, each = 4, 250
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, f"w{n}", str(each)],
            cwd=sandbox.root,
            stderr=subprocess.PIPE,
        )
        for n in range(workers)
    ]
    procs.append(
        subprocess.Popen([sys.executable, "-c", PACKER], cwd=sandbox.root, stderr=subprocess.PIPE)
    )
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert b"warning" not in err
    bodies = sorted(m.body for m in read_channel(store, INBOX, None, include_read=True))
    assert bodies == sorted(f"w{n} {i}".encode() for n in range(workers) for i in range(each))
    assert sandbox.git("rev-list", "--count", INBOX).strip() == str(workers * each)
    assert len(packs(sandbox.root)) > 1 and not (store.common_dir / autopack.LOCK_NAME).exists()
    sandbox.git("fsck", "--full", "--strict", "--no-dangling")
