"""git codev mcp, driven by the official SDK's own stdio client against real worktrees."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from codev_git import __version__
from tests.helpers import Sandbox, git

TOOLS = {
    "whoami",
    "send",
    "inbox",
    "reply",
    "status",
    "thread_list",
    "thread_show",
    "context",
    "sync",
}


def server(cwd: Path, **env: str) -> StdioServerParameters:
    base = {k: v for k, v in os.environ.items() if k != "CODEV_ARCHITECT_NAME"}
    return StdioServerParameters(command="git", args=["codev", "mcp"], cwd=cwd, env={**base, **env})


def payload(result: Any) -> Any:
    assert not result.is_error, result
    if result.structured_content is not None:
        data = result.structured_content
        return data.get("result", data) if set(data) == {"result"} else data
    return json.loads(result.content[0].text)


def test_builder_sends_and_its_architect_reads_through_mcp(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    builder_dir = sandbox.builder_dir("spir-1487")

    async def scenario() -> tuple[set[str], Any, Any, Any, Any, Any]:
        async with Client(server(builder_dir)) as builder:
            names = {tool.name for tool in (await builder.list_tools()).tools}
            info = builder.server_info
            assert info is not None and info.version == __version__  # not ""
            me = payload(await builder.call_tool("whoami", {}))
            sent = payload(
                await builder.call_tool(
                    "send", {"target": "architect", "message": "-- spec ready", "ack": True}
                )
            )
            refused = await builder.call_tool(
                "send", {"target": "architect:payments", "message": "spoof"}
            )
        async with Client(server(sandbox.root, CODEV_ARCHITECT_NAME="main")) as architect:
            inbox = payload(await architect.call_tool("inbox", {"mode": "peek"}))
            acked = payload(
                await architect.call_tool("inbox", {"mode": "ack", "message_id": sent["id"]})
            )
        return names, me, sent, refused, inbox, acked

    names, me, sent, refused, inbox, acked = anyio.run(scenario)
    assert names >= TOOLS
    assert me["type"] == "builder" and me["name"] == "builder-spir-1487"
    assert sent["from"] == "builder-spir-1487" and sent["to"] == "architect:main"
    assert refused.is_error  # a builder cannot write as, or to, another architect
    # the tool error carries the command's own one line, not only its exit status
    said = refused.content[0].text
    assert "may only write to its own architect" in said and "exited" not in said, said
    [msg] = inbox["messages"]
    assert msg["id"] == sent["id"] and msg["message"] == "-- spec ready"
    assert msg["ack"] == "requested"
    # the same JSON as the command line
    cli = json.loads(sandbox.ok("inbox", "--peek", "--json", as_="main").out)
    assert cli == inbox
    assert acked["replyTo"] == sent["id"]
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []


def gated_remote(sandbox: Sandbox, tmp_path: Path) -> tuple[str, Path]:
    """A remote whose transport waits for the test: every connection to it first reads the
    FIFO ``gate`` (until the test creates ``gate.open``), then runs git's own server side
    (an ``ext::`` remote; git refuses those unless ``protocol.ext.allow`` says always)."""
    bare = tmp_path / "gated.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    fifo = tmp_path / "gate"
    os.mkfifo(fifo)
    script = tmp_path / "gate.sh"
    script.write_text(
        f'#!/bin/sh\n[ -e "{fifo}.open" ] || cat "{fifo}" >/dev/null\nexec git "$1" "$2"\n'
    )
    script.chmod(0o755)
    git(sandbox.root, "config", "protocol.ext.allow", "always")
    git(sandbox.root, "remote", "add", "gated", f"ext::{script} %s {bare}")
    return "gated", fifo


@contextlib.asynccontextmanager
async def command_lock_held(client: Client, remote: str, fifo: Path) -> AsyncIterator[list[Any]]:
    """While the block runs, a ``sync`` call to the gated ``remote`` holds the server's command
    lock: once the test's open of the FIFO for writing returns, the gate is reading it, so the
    sync is running. Leaving the block opens the gate; the sync's answer is then put in the
    list yielded."""
    synced: list[Any] = []
    reached = False
    async with anyio.create_task_group() as tasks:

        async def run_sync() -> None:
            synced.append(await client.call_tool("sync", {"remote": remote}))
            if not reached:  # it never reached the gate: let the open below return
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))

        tasks.start_soon(run_sync)
        held = await anyio.to_thread.run_sync(os.open, fifo, os.O_WRONLY)
        reached = not synced
        try:
            assert reached, f"sync never reached the gated transport: {synced}"
            yield synced
        finally:
            Path(f"{fifo}.open").touch()
            os.close(held)


def mail_for_main(sandbox: Sandbox) -> list[str]:
    """Three messages from a builder to architect main; the bodies of main's unread."""
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    for n in range(3):
        sandbox.ok("send", "architect", f"note {n}", cwd=sandbox.builder_dir("spir-1487"))
    waiting = unread(sandbox)
    assert len(waiting) == 3
    return waiting


