"""sync, inbox --fetch and send --push between real clones of a real remote."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codev_git.store import Store
from codev_git.sync.exchange import (
    fetch,
    link_to,
    merge_into_local,
    publish,
    read_mirror,
    sync,
)
from codev_git.sync.values import EVERYTHING
from codev_git.sync.values import SyncReport as Report
from tests.helpers import Sandbox, git, run_subprocess, without_ownership

SHARED = ("refs/codev/", "refs/notes/codev/")


def make_remote(tmp_path: Path, url: str | None = None) -> Path:
    """A bare remote holding one commit on main."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "README").write_text("hello\n")
    git(seed, "add", "README")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", str(remote), "main")
    return remote


def make_clone(tmp_path: Path, url: str, name: str) -> Sandbox:
    git(tmp_path, "clone", "-q", url, name)
    box = Sandbox(tmp_path / name)
    box.ok("init")
    return box


@pytest.fixture
def clones(tmp_path: Path) -> list[Sandbox]:
    remote = make_remote(tmp_path)
    return [make_clone(tmp_path, str(remote), name) for name in ("a", "b", "c")]


def shared_refs(box: Sandbox) -> dict[str, str]:
    refs: dict[str, str] = {}
    for prefix in SHARED:
        refs.update(box.refs(prefix))
    return refs


def messages_on(box: Sandbox, ref: str) -> list[str]:
    """Bodies of every message on ``ref`` (merge commits left out), one per commit."""
    out = box.git("log", "--no-merges", "--format=%H%x00%B%x01", ref)
    bodies = []
    for chunk in out.split("\x01"):
        if "\x00" in chunk:
            bodies.append(chunk.split("\x00", 1)[1].strip().split("\n\n")[0])
    return without_ownership(bodies)


def ownership_view(box: Sandbox) -> list[tuple[object, ...]]:
    """What the ownership records say (branch state differs per clone and is left out)."""
    rows = json.loads(box.ok("status", "--json").out)["builders"]
    keys = ("id", "spawnedByArchitect", "ownedSince", "thread", "unread")
    return [tuple(row.get(k) for k in keys) for row in rows]


