"""status --watch in a real terminal (tmux): the table is redrawn in place when a builder is
spawned, Ctrl-C ends it cleanly, and without a terminal it is plain `status`."""

from __future__ import annotations

import os
import subprocess
import uuid

from tests.helpers import Sandbox, run_subprocess
from tests.web_helpers import wait_for


def tmux(socket: str, *args: str) -> str:
    proc = subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    return proc.stdout


def test_watch_redraws_in_place_and_stops_on_ctrl_c(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    socket = f"codev-{uuid.uuid4().hex[:8]}"
    # from a shell, as a person runs it: the shell reports the exit status it saw
    rc_file = sandbox.root.parent / "watch-exit"
    command = f"cd {sandbox.root} && git-codev status --watch --interval 30; echo $? > {rc_file}"
    tmux(socket, "new-session", "-d", "-s", "w", "-x", "120", "-y", "30", command)
    tmux(socket, "set-option", "-t", "w", "remain-on-exit", "on")
    try:

        def screen() -> str:
            return tmux(socket, "capture-pane", "-p", "-t", "w")

        first = wait_for(lambda: "builder-spir-1487" in screen() and screen(), 30)
        assert first and "Every 30s and on change" in first
        sandbox.ok("spawn", "1600", "--protocol", "spir", as_="payments")
        # the interval is 30 s: only the ref watcher can show it this soon
        later = wait_for(lambda: "builder-spir-1600" in screen() and screen(), 20)
        assert later, screen()
        assert later.count("BUILDER ") == 1  # redrawn in place, not appended
        tmux(socket, "send-keys", "-t", "w", "C-c")
        dead = wait_for(lambda: rc_file.exists() and rc_file.read_text().strip() != "", 20)
        status = rc_file.read_text().strip() if rc_file.exists() else ""
        final = screen()
    finally:
        tmux(socket, "kill-server")
    assert dead and status == "0", (status, final)
    assert "builder-spir-1600" in final and "Traceback" not in final  # the last table stays


def test_watch_without_a_terminal_prints_the_table_once(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    once = run_subprocess(sandbox.root, ["status", "--watch"])
    plain = run_subprocess(sandbox.root, ["status"])
    assert once.code == 0 and once.out == plain.out and "\x1b" not in once.out
    both = run_subprocess(sandbox.root, ["status", "--watch", "--json"])
    assert both.code == 2