def unread(sandbox: Sandbox) -> list[str]:
    peek = json.loads(sandbox.ok("inbox", "--peek", "--json", as_="main").out)
    return [m["message"] for m in peek["messages"]]


def test_a_cancelled_inbox_read_leaves_the_messages_unread(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A read the client abandons (Esc in Claude Code: the SDK client sends
    notifications/cancelled) is never answered, so it must mark nothing read.

    The read is made to be in flight, deterministically: while a sync holds the server's
    command lock (:func:`command_lock_held`) the read is sent, then ``list_tools``, whose
    answer means the server has dispatched the read (stdio is ordered, requests are handled
    in the order they arrive), which now waits for the lock. Then the read is cancelled and
    the gate opened. A ``whoami`` after the sync takes the lock after the abandoned read's
    worker thread has had it (it was waiting for it first)."""
    waiting = mail_for_main(sandbox)
    remote, fifo = gated_remote(sandbox, tmp_path)

    async def scenario() -> tuple[Any, list[str], list[str], Any]:
        answered: list[str] = []
        async with Client(server(sandbox.root, CODEV_ARCHITECT_NAME="main")) as architect:
            reading = anyio.CancelScope()

            async def read() -> None:
                with reading:
                    await architect.call_tool("inbox", {"mode": "read"})
                    answered.append("answered")

            async with (
                command_lock_held(architect, remote, fifo) as synced,
                anyio.create_task_group() as tasks,
            ):
                tasks.start_soon(read)
                await architect.list_tools()  # the read is in the server, waiting
                reading.cancel()
            await architect.call_tool("whoami", {})
            after_cancel = unread(sandbox)
            read = payload(await architect.call_tool("inbox", {"mode": "read"}))
        return synced[0], answered, after_cancel, read

    synced, answered, after_cancel, read = anyio.run(scenario)
    payload(synced)
    assert answered == []
    assert after_cancel == waiting  # nothing of the abandoned read was marked
    assert [m["message"] for m in read["messages"]] == waiting
    assert read["markedRead"] == len(waiting)
    assert unread(sandbox) == []


def test_two_inbox_reads_at_once_hand_each_message_over_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Reads run one at a time: the second takes its messages after the first marked its own.
    Both are sent while a sync holds the command lock (see the test above), so both are in
    the server when the lock frees."""
    waiting = mail_for_main(sandbox)
    remote, fifo = gated_remote(sandbox, tmp_path)

    async def scenario() -> tuple[Any, list[Any]]:
        reads: list[Any] = []
        async with Client(server(sandbox.root, CODEV_ARCHITECT_NAME="main")) as architect:

            async def read() -> None:
                reads.append(payload(await architect.call_tool("inbox", {"mode": "read"})))

            async with (
                anyio.create_task_group() as tasks,
                command_lock_held(architect, remote, fifo) as synced,
            ):
                tasks.start_soon(read)
                tasks.start_soon(read)
                await architect.list_tools()  # both reads are in the server, waiting
        return synced[0], reads

    synced, reads = anyio.run(scenario)
    payload(synced)
    handed = [m["message"] for r in reads for m in r["messages"]]
    assert sorted(handed) == sorted(waiting)  # each once
    assert sum(r["markedRead"] for r in reads) == len(waiting)
    assert unread(sandbox) == []
