"""Nothing lost, nothing forged: a read cursor moves only past what was written out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Sandbox


def fill_inbox(box: Sandbox, count: int, size: int = 10) -> None:
    box.ok("spawn", "1", "--protocol", "spir", as_="main")
    worker = box.builder_dir("spir-1")
    for n in range(count):
        box.ok("send", "architect", f"message {n} " + "x" * size, cwd=worker)


def unread(box: Sandbox) -> int:
    import json

    result = box.ok("inbox", "--peek", "--json", as_="main")
    return len(json.loads(result.out)["messages"])


def test_inbox_to_a_full_device_fails_in_one_line_and_marks_nothing_read(
    sandbox: Sandbox,
) -> None:
    fill_inbox(sandbox, 3)
    proc = subprocess.run(
        ["git", "codev", "inbox"],
        cwd=sandbox.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        stdout=open("/dev/full", "wb"),  # noqa: SIM115
        stderr=subprocess.PIPE,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert "no space left on device" in err and "internal error" not in err
    assert unread(sandbox) == 3


def test_inbox_into_a_pipe_closed_early_leaves_the_rest_unread(sandbox: Sandbox) -> None:
    fill_inbox(sandbox, 120, size=2000)  # ~240 KB of output: far more than a pipe holds
    proc = subprocess.run(
        ["bash", "-c", "set -o pipefail; git codev inbox | head -c 100 >/dev/null"],
        cwd=sandbox.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        capture_output=True,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "closed the pipe" in err, err
    left = unread(sandbox)
    assert 0 < left < 120
    # what is left is exactly what was not written: reading it all now shows the rest
    shown = sandbox.ok("inbox", as_="main").out
    assert shown.count("### [BUILDER") == left
    assert f"message {119} " in shown


# -- builders in the middle of real work -----------------------------------------------------------
def conflicting_rebase(box: Sandbox) -> Path:
    """A builder worktree stopped in the middle of a rebase (a conflict), HEAD detached."""
    box.ok("spawn", "1", "--protocol", "spir", as_="main")
    worker = box.builder_dir("spir-1")
    (worker / "README").write_text("builder's version\n")
    box.git("commit", "-qam", "builder change", cwd=worker)
    (box.root / "README").write_text("main's version\n")
    box.git("commit", "-qam", "main change")
    proc = subprocess.run(["git", "rebase", "main"], cwd=worker, capture_output=True, check=False)
    assert proc.returncode != 0  # stopped on the conflict
    assert box.git("rev-parse", "--abbrev-ref", "HEAD", cwd=worker).strip() == "HEAD"
    return worker


def test_a_builder_in_the_middle_of_a_rebase_is_still_that_builder(sandbox: Sandbox) -> None:
    worker = conflicting_rebase(sandbox)
    thread_tag = (worker / ".thread").read_text()
    assert "builder: builder-spir-1" in thread_tag  # the detached checkout left it alone
    who = sandbox.ok("whoami", cwd=worker)
    assert "builder-spir-1" in who.out and "rebase" in who.out
    sandbox.ok("send", "architect", "BLOCKED: rebase conflict in README", cwd=worker)
    assert "BLOCKED" in sandbox.ok("inbox", as_="main").out
    sandbox.git("rebase", "--abort", cwd=worker)
    assert (worker / ".thread").read_text() == thread_tag


def test_a_successful_rebase_keeps_the_tag(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worker = sandbox.builder_dir("spir-1")
    tag = (worker / ".thread").read_text()
    (worker / "work.txt").write_text("work\n")
    sandbox.git("add", "work.txt", cwd=worker)
    sandbox.git("commit", "-qm", "work", cwd=worker)
    (sandbox.root / "other.txt").write_text("other\n")
    sandbox.git("add", "other.txt")
    sandbox.git("commit", "-qm", "other")
    during = sandbox.root.parent / "during-rebase"
    sandbox.git("rebase", "-q", "main", "--exec", f"cat .thread > '{during}'", cwd=worker)
    assert during.read_text() == tag  # in the middle of the rebase (HEAD detached)
    assert (worker / ".thread").read_text() == tag


def test_bisect_and_a_detached_checkout_keep_the_builder_identity(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worker = sandbox.builder_dir("spir-1")
    for n in range(3):
        (worker / "f").write_text(f"{n}\n")
        sandbox.git("add", "f", cwd=worker)
        sandbox.git("commit", "-qm", f"c{n}", cwd=worker)
    sandbox.git("bisect", "start", "HEAD", "HEAD~3", cwd=worker)
    assert "builder-spir-1" in sandbox.ok("whoami", cwd=worker).out
    assert "bisect" in sandbox.ok("whoami", cwd=worker).out
    sandbox.git("bisect", "reset", cwd=worker)
    sandbox.git("checkout", "-q", "--detach", "HEAD~1", cwd=worker)
    who = sandbox.ok("whoami", cwd=worker)
    assert "builder-spir-1" in who.out and ".thread" in who.out
    sandbox.ok("send", "architect", "detached but still me", cwd=worker)


def test_thread_new_on_a_detached_head_is_refused(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.git("checkout", "-q", "--detach")
    before = sandbox.snapshot()
    result = sandbox.run("thread", "new", "orphan", as_="main")
    assert result.code == 2 and "detached" in result.err and "git switch" in result.err
    assert sandbox.snapshot() == before


def test_a_stale_index_lock_is_named_with_what_to_do(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    lock = sandbox.root / ".git" / "index.lock"
    lock.write_text("")
    result = sandbox.run("thread", "new", "locked", as_="main")
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    assert f"rm '{lock}'" in result.err


def test_a_killed_archive_is_finished_by_running_it_again(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "t1", as_="main")
    # what a kill -9 between `git mv` and the commit leaves
    (sandbox.root / "codev" / "archive").mkdir()
    sandbox.git("mv", "codev/t1-thread.md", "codev/archive/t1-thread.md")
    again = sandbox.run("thread", "archive", "t1", as_="main")
    assert again.code == 0, again.err
    assert "interrupted" in again.err
    assert sandbox.git("status", "--porcelain").strip() == ""
    assert "codev/archive/t1-thread.md" in sandbox.git("ls-tree", "-r", "--name-only", "HEAD")


# -- confusing errors ------------------------------------------------------------------------------
def one_line(err: str) -> str:
    assert len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err and "Traceback" not in err, err
    return err


def test_a_ref_name_conflict_is_named_at_once(sandbox: Sandbox) -> None:
    head = sandbox.git("rev-parse", "HEAD").strip()
    sandbox.git("update-ref", "refs/codev/inbox/ops/x", head)  # left by some other tool
    sandbox.ok("architect", "add", "ops")
    result = sandbox.run("send", "architect:ops", "hello", as_="main")
    assert result.code == 1
    err = one_line(result.err)
    assert "refs/codev/inbox/ops/x exists" in err and "git update-ref -d" in err
    assert "it now has one" not in err  # nothing is claimed that did not happen


def test_a_fresh_lock_is_named_with_what_to_do(sandbox: Sandbox) -> None:
    sandbox.ok("send", "architect:main", "first", as_="ops")
    lock = sandbox.root / ".git" / "refs" / "codev" / "inbox" / "main.lock"
    lock.write_text("")  # fresh: another writer might hold it, so it is waited on first
    result = sandbox.run("send", "architect:main", "second", as_="ops")
    assert result.code == 1
    err = one_line(result.err)
    assert str(lock) in err and "rm '" in err and "keeps moving" not in err


def test_a_database_path_too_long_is_one_line(sandbox: Sandbox) -> None:
    result = sandbox.run("adopt", "--from-afx", "--db", "a" * 10_000, "--architect", "main")
    assert result.code == 2
    one_line(result.err)


# -- kill -9 during thread archive -----------------------------------------------------------------
STRESS = bool(os.environ.get("CODEV_STRESS"))


@pytest.mark.stress
def test_kill_9_during_thread_archive_then_the_same_command_repairs_or_refuses(
    sandbox: Sandbox,
) -> None:
    import random
    import signal
    import time

    (sandbox.root / "codev").mkdir()
    # git's own background maintenance after a commit (objects/maintenance.lock) is git's
    # business, not the archive's: keep it out of the lock count
    sandbox.git("config", "maintenance.auto", "false")
    rng = random.Random(20261125)
    env = {**os.environ, "CODEV_ARCHITECT_NAME": "main"}
    for n in range(24 if STRESS else 4):
        name = f"t{n}"
        sandbox.ok("thread", "new", name, as_="main")
        proc = subprocess.Popen(
            ["git", "codev", "thread", "archive", name],
            cwd=sandbox.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # kill -9 takes git's own children with it
        )
        time.sleep(rng.uniform(0.0, 0.4))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for _ in range(4):  # the same command again: done, repaired, or one clear refusal
            again = sandbox.run("thread", "archive", name, as_="main")
            if again.code == 0:
                break
            err = one_line(again.err)
            assert again.code == 1, err
            if "already archived" in err:
                break
            assert "rm '" in err, err  # a lock the killed git left: named, with the fix
            lock = err.split("rm '", 1)[1].split("'", 1)[0]
            os.unlink(lock)
        else:
            raise AssertionError(f"archive of {name} never settled")
        tree = sandbox.git("ls-tree", "-r", "--name-only", "HEAD")
        assert f"codev/archive/{name}-thread.md" in tree
        assert f"codev/{name}-thread.md" not in tree.split()
        assert sandbox.git("status", "--porcelain").strip() == ""
    assert not list((sandbox.root / ".git").rglob("*.lock"))
    fsck = subprocess.run(["git", "fsck", "--no-dangling"], cwd=sandbox.root, capture_output=True)
    assert fsck.returncode == 0, fsck.stderr


def test_a_rebase_puts_back_a_missing_tag(sandbox: Sandbox) -> None:
    worker = conflicting_rebase(sandbox)
    sandbox.git("rebase", "--abort", cwd=worker)
    tag = (worker / ".thread").read_text()
    (worker / ".thread").unlink()  # lost (an older version removed it on every rebase)
    proc = subprocess.run(["git", "rebase", "main"], cwd=worker, capture_output=True, check=False)
    assert proc.returncode != 0
    assert (worker / ".thread").read_text() == tag
    sandbox.git("rebase", "--abort", cwd=worker)
    assert (worker / ".thread").read_text() == tag


def test_any_command_to_a_full_device_fails_in_one_line_not_as_a_bug(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    for args in (["status"], ["log"], ["whoami"], ["inbox"], ["inbox", "--peek"], ["help"]):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run(
                ["git", "codev", *args],
                cwd=sandbox.root,
                env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
                stdout=full,
                stderr=subprocess.PIPE,
                check=False,
            )
        err = proc.stderr.decode()
        assert proc.returncode == 1, (args, err)
        assert len(err.strip().splitlines()) == 1, (args, err)
        assert "no space left on device" in err.lower() and "internal error" not in err, err
