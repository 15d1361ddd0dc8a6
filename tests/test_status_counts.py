"""Status counts unread messages per reader, even when readers share a channel."""

from __future__ import annotations

import json

from tests.helpers import Sandbox


def test_broadcast_unread_is_counted_per_builder_cursor(sandbox: Sandbox) -> None:
    for n in ("1", "2", "3"):
        sandbox.ok("spawn", n, "--protocol", "spir", "--no-worktree", as_="main")
    sandbox.ok("spawn", "4", "--protocol", "spir", as_="main")
    sandbox.ok("send", "broadcast", "one", as_="main")
    sandbox.ok("send", "broadcast", "two", as_="main")
    sandbox.ok("send", "2", "for two only", as_="main")
    sandbox.ok("inbox", cwd=sandbox.builder_dir("spir-4"))  # builder 4 has read everything
    sandbox.ok("send", "broadcast", "three", as_="main")
    data = json.loads(sandbox.ok("status", "--json").out)
    unread = {row["id"]: row["unread"] for row in data["builders"]}
    assert unread == {  # each also has the message that announced its spawn
        "builder-spir-1": 4,
        "builder-spir-2": 5,
        "builder-spir-3": 4,
        "builder-spir-4": 1,
    }
    assert {a["name"]: a["unread"] for a in data["architects"]} == {"main": 3}


def test_status_refuses_interval_without_watch(sandbox: Sandbox) -> None:
    # as inbox refuses --exec without --follow: an option that would do nothing is a mistake
    result = sandbox.run("status", "--interval", "5")
    assert result.code == 2 and "--watch" in result.err
    assert len(result.err.strip().splitlines()) == 1
