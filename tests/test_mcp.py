"""git codev mcp, driven by the official SDK's own stdio client against real worktrees."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from codev_git import __version__
from tests.helpers import Sandbox

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