def sync_json(box: Sandbox, *args: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(box.ok("sync", "--json", *args).out)
    return data


def quiesce(boxes: list[Sandbox], rounds: int = 6) -> None:
    """Sync every clone in turn until a whole round changes nothing anywhere."""
    said: list[list[object]] = []
    for _ in range(rounds):
        reports = [sync_json(box) for box in boxes]
        if not any(report["changed"] for report in reports):
            return
        keys = ("mergedRefs", "pushedRefs", "newMessages", "attempts", "warnings")
        said.append([{key: report[key] for key in keys} for report in reports])
    raise AssertionError(f"no quiescence after {rounds} rounds; each clone said, by round: {said}")


def diverge(published: Sandbox, local: Sandbox) -> None:
    """Broadcast "published" from one clone (synced) and "local" from another (not synced)."""
    published.ok("send", "broadcast", "published", as_="main")
    published.ok("sync")
    local.ok("send", "broadcast", "local", as_="main")


def start(cwd: Path, *args: str, as_: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, **({"CODEV_ARCHITECT_NAME": as_} if as_ else {})}
    return subprocess.Popen(
        ["git", "codev", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (proc.args, err.decode())
    return out.decode(), err.decode()


# -- convergence ---------------------------------------------------------------------------------
def test_concurrent_sends_and_syncs_converge_in_every_clone(clones: list[Sandbox]) -> None:
    a, b, c = clones
    a.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    a.ok("spawn", "2", "--protocol", "spir", "--no-worktree", "--architect", "payments", as_="main")
    quiesce(clones)
    procs = []
    expected: dict[str, set[str]] = {
        "refs/codev/inbox/payments": set(),
        "refs/codev/broadcast": set(),
        "refs/codev/builders/builder-spir-1": set(),
    }
    for box, name in zip(clones, "abc", strict=True):
        for n in range(2):
            body = f"{name}{n}"
            procs.append(
                start(box.root, "send", "architect:payments", f"to-pay-{body}", as_="main")
            )
            procs.append(start(box.root, "send", "broadcast", f"all-{body}", as_="payments"))
            procs.append(start(box.root, "send", "1", f"to-1-{body}", as_="main"))
            expected["refs/codev/inbox/payments"].add(f"to-pay-{body}")
            expected["refs/codev/broadcast"].add(f"all-{body}")
            expected["refs/codev/builders/builder-spir-1"].add(f"to-1-{body}")
        procs.append(start(box.root, "sync"))
        procs.append(start(box.root, "inbox", as_="payments"))
    procs += [start(box.root, "sync") for box in clones]  # a second sync racing in each clone
    for proc in procs:
        finish(proc)
    quiesce(clones)
    first = shared_refs(a)
    for box in clones:
        assert shared_refs(box) == first  # messages, ownership notes and read cursors alike
        for ref, bodies in expected.items():
            found = messages_on(box, ref)
            assert sorted(found) == sorted(bodies), ref  # none lost, none duplicated
    unread = [json.loads(box.ok("inbox", "--peek", "--json", as_="payments").out) for box in clones]
    assert unread[0]["messages"] == unread[1]["messages"] == unread[2]["messages"]
    owners = [ownership_view(box) for box in clones]
    assert owners[0] == owners[1] == owners[2] and len(owners[0]) == 2
    # reading in one clone marks read in all
    b.ok("inbox", as_="payments")
    quiesce(clones)
    for box in clones:
        left = json.loads(box.ok("inbox", "--peek", "--json", as_="payments").out)["messages"]
        assert left == [], box.root
    again = sync_json(c)
    assert again["changed"] is False and again["pushedRefs"] == [] and again["newMessages"] == 0
    assert "nothing changed" in c.ok("sync").out


def test_divergent_ownership_edits_agree_after_sync(clones: list[Sandbox]) -> None:
    a, b, _ = clones
    a.ok("architect", "add", "payments")
    a.ok("architect", "add", "ops")
    a.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    a.ok("spawn", "3", "--protocol", "air", "--no-worktree", as_="main")
    quiesce(clones[:2])
    a.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")
    b.ok("reassign", "1", "--to", "payments", as_="main")
    a.ok("reassign", "3", "--to", "ops", as_="main")
    time.sleep(0.01)
    b.ok("reassign", "3", "--to", "payments", as_="main")  # later: this one wins everywhere
    pushed: Any = sync_json(a)["pushedRefs"]
    assert "refs/notes/codev/owners" in pushed
    merged: Any = sync_json(b)  # the notes, and what both clones announced to builder-air-3
    assert merged["mergeCommits"] == 2 and "refs/notes/codev/owners" in merged["pushedRefs"]
    quiesce(clones[:2])
    views = [ownership_view(box) for box in (a, b)]
    assert views[0] == views[1]
    owner = {row[0]: row[1] for row in views[0]}
    assert owner == {
        "builder-air-3": "payments",
        "builder-spir-1": "payments",
        "builder-spir-2": "main",
    }
    note = a.git("notes", "--ref", "codev/owners", "list")
    assert len(note.splitlines()) == 3  # git itself still reads the merged notes
    assert a.refs("refs/notes/") == b.refs("refs/notes/")


# -- the push is a compare-and-swap on the remote -------------------------------------------------
def test_stale_push_is_refused_then_retried(clones: list[Sandbox]) -> None:
    a, b, _ = clones
    a.ok("send", "broadcast", "from a", as_="main")
    store = Store.discover(a.root)
    report = Report("origin")
    fetch(link_to(store), "origin", EVERYTHING)
    tips = read_mirror(store, "origin", EVERYTHING, report)
    merge_into_local(store, tips, report)
    b.ok("send", "broadcast", "from b", as_="main")
    b.ok("sync")
    remote_before = b.git("ls-remote", "origin", "refs/codev/*")
    done, why, _ = publish(store, link_to(store), "origin", tips, EVERYTHING, report)
    assert not done and "stale info" in why
    assert b.git("ls-remote", "origin", "refs/codev/*") == remote_before
    final = sync(store, "origin")
    assert final.pushed == ["refs/codev/broadcast"] and final.new_messages == 1
    b.ok("sync")
    assert sorted(messages_on(b, "refs/codev/broadcast")) == ["from a", "from b"]
    assert shared_refs(a) == shared_refs(b)


# -- failures leave local state alone ----------------------------------------------------------
def test_unreachable_remote_exits_1_and_changes_nothing(clones: list[Sandbox]) -> None:
    a = clones[0]
    a.ok("send", "broadcast", "hello", as_="main")
    a.ok("sync")
    a.ok("send", "broadcast", "unpublished", as_="main")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    a.git("remote", "set-url", "origin", f"git://127.0.0.1:{port}/nowhere.git")
    before = a.snapshot()
    for args in (["sync"], ["sync", "--dry-run"], ["inbox", "--fetch"]):
        result = a.run(*args, as_="main")
        assert result.code == 1, (args, result)
        assert "cannot fetch" in result.err and "refused" in result.err.lower()
        assert len(result.err.strip().splitlines()) == 1
        assert a.snapshot() == before
    sent = a.run("send", "broadcast", "push me", "--push", "--json", as_="main")
    # stored here all the same, so success: a retry on failure would send it twice
    warning = json.loads(sent.out)["warnings"][0]
    assert sent.code == 0 and "not published" in warning and "git codev sync" in warning
    assert "cannot fetch" in json.loads(sent.out)["published"]["error"]
    assert messages_on(a, "refs/codev/broadcast").count("push me") == 1
    a.git("remote", "remove", "origin")
    before_send = a.snapshot()
    no_remote = a.run("send", "broadcast", "nowhere to go", "--push", as_="main")
    assert no_remote.code == 2 and "no remote named" in no_remote.err
    assert a.snapshot() == before_send  # refused before anything was written
    unknown = a.run("sync", "nosuchremote")
    assert unknown.code == 2 and "no remote named" in unknown.err


def test_remote_refusing_custom_refs_exits_1_fully_merged(
    clones: list[Sandbox], tmp_path: Path
) -> None:
    a, b, _ = clones
    diverge(b, a)
    git(tmp_path / "remote.git", "config", "receive.hideRefs", "refs/notes/codev")
    git(tmp_path / "remote.git", "config", "uploadpack.hideRefs", "refs/notes/codev")
    a.ok("spawn", "9", "--protocol", "air", "--no-worktree", as_="main")
    remote_before = git(tmp_path / "remote.git", "rev-parse", "refs/codev/broadcast").strip()
    result = a.run("sync")
    assert result.code == 1 and "refused refs/notes/codev/owners" in result.err
    assert "hidden ref" in result.err and len(result.err.strip().splitlines()) == 1
    # git 2.39's receive-pack still applies the other refs of an atomic push in this case;
    # the error says so, and what went through is a fast-forward of the remote
    assert (
        "only refs/codev/broadcast, refs/codev/builders/builder-air-9 got published" in result.err
    )
    remote_after = git(tmp_path / "remote.git", "rev-parse", "refs/codev/broadcast").strip()
    git(tmp_path / "remote.git", "merge-base", "--is-ancestor", remote_before, remote_after)
    # the local side is fully merged: both messages are here, the new record too
    assert sorted(messages_on(a, "refs/codev/broadcast")) == ["local", "published"]
    assert "builder-air-9" in a.ok("status").out


def test_a_remote_ref_that_is_not_a_commit_is_left_alone(
    clones: list[Sandbox], tmp_path: Path
) -> None:
    a, b, _ = clones
    remote = tmp_path / "remote.git"
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=remote, input=b"junk", capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    git(remote, "update-ref", "refs/codev/broadcast", blob)
    a.ok("send", "broadcast", "kept here", as_="main")
    a.ok("architect", "add", "payments")
    a.ok("send", "architect:payments", "still travels", as_="main")
    result = a.ok("sync", "--json")
    data = json.loads(result.out)
    assert data["pushedRefs"] == ["refs/codev/architects", "refs/codev/inbox/payments"]
    assert "refs/codev/broadcast" in data["warnings"][0] and "not a commit" in data["warnings"][0]
    assert git(remote, "rev-parse", "refs/codev/broadcast").strip() == blob
    assert messages_on(a, "refs/codev/broadcast") == ["kept here"]
    b.ok("sync")
    assert "refs/codev/broadcast" not in shared_refs(b)


def test_clones_merging_the_same_tips_write_the_same_merge_commit(clones: list[Sandbox]) -> None:
    from codev_git.sync.merge import merged_tip

    a, b, _ = clones
    diverge(a, b)
    b.git("fetch", "-q", str(a.root), "refs/codev/broadcast:refs/tmp/theirs")
    a.git("fetch", "-q", str(b.root), "refs/codev/broadcast:refs/tmp/theirs")
    mine_a, theirs_a = a.refs("refs/codev/")["refs/codev/broadcast"], a.refs()["refs/tmp/theirs"]
    mine_b, theirs_b = b.refs("refs/codev/")["refs/codev/broadcast"], b.refs()["refs/tmp/theirs"]
    one = merged_tip(Store.discover(a.root), "channel", mine_a, theirs_a)
    two = merged_tip(Store.discover(b.root), "channel", mine_b, theirs_b)
    assert one is not None and one == two
    assert a.git("cat-file", "-p", one).count("parent ") == 2


def test_dry_run_changes_no_local_ref_and_not_the_remote(
    clones: list[Sandbox], tmp_path: Path
) -> None:
    a, b, _ = clones
    diverge(a, b)
    local_before, remote_before = shared_refs(b), git(tmp_path / "remote.git", "for-each-ref")
    data = sync_json(b, "--dry-run")
    assert data["dryRun"] is True and data["newMessages"] == 1
    assert data["mergedRefs"] == ["refs/codev/broadcast"] and data["mergeCommits"] == 1
    assert data["pushedRefs"] == ["refs/codev/broadcast"]
    assert shared_refs(b) == local_before
    assert git(tmp_path / "remote.git", "for-each-ref") == remote_before
    assert "would bring 1 new message" in b.ok("sync", "--dry-run").out


# -- the narrow paths: inbox --fetch, send --push, codev.autoPush -------------------------------
def test_inbox_fetch_takes_only_the_callers_refs(clones: list[Sandbox]) -> None:
    a, b, _ = clones
    a.ok("spawn", "4", "--protocol", "spir", "--no-worktree", "--architect", "payments", as_="main")
    a.ok("send", "architect:payments", "for payments", as_="main")
    a.ok("send", "architect:main", "for main", as_="payments")
    a.ok("send", "broadcast", "for all", as_="main")
    a.ok("inbox", as_="main")  # main has read its inbox and the broadcast in clone a
    a.ok("sync")
    data = json.loads(b.ok("inbox", "--fetch", "--json", as_="payments").out)
    got = [m["message"] for m in data["messages"]]
    assert without_ownership(got) == ["for payments", "for all"] and len(got) == 3
    assert data["fetched"]["pushedRefs"] == [] and data["fetched"]["newMessages"] == 3
    assert "refs/codev/inbox/main" not in shared_refs(b)
    assert "refs/codev/read/architect/main/inbox" not in shared_refs(b)
    main = b.run("inbox", "--fetch", as_="main")
    assert main.code == 0 and "no unread messages" in main.out  # read in clone a: read here
    assert "brought 1 new message" in main.err


def test_send_push_and_auto_push_publish_right_away(clones: list[Sandbox]) -> None:
    a, b, _ = clones
    a.ok("architect", "add", "payments")
    sent = json.loads(
        a.ok("send", "architect:payments", "pushed", "--push", "--json", as_="main").out
    )
    assert sent["published"]["pushedRefs"] == ["refs/codev/inbox/payments"]
    a.git("config", "codev.autoPush", "true")
    a.ok("send", "architect:payments", "auto", as_="main")
    a.ok("send", "architect:payments", "held back", "--no-push", as_="main")
    remote = b.git("ls-remote", "origin", "refs/codev/inbox/payments").split()[0]
    assert sorted(messages_on(a, remote)) == ["auto", "pushed"]
    assert "refs/codev/broadcast" not in b.git("ls-remote", "origin")


# -- a real network transport ----------------------------------------------------------------
@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[str]:
    """``git daemon`` serving tmp_path on a free loopback port, with push enabled."""
    make_remote(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={tmp_path}",
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, "git daemon exited"
                assert time.monotonic() < deadline, "git daemon did not start listening"
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}/remote.git"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_sync_over_git_daemon(daemon: str, tmp_path: Path) -> None:
    a, b = make_clone(tmp_path, daemon, "a"), make_clone(tmp_path, daemon, "b")
    env = {"CODEV_ARCHITECT_NAME": "main"}
    assert (
        run_subprocess(a.root, ["spawn", "5", "--protocol", "air", "--no-worktree"], env).code == 0
    )
    pushed = run_subprocess(a.root, ["send", "5", "over the wire", "--push"], env)
    assert pushed.code == 0 and "pushed 1 ref" in pushed.err, pushed.err
    b.ok("send", "architect:main", "reply over the wire", as_="payments")
    first = run_subprocess(b.root, ["sync"], env)
    # the message, and the announcement of builder-air-5's spawn on its own inbox
    assert first.code == 0 and "brought 2 new messages" in first.out, first.err
    fetched = run_subprocess(a.root, ["inbox", "--fetch"], env)
    assert fetched.code == 0 and "reply over the wire" in fetched.out, fetched.err
    quiesce([a, b])
    assert shared_refs(a) == shared_refs(b)
    assert messages_on(b, "refs/codev/builders/builder-air-5") == ["over the wire"]
    assert "refs/codev-remotes/origin/codev/inbox/main" in b.refs("refs/codev-remotes/")


# -- the benchmark's code path, small --------------------------------------------------------
def test_benchmark_reconciles_diverged_clones(tmp_path: Path) -> None:
    from bench.sync_bench import measure_sync

    figures = measure_sync(tmp_path, per_clone=30)  # it checks that no message was lost
    assert set(figures) == {"build", "transfer", "publish", "diverged", "catch-up", "idle"}
    (tmp_path / "imported").mkdir()
    imported = measure_sync(tmp_path / "imported", per_clone=30, imported=True)
    assert set(imported) == set(figures)


# -- what a person sees on a terminal -------------------------------------------------------------
def test_sync_on_a_terminal_shows_git_transfer_progress_and_clears_it(
    clones: list[Sandbox],
) -> None:
    """git's own progress stages (parsed by GitPython's RemoteProgress) are redrawn in place on
    a terminal's stderr; --json and non-terminals get none of it. A GIT_DIR left in the
    environment (as in a hook) does not send the transfer to another repository."""
    import pty

    a, b, _ = clones
    for n in range(150):
        a.ok("send", "broadcast", f"message {n} " + "x" * 200, as_="main")
    a.ok("sync")
    leader, follower = pty.openpty()
    env = {**os.environ, "CODEV_ARCHITECT_NAME": "main", "GIT_DIR": str(a.root / ".git")}
    proc = subprocess.run(
        ["git", "codev", "sync"], cwd=b.root, env=env, stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    seen = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(leader, 65536):
            seen += chunk
    os.close(leader)
    assert proc.returncode == 0, seen
    assert b"objects: " in seen and b"\r" in seen  # e.g. "Counting objects: 75/151"
    assert seen.endswith(b"\r")  # the line is cleared at the end
    assert len(messages_on(b, "refs/codev/broadcast")) == 150  # fetched into b, not into a
    quiet = b.run("sync", "--json", as_="main")
    assert quiet.code == 0 and "objects" not in quiet.err


def test_one_walk_says_how_a_remote_channel_comes_in(sandbox: Sandbox) -> None:
    """The incoming walk (``theirs ^mine``) decides none / create / fast-forward / merge as
    git's own ancestry does, through merges and unrelated histories, and counts only the
    messages among the commits it walks."""
    from codev_git.sync.intake import incoming

    sandbox.ok("architect", "add", "x")
    for text in ("one", "two", "three"):
        sandbox.ok("send", "architect:x", text, as_="main")
    store = Store.discover(sandbox.root)
    three = store.ref_target("refs/codev/inbox/x")
    assert three is not None
    two = git(sandbox.root, "rev-parse", f"{three}^").strip()
    tree = git(sandbox.root, "rev-parse", f"{three}^{{tree}}").strip()

    def stray(*parents: str, text: str) -> str:  # a commit that is not a message
        args = ["commit-tree", tree, "-m", text]
        for parent in parents:
            args += ["-p", parent]
        return git(sandbox.root, *args).strip()

    side = stray(two, text="side")
    merged = stray(side, three, text="merge of the local tip")
    deeper = stray(merged, text="on top of that merge")
    lonely = stray(text="unrelated root")
    cases = {
        (three, None): ("create", 3),
        (two, three): ("none", 0),
        (three, three): ("none", 0),
        (three, two): ("fast-forward", 1),
        (deeper, three): ("fast-forward", 0),  # through a merge, two commits down
        (deeper, side): ("fast-forward", 1),  # reaches side through the merge
        (side, three): ("merge", 0),
        (lonely, three): ("merge", 0),
    }
    for (theirs, mine), want in cases.items():
        got = incoming(store, "refs/codev/inbox/x", theirs, mine)
        assert (got.action, got.messages) == want, (theirs, mine)
        if mine is not None and mine != theirs:
            ancestor = subprocess.run(
                ["git", "merge-base", "--is-ancestor", mine, theirs], cwd=sandbox.root
            )
            assert (got.action == "fast-forward") == (ancestor.returncode == 0)


def test_a_lock_left_on_the_remote_is_named_not_blamed_on_other_clones(tmp_path: Path) -> None:
    """A push killed on the remote's side leaves `<ref>.lock` there; no retry gets past it.
    sync says which file is in the way and what to do, in one line (exit 1)."""
    remote = make_remote(tmp_path)
    box = make_clone(tmp_path, str(remote), "a")
    box.git("config", "codev.syncAttempts", "2")
    box.ok("send", "architect:main", "one", as_="main")
    box.ok("sync", as_="main")
    box.ok("send", "architect:main", "two", as_="main")
    lock = remote / "refs" / "codev" / "inbox" / "main.lock"
    lock.write_text("")
    stuck = box.run("sync", as_="main")
    assert stuck.code == 1 and len(stuck.err.strip().splitlines()) == 1, stuck.err
    assert "main.lock" in stuck.err and "remove" in stuck.err, stuck.err
    assert "other clones kept pushing" not in stuck.err
    error = json.loads(box.run("sync", "--json", as_="main").out)["error"]
    assert error["code"] == "failed" and "main.lock" in error["message"]
    lock.unlink()
    box.ok("sync", as_="main")
    assert box.git("rev-parse", "refs/codev/inbox/main") == git(
        remote, "rev-parse", "refs/codev/inbox/main"
    )


def one_message_behind(tmp_path: Path) -> Sandbox:
    """A clone that has synced once, while another clone has published one message more."""
    remote = make_remote(tmp_path)
    a, b = (make_clone(tmp_path, str(remote), name) for name in ("a", "b"))
    a.ok("send", "architect:main", "one", as_="main")
    a.ok("sync", as_="main")
    b.ok("sync", as_="main")
    a.ok("send", "architect:main", "two", as_="main")
    a.ok("sync", as_="main")
    return b


def test_a_ref_not_taken_in_is_never_reported_as_in_sync(tmp_path: Path) -> None:
    """A local inbox held by a stale lock cannot take in what another clone sent: sync goes
    on with the rest, warns once naming the lock, and its summary and JSON say which ref was
    left out instead of "already in sync"."""
    b = one_message_behind(tmp_path)
    lock = b.root / ".git" / "refs" / "codev" / "inbox" / "main.lock"
    lock.write_text("")
    # (a stale lock is waited on for a while first: keep the wait short for the test)
    os.utime(lock, (1, 1))
    text = b.ok("sync", as_="main")
    assert "already in sync" not in text.out
    assert "1 ref not taken in" in text.out, text.out
    assert "rm " in text.err and "main.lock" in text.err, text.err
    data = json.loads(b.ok("sync", "--json", as_="main").out)
    assert data["leftOutRefs"] == ["refs/codev/inbox/main"] and not data["changed"]
    lock.unlink()
    data = json.loads(b.ok("sync", "--json", as_="main").out)
    assert data["leftOutRefs"] == [] and data["mergedRefs"] == ["refs/codev/inbox/main"]


def test_a_stale_lock_on_the_mirror_is_named_not_blamed_on_the_remote(tmp_path: Path) -> None:
    b = one_message_behind(tmp_path)
    lock = b.root / ".git" / "refs" / "codev-remotes" / "origin" / "codev" / "inbox" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    os.utime(lock, (1, 1))  # left long ago: named at once, without waiting for it
    stuck = b.run("sync", as_="main")
    assert stuck.code == 1 and len(stuck.err.strip().splitlines()) == 1, stuck.err
    assert str(lock) in stuck.err and "remove" in stuck.err, stuck.err
    assert "URL" not in stuck.err
    lock.unlink()
    assert "1 new message" in b.ok("sync", as_="main").out


def test_a_fetch_that_fails_leaves_the_mirror_as_it_was(tmp_path: Path) -> None:
    """When git refuses both the pattern fetch and the fetch by name (here: a damaged ref
    in this clone), sync says nothing changed locally: the mirror of the remote, which
    the next sync compares with, is as it was too."""
    b = one_message_behind(tmp_path)
    mirror = b.refs("refs/codev-remotes/origin/")
    assert mirror
    (b.root / ".git" / "refs" / "heads" / "damaged").write_text("1" * 40 + "\n")
    failed = b.run("sync", as_="main")
    assert failed.code == 1 and "nothing was changed locally" in failed.err, failed.err
    assert b.refs("refs/codev-remotes/origin/") == mirror
