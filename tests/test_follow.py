"""inbox --follow: a live feed without a server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers import Sandbox


def start_follower(box: Sandbox, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["git-codev", "inbox", "--follow", *extra],  # git re-raises SIGINT on itself
        cwd=box.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_lines(proc: subprocess.Popen[bytes], count: int, timeout: float = 20) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    buffer = b""
    while len(lines) < count and time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            buffer += chunk
            *done, buffer = buffer.split(b"\n")
            lines += [d.decode() for d in done if d.strip()]
        else:
            time.sleep(0.05)
    return lines


def stop(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """Ctrl-C, then (exit code, what was left on stdout, stderr)."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out.decode(), err.decode()


def test_follow_prints_each_message_as_it_arrives(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "already there", cwd=b)
    follower = start_follower(sandbox, "--json")
    try:
        first = read_lines(follower, 2)
        assert json.loads(first[0]) == {"event": "ready", "reader": "architect:main", "exec": None}
        assert [json.loads(x)["message"] for x in first[1:]] == ["already there"]
        for n in range(3):
            sandbox.ok("send", "architect", f"live {n}", cwd=b)
            time.sleep(0.2)
        later = read_lines(follower, 3)
        assert [json.loads(x)["message"] for x in later] == ["live 0", "live 1", "live 2"]
    finally:
        code, _, err = stop(follower)
    assert code == 0 and "Traceback" not in err
    assert json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"] == []


def test_follow_exec_marks_read_only_on_success(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sink = tmp_path / "delivered.txt"
    script = tmp_path / "deliver.sh"
    script.write_text(
        '#!/bin/sh\nbody=$(cat)\ncase "$body" in *refuse*) exit 3;; esac\n'
        f'printf "%s|%s\\n" "$CODEV_FROM" "$(printf %s "$body" | tail -n 1)" >> {sink}\n'
    )
    script.chmod(0o755)
    sandbox.ok("send", "architect", "one", cwd=b)
    sandbox.ok("send", "architect", "please refuse this", cwd=b)
    sandbox.ok("send", "architect", "three", cwd=b)
    follower = start_follower(sandbox, "--exec", str(script))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(sink_lines(sink)) < 2:
            time.sleep(0.1)
    finally:
        code, _, err = stop(follower)
    assert code == 0, err
    # the refused one does not hold back the next; both stay unread behind it
    assert sink.read_text() == "builder-spir-1487|one\nbuilder-spir-1487|three\n"
    assert "stays unread" in err
    left = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in left] == ["please refuse this", "three"]


def test_ctrl_c_during_delivery_keeps_what_was_already_delivered_read(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Ctrl-C while ``--exec`` runs for the third message: the first two were delivered, so
    they stay read; only the interrupted one is delivered again by the next follower."""
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    pid_file, sink = tmp_path / "follower.pid", tmp_path / "delivered.txt"
    script = tmp_path / "deliver.sh"
    script.write_text(
        f'#!/bin/sh\nbody=$(cat)\nprintf "%s\\n" "$body" | tail -n 1 >> {sink}\n'
        f'case "$body" in *interrupt*)\n'
        f"  while [ ! -s {pid_file} ]; do sleep 0.05; done\n"
        f'  kill -INT "$(cat {pid_file})"; sleep 1;;\nesac\n'
    )
    script.chmod(0o755)
    for text in ("one", "two", "interrupt here"):
        sandbox.ok("send", "architect", text, cwd=b)
    follower = start_follower(sandbox, "--exec", str(script))
    pid_file.write_text(str(follower.pid))
    _, err = follower.communicate(timeout=30)
    assert follower.returncode == 0 and "Traceback" not in err.decode(), err
    assert sink_lines(sink) == ["one", "two", "interrupt here"]
    left = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in left] == ["interrupt here"]


def sink_lines(sink: Path) -> list[str]:
    return sink.read_text().splitlines() if sink.exists() else []


def test_follow_option_errors(sandbox: Sandbox) -> None:
    assert sandbox.run("inbox", "--exec", "cat", as_="main").code == 2
    assert sandbox.run("inbox", "--follow", "--peek", as_="main").code == 2


def test_follow_json_stays_json_and_a_refusing_command_backs_off(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("send", "architect", "p1", cwd=sandbox.builder_dir("spir-1487"))
    follower = start_follower(sandbox, "--json", "--exec", "cat >/dev/null; echo NOISE; exit 3")
    time.sleep(5)
    code, out, err = stop(follower)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.strip()]  # nothing but JSON
    assert events[0]["event"] == "ready"
    lines = events[1:]
    assert all(e["message"] == "p1" for e in lines)
    assert 1 <= len(lines) <= 3  # retried after 2 s, then 4 s: not every tick
    assert "NOISE" in err


def test_follow_fetch_every_delivers_what_another_clone_pushed(tmp_path: Path) -> None:
    from tests.test_sync import make_clone, make_remote

    remote = make_remote(tmp_path)
    here = make_clone(tmp_path, str(remote), "here")
    there = make_clone(tmp_path, str(remote), "there")
    follower = start_follower(here, "--json", "--fetch-every", "1")
    try:
        first = read_lines(follower, 1)
        assert [json.loads(x).get("event") for x in first] == ["ready"], first
        there.ok("send", "architect:main", "from the other machine", as_="payments")
        there.ok("sync")
        arrived = [json.loads(x) for x in read_lines(follower, 1)]
        assert [(m["message"], m["from"]) for m in arrived] == [
            ("from the other machine", "architect:payments")
        ]
    finally:
        code, _, err = stop(follower)
    assert code == 0 and "Traceback" not in err, err
