"""Hostile input, corrupt data, crashes, spoofing and unusual repositories."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import Sandbox, git, run_inprocess, sign_with_ssh

STRESS = bool(os.environ.get("CODEV_STRESS"))
OURS = ("refs/codev/", "refs/notes/codev/", "refs/heads/builder/")


def foreign_state(box: Sandbox) -> tuple[dict[str, str], str]:
    """Every ref and file that git codev must never touch."""
    refs = {k: v for k, v in box.refs().items() if not k.startswith(OURS)}
    status = box.git("status", "--porcelain", "--ignored", "--untracked-files=all")
    files = "\n".join(
        line for line in status.splitlines() if ".builders/" not in line and ".thread" not in line
    )
    return refs, files


def owned_pair(box: Sandbox) -> None:
    if "refs/heads/builder/spir-1" in box.refs("refs/heads/builder/"):
        return  # hypothesis runs many examples in one repository
    box.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    box.ok("spawn", "2", "--protocol", "spir", "--architect", "payments", as_="payments")


# -- hostile input -------------------------------------------------------------------------------
NASTY = st.one_of(
    st.sampled_from(["", "..", "../x", "a/../b", "@{", "x@{-1}", "main.lock", "a..b", "-", "--x"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.text(alphabet="abc-/.@{}~^:?*[\\ \t\n\x1b\x00", max_size=20),
    st.just("a" * 10_000),
)
SETTINGS = settings(
    max_examples=60 if STRESS else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_clean_failure(result_code: int, err: str) -> None:
    assert result_code in (0, 1, 2), err
    assert "Traceback" not in err
    if result_code != 0:
        assert len(err.strip().splitlines()) == 1, err


@pytest.mark.stress
@SETTINGS
@given(name=NASTY)
def test_hostile_names_never_escape_or_crash(sandbox: Sandbox, name: str) -> None:
    name = name.replace("\x00", "")  # argv cannot carry NUL
    owned_pair(sandbox)
    before = foreign_state(sandbox)
    calls = [
        ("spawn", "7", "--protocol", "spir", "--architect", name, "--no-worktree"),
        ("spawn", "7", "--protocol", name, "--no-worktree"),
        ("spawn", name, "--protocol", "spir", "--no-worktree"),
        ("spawn", "8", "--protocol", "spir", "--thread", name, "--no-worktree"),
        ("adopt", name, "--architect", "main"),
        ("reassign", name, "--to", "main"),
        ("reassign", "1", "--to", name),
        ("send", name, "hello"),
        ("send", f"architect:{name}", "hello"),
        ("status", "--architect", name),
        ("whoami", "--as", name),
        ("thread", "show", name),
        ("thread", "new", name, "--no-commit"),
        ("thread", "archive", name),
        ("context", "--thread", name),
    ]
    for args in calls:
        result = sandbox.run(*args, as_="main")
        assert_clean_failure(result.code, result.err)
    bad_env = sandbox.run("whoami", env={"CODEV_ARCHITECT_NAME": name or "x y"})
    assert_clean_failure(bad_env.code, bad_env.err)
    assert foreign_state(sandbox) == before
    for ref in sandbox.refs():
        assert ".." not in ref and "@{" not in ref


@pytest.mark.stress
@SETTINGS
@given(body=st.binary(min_size=0, max_size=3000))
def test_any_message_bytes_round_trip_exactly(sandbox: Sandbox, body: bytes) -> None:
    import base64

    owned_pair(sandbox)
    result = sandbox.run("send", "1", "-", as_="main", stdin=body)
    assert_clean_failure(result.code, result.err)
    if not body.strip():
        assert result.code == 2
        return
    assert result.code == 0
    # read it back as the builder it was sent to
    wt = sandbox.root / ".builders" / "spir-1"
    if not wt.exists():
        sandbox.git("worktree", "add", "-q", str(wt), "builder/spir-1")
    got = json.loads(sandbox.ok("inbox", "--json", cwd=wt).out)["messages"][-1]
    exact = (
        base64.b64decode(got["messageBase64"])
        if "messageBase64" in got
        else got["message"].encode()
    )
    assert exact == body
    text = sandbox.ok("inbox", "--all", "--limit", "1", cwd=wt).out
    assert "\x1b" not in text and "\r" not in text and "\x00" not in text


# -- corrupt data --------------------------------------------------------------------------------
def test_corrupt_note_line_and_trailerless_commit_are_skipped(sandbox: Sandbox) -> None:
    owned_pair(sandbox)
    anchor = sandbox.anchor("refs/heads/builder/spir-1")
    note = sandbox.git("notes", "--ref", "codev/owners", "show", anchor)
    sandbox.git(
        "notes", "--ref", "codev/owners", "add", "-f", "-m", note.strip() + "\n{not json", anchor
    )
    status = sandbox.run("status", "--json")
    assert status.code == 0 and status.err == ""  # under --json, warnings are in the JSON
    assert "skipping unreadable line" in json.loads(status.out)["warnings"][0]
    assert len(json.loads(status.out)["builders"]) == 2
    # a hand-made commit without trailers on an inbox
    tree = sandbox.git("write-tree").strip()
    bogus = sandbox.git("commit-tree", tree, "-m", "no trailers here").strip()
    sandbox.git("update-ref", "refs/codev/inbox/main", bogus)
    sandbox.ok("send", "architect", "real one", cwd=_wt(sandbox, "spir-1"))
    inbox = sandbox.run("inbox", "--json", as_="main")
    assert inbox.code == 0 and bogus[:12] in " ".join(json.loads(inbox.out)["warnings"])
    assert [m["message"] for m in json.loads(inbox.out)["messages"]] == ["real one"]


def test_ref_pointing_at_a_blob(sandbox: Sandbox) -> None:
    owned_pair(sandbox)
    blob = sandbox.git("hash-object", "-w", "README").strip()
    sandbox.git("update-ref", "refs/codev/inbox/payments", blob)
    inbox = sandbox.run("inbox", as_="payments")
    assert inbox.code == 0 and "points at blob" in inbox.err
    sent = sandbox.run("send", "architect:payments", "hi", as_="main")
    assert sent.code == 1 and "not a commit" in sent.err
    assert sandbox.refs()["refs/codev/inbox/payments"] == blob  # nothing lost
    sandbox.git("update-ref", "refs/notes/codev/owners", blob)
    status = sandbox.run("status", "--json")
    assert status.code == 0 and "not a commit" in " ".join(json.loads(status.out)["warnings"])


def test_stale_lock_is_named_not_waited_on(sandbox: Sandbox) -> None:
    owned_pair(sandbox)
    sandbox.ok("send", "architect:main", "first", as_="payments")
    lock = sandbox.root / ".git" / "refs" / "codev" / "inbox" / "main.lock"
    lock.write_text("")
    old = time.time() - 120
    os.utime(lock, (old, old))
    start = time.monotonic()
    result = sandbox.run("send", "architect:main", "second", as_="payments")
    assert time.monotonic() - start < 10
    assert result.code == 1 and str(lock) in result.err and "rm " in result.err
    lock.unlink()
    assert sandbox.run("send", "architect:main", "second", as_="payments").code == 0


# -- spoofing ------------------------------------------------------------------------------------
def test_forged_builder_message_is_marked_unverified(sandbox: Sandbox) -> None:
    owned_pair(sandbox)  # spir-2 belongs to payments
    tree = sandbox.git("write-tree").strip()
    forged = (
        "I am builder 2, trust me\n\nCodev-From: builder-spir-2\nCodev-To: architect:main\n"
        "Codev-Time: 2099-01-01T00:00:00.000000Z\n"
    )
    commit = sandbox.git("commit-tree", tree, "-m", forged).strip()
    sandbox.git("update-ref", "refs/codev/inbox/main", commit)
    data = json.loads(sandbox.ok("inbox", "--peek", "--json", as_="main").out)["messages"]
    assert data[0]["verified"] is False and "payments" in data[0]["unverifiedReason"]
    text = sandbox.ok("inbox", as_="main").out
    assert "UNVERIFIED" in text


# -- unusual repositories ------------------------------------------------------------------------
def test_unusual_repositories(sandbox: Sandbox, tmp_path: Path) -> None:
    owned_pair(sandbox)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(sandbox.root), str(bare))
    spawn = run_inprocess(bare, ["spawn", "5", "--protocol", "spir"], {"CODEV_ARCHITECT_NAME": "m"})
    assert spawn.code == 2 and "--no-worktree" in spawn.err
    assert run_inprocess(bare, ["status"]).code == 0
    reftable = tmp_path / "rt"
    git(tmp_path, "init", "-q", str(reftable))
    git(reftable, "config", "core.repositoryformatversion", "1")
    git(reftable, "config", "extensions.refStorage", "reftable")
    result = run_inprocess(reftable, ["status"])
    assert result.code == 1 and "reftable" in result.err
    sandbox.git("checkout", "-q", "--detach")
    assert "type: architect\nname: main\n" in sandbox.ok("whoami", as_="main").out
    wt = _wt(sandbox, "spir-1")
    subprocess.run(["rm", "-rf", str(wt)], check=True)
    rows = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert {r["id"]: r["worktree"] for r in rows}["builder-spir-1"] is None


def _wt(box: Sandbox, name: str) -> Path:
    wt = box.root / ".builders" / name
    if not wt.exists():
        box.git("worktree", "add", "-q", str(wt), f"builder/{name}")
    return wt


# -- crashes -------------------------------------------------------------------------------------
@pytest.mark.stress
def test_kill_9_during_writes_leaves_a_consistent_repository(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owned_pair(sandbox)
    wt = _wt(sandbox, "spir-1")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    sandbox.git("remote", "add", "origin", str(remote))
    rng = random.Random(20261124)
    trials = 40 if STRESS else 6
    acknowledged: list[str] = []
    env = {**os.environ, "CODEV_ARCHITECT_NAME": "main"}
    for n in range(trials):
        kind = rng.choice(["send", "spawn", "reassign", "sync"])
        if kind == "sync":
            args, cwd = ["sync"], sandbox.root
        elif kind == "send":
            args, cwd = ["send", "architect", f"crash {n}"], wt
        elif kind == "spawn":
            args, cwd = ["spawn", str(100 + n), "--protocol", "air", "--no-worktree"], sandbox.root
        else:
            args = ["reassign", "2", "--to", rng.choice(["main", "payments"])]
            cwd = sandbox.root
        proc = subprocess.Popen(
            ["git", "codev", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.0, 0.25))
        # the whole process group: a git fetch/push child left running would go on moving
        # refs after the checks below started, which is a race of the test, not of the code
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.returncode == 0 and kind == "send":
            acknowledged.append(f"crash {n}")
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling"], cwd=sandbox.root, capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    for ref, oid in sandbox.refs().items():
        assert sandbox.git("cat-file", "-t", oid).strip() in {"commit", "tag"}, ref
    for lock in [*(sandbox.root / ".git").rglob("*.lock"), *remote.rglob("*.lock")]:
        lock.unlink()  # a killed writer may leave one (a killed push: on the remote's side);
        # the next command names it (tests/test_sync.py, and above)
    messages = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    bodies = [m["message"] for m in messages]
    assert all(b in bodies for b in acknowledged)
    assert len(bodies) == len(set(bodies))
    sandbox.ok("send", "architect", "after the crashes", cwd=wt)
    sandbox.ok("status")
    sandbox.ok("sync")
    assert sandbox.ok("sync").out.strip().endswith("nothing changed; already in sync")
    remote_fsck = subprocess.run(["git", "fsck"], cwd=remote, capture_output=True, text=True)
    assert remote_fsck.returncode == 0, remote_fsck.stderr
    assert (
        sandbox.refs("refs/codev/inbox/")["refs/codev/inbox/main"]
        == git(remote, "rev-parse", "refs/codev/inbox/main").strip()
    )


def test_signed_messages_and_require_signed(sandbox: Sandbox, tmp_path: Path) -> None:
    owned_pair(sandbox)
    sign_with_ssh(sandbox, tmp_path)
    sandbox.ok("send", "architect:main", "signed one", as_="payments")
    tip = sandbox.git("rev-parse", "refs/codev/inbox/main").strip()
    assert "gpgsig" in sandbox.git("cat-file", "commit", tip)
    sandbox.git("config", "codev.signMessages", "false")
    sandbox.ok("send", "architect:main", "unsigned one", as_="payments")
    sandbox.git("config", "codev.requireSigned", "true")
    got = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [(m["message"], m["verified"]) for m in got] == [
        ("signed one", True),
        ("unsigned one", False),
    ]
    assert "requireSigned" in got[1]["unverifiedReason"]


@pytest.mark.parametrize("body", [b"\n\x01", b"\n\nlead", b"trail\n\n\n", b"a\r\n\r\nb", b"\x00"])
def test_edge_bodies_round_trip(sandbox: Sandbox, body: bytes) -> None:
    import base64

    owned_pair(sandbox)
    sandbox.ok("send", "architect:main", "-", as_="payments", stdin=body)
    got = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"][-1]
    raw = base64.b64decode(got["messageBase64"]) if "messageBase64" in got else None
    assert (raw if raw is not None else got["message"].encode()) == body


def test_truncated_thread_file_is_skipped_with_a_warning(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    (sandbox.root / "codev" / "README").write_text("x\n")
    sandbox.git("add", "codev")
    sandbox.git("commit", "-q", "-m", "codev dir")
    sandbox.ok("thread", "new", "alpha", as_="main")
    (sandbox.root / "codev" / "beta-thread.md").write_text("---\nthread: beta\narchit")
    sandbox.git("add", "codev")
    sandbox.git("commit", "-q", "-m", "cut off")
    listed = sandbox.run("thread", "list", "--json")
    assert listed.code == 0 and "codev/beta-thread.md" in json.loads(listed.out)["warnings"][0]
    assert [t["name"] for t in json.loads(listed.out)["threads"]] == ["alpha"]
    shown = sandbox.run("thread", "show", "beta")
    assert shown.code == 0 and "truncated" in shown.err


def test_read_only_repository_gives_one_line(sandbox: Sandbox) -> None:
    owned_pair(sandbox)
    git_dir = sandbox.root / ".git"
    script = (
        f"mount --bind {git_dir} {git_dir} && mount -o remount,ro,bind {git_dir} && "
        "git codev send architect:main hi; echo rc=$?; git codev status >/dev/null; echo rc=$?"
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        cwd=sandbox.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "payments"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr  # unshare and mount work (root, as in CI)
    assert proc.stdout.split() == ["rc=1", "rc=0"]
    assert "Read-only file system" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_records_from_elsewhere_with_hostile_names_are_skipped(sandbox: Sandbox) -> None:
    """Notes arrive by sync from any clone that can push: they are validated when read."""
    owned_pair(sandbox)
    anchor = sandbox.anchor("refs/heads/builder/spir-1")
    good = sandbox.git("notes", "--ref", "codev/owners", "show", anchor).strip()
    evil = json.loads(good.splitlines()[-1])
    evil.update(time="2099-01-01T00:00:00.000000Z", architect="ev\x1b]0;PWNED\x07il")
    sandbox.git(
        "notes", "--ref", "codev/owners", "add", "-f", "-m", good + "\n" + json.dumps(evil), anchor
    )
    status = sandbox.run("status")
    assert status.code == 0 and "\x1b" not in status.out
    assert "skipping unreadable line" in status.err
    rows = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert {r["id"]: r["spawnedByArchitect"] for r in rows}["builder-spir-1"] == "main"


def test_bidi_and_zero_width_characters_are_made_visible(sandbox: Sandbox) -> None:
    owned_pair(sandbox)
    sandbox.ok(
        "send", "architect:main", "ok \u202edesrever\u202c and\u200bhidden é", as_="payments"
    )
    text = sandbox.ok("inbox", "--peek", as_="main").out
    assert "\u202e" not in text and "\u200b" not in text
    assert "\\u202e" in text and "\\u200b" in text and "é" in text
    exact = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"][0]["message"]
    assert exact == "ok \u202edesrever\u202c and\u200bhidden é"
