"""Live delivery: one follower per reader (a lease), --exec retries per message, the feed's
framing and environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers import Sandbox
from tests.test_follow import read_lines, stop


def follower(box: Sandbox, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["git-codev", "inbox", "--follow", "--json", *extra],
        cwd=box.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(predicate: object, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def deliver_script(tmp_path: Path, sink: Path, case: str, *, with_id: bool = False) -> Path:
    """An --exec command: reads the message, runs the shell ``case`` arm on its text, then
    appends the body's last line (after the message id, ``with_id``) to ``sink``."""
    line = '"%s|%s\\n" "$CODEV_MESSAGE_ID"' if with_id else '"%s\\n"'
    script = tmp_path / "deliver.sh"
    script.write_text(
        "#!/bin/sh\nbody=$(cat)\n"
        f'case "$body" in {case} esac\n'
        f'printf {line} "$(printf %s "$body" | tail -n 1)" >> {sink}\n'
    )
    script.chmod(0o755)
    return script


def sink_script(tmp_path: Path, sink: Path, refuse: str = "refuse") -> Path:
    return deliver_script(tmp_path, sink, f"*{refuse}*) exit 3;;", with_id=True)


def sink_lines(sink: Path) -> list[str]:
    return sink.read_text().splitlines() if sink.exists() else []


def test_a_failing_exec_does_not_block_later_messages(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sink = tmp_path / "delivered.txt"
    for text in ("one", "please refuse this", "three"):
        sandbox.ok("send", "architect", text, cwd=b)
    proc = follower(sandbox, "--exec", str(sink_script(tmp_path, sink)))

    def unread() -> list[str]:
        peek = sandbox.ok("inbox", "--peek", "--json", as_="main").out
        return [m["message"] for m in json.loads(peek)["messages"]]

    try:
        assert wait_for(lambda: len(sink_lines(sink)) >= 2), sink_lines(sink)
        # a round marks read what it handed over once it has run CMD for every message:
        # stopping before that would leave "one" unread too (delivered at least once)
        assert wait_for(lambda: "one" not in unread()), unread()
    finally:
        code, out, err = stop(proc)
    assert code == 0, err
    assert [line.split("|")[1] for line in sink_lines(sink)] == ["one", "three"]
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    shown = [e["message"] for e in events if e.get("event") == "message"]
    assert shown.count("please refuse this") == 1  # one line per attempt that ran CMD
    assert shown.count("three") == 1
    # "three" was handed over but sits after the refused one: it stays unread (at least once)
    left = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in left] == ["please refuse this", "three"]


def test_two_followers_deliver_each_message_once_and_a_killed_lease_is_taken_over(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sink = tmp_path / "delivered.txt"
    script = sink_script(tmp_path, sink)
    first = follower(sandbox, "--exec", str(script))
    second = None
    try:
        assert read_lines(first, 1)  # its ready event: it holds the lease
        second = follower(sandbox, "--exec", str(script))
        assert second.stderr is not None
        os.set_blocking(second.stderr.fileno(), False)
        said = b""

        def second_reports() -> bool:
            nonlocal said
            assert second is not None and second.stderr is not None
            said += second.stderr.read() or b""
            return b"waiting" in said

        assert wait_for(second_reports), said
        for n in range(3):
            sandbox.ok("send", "architect", f"m{n}", cwd=b)
        assert wait_for(lambda: len(sink_lines(sink)) >= 3)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
        sandbox.ok("send", "architect", "after the kill", cwd=b)
        assert wait_for(lambda: len(sink_lines(sink)) >= 4)
    finally:
        if first.poll() is None:
            stop(first)
        if second is not None:
            stop(second)
    bodies = [line.split("|")[1] for line in sink_lines(sink)]
    assert bodies == ["m0", "m1", "m2", "after the kill"]
    assert b"delivered by inbox --follow" in said


def test_exec_gets_the_framed_message_and_its_facts(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    dump = tmp_path / "env.txt"
    script = tmp_path / "dump.sh"
    script.write_text(
        "#!/bin/sh\ncat > " + str(tmp_path / "stdin.txt") + "\n"
        'printf "%s\\n%s\\n%s\\n%s\\n%s\\n" "$CODEV_MESSAGE_ID" "$CODEV_FROM" "$CODEV_TO" '
        f'"$CODEV_THREAD" "$CODEV_VERIFIED" > {dump}\n'
    )
    script.chmod(0o755)
    sent = json.loads(sandbox.ok("send", "architect", "hello there", "--json", cwd=b).out)
    proc = follower(sandbox, "--exec", str(script))
    try:
        lines = read_lines(proc, 2)
        assert wait_for(dump.exists)
    finally:
        stop(proc)
    assert json.loads(lines[0])["event"] == "ready"
    assert json.loads(lines[1])["id"] == sent["id"]
    assert dump.read_text().splitlines() == [
        sent["id"],
        "builder-spir-1487",
        "architect:main",
        "",
        "true",
    ]
    framed = (tmp_path / "stdin.txt").read_text()
    assert framed.startswith("### [BUILDER builder-spir-1487 MESSAGE |")
    assert framed.rstrip().endswith("hello there")


def test_a_follower_whose_reader_died_leaves_the_message_unread(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    proc = follower(sandbox)
    try:
        assert json.loads(read_lines(proc, 1)[0])["event"] == "ready"
        assert proc.stdout is not None
        proc.stdout.close()  # the consumer goes away
        sandbox.ok("send", "architect", "nobody is listening", cwd=b)
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    left = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in left] == ["nobody is listening"]


def test_an_exec_that_runs_too_long_is_ended_and_its_message_retried(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """--exec-timeout: a CMD that hangs is ended with what it started, its message stays
    unread and is tried again, and the messages after it are delivered meanwhile."""
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sink, unstuck = tmp_path / "delivered.txt", tmp_path / "unstuck"
    script = deliver_script(tmp_path, sink, f"*hang*) [ -e {unstuck} ] || sleep 987 ;;")
    for text in ("hang here", "after it"):
        sandbox.ok("send", "architect", text, cwd=b)
    proc = follower(sandbox, "--exec", str(script), "--exec-timeout", "1")

    def hanging() -> bool:
        listed = subprocess.run(["pgrep", "-f", "sleep 987"], capture_output=True, check=False)
        return listed.returncode == 0

    try:
        assert wait_for(lambda: sink_lines(sink) == ["after it"]), sink_lines(sink)
        assert wait_for(lambda: not hanging())  # ended, the sleep it started with it
        unstuck.touch()
        assert wait_for(lambda: sorted(sink_lines(sink)) == ["after it", "hang here"])
        assert wait_for(
            lambda: (
                not json.loads(sandbox.ok("inbox", "--peek", "--json", as_="main").out)["messages"]
            )
        )
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert "ran over 1s" in err and "it stays unread and is retried" in err
    assert not hanging()


def test_exec_timeout_goes_with_exec(sandbox: Sandbox) -> None:
    cases = {
        "--exec-timeout goes with --exec": ["--exec-timeout", "5"],
        "is not in the range x>0": ["--exec", "true", "--exec-timeout", "0"],
    }
    for said, args in cases.items():
        refused = subprocess.run(
            ["git", "codev", "inbox", "--follow", *args],
            cwd=sandbox.root,
            env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
            capture_output=True,
            timeout=120,  # a follower that started would run until stopped
            check=False,
        )
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.decode().count("\n") == 1 and said in refused.stderr.decode()
