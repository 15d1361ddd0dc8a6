"""``git codev mcp``: the Model Context Protocol over stdio, with the official ``mcp`` SDK.

Each tool runs the matching ``git codev ... --json`` command in this process and returns its
JSON, so MCP clients get exactly the contract the command line has. Identity is fixed when the
server starts: it is whoever ``git codev whoami`` says in the worktree (and environment) the
server was started in. No tool takes ``--as``: a builder's server can only act as that builder.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import threading
from typing import Any, Literal

_LOCK = threading.Lock()  # commands redirect sys.stdout: one at a time


class CommandFailed(Exception):
    pass


def run_json(*args: str, body: str | None = None) -> Any:
    """``git codev ARGS --json`` in this process: its JSON, or CommandFailed with its one-line
    error. ``body`` is passed through a file (``--file``), byte for byte."""
    from codev_git.cli import main

    argv = [*args]
    path = None
    if body is not None:
        with tempfile.NamedTemporaryFile("wb", delete=False, prefix="codev-mcp-") as handle:
            handle.write(body.encode("utf-8", "surrogateescape"))
        path = handle.name
        argv += ["--file", path]
    argv.append("--json")
    out, err = io.StringIO(), io.StringIO()
    try:
        with _LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        if path is not None:
            os.unlink(path)
    text = out.getvalue()
    if code != 0:  # under --json the one line is the {"error": ...} document on stdout
        raise CommandFailed(_error_line(text) or _last_line(err.getvalue()) or f"exit {code}")
    try:
        return json.loads(text)
    except ValueError:
        return {"output": text}


def _error_line(text: str) -> str | None:
    try:
        error = json.loads(text)["error"]
        what, hint = str(error["message"]), error.get("hint")
    except (ValueError, KeyError, TypeError):
        return None
    return what if not hint else f"{what}; {hint}"


def _last_line(text: str) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


def build_server() -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from codev_git import __version__

    server = MCPServer(
        "git-codev",
        version=__version__,
        instructions=(
            "git codev: messages between architect and builder agents, stored in git. "
            "Call whoami first; inbox to read your messages (mode peek leaves them unread); "
            "send to write; reply or inbox mode ack to answer one that asks for an answer."
        ),
    )

    def call(*args: str, body: str | None = None) -> Any:
        try:
            return run_json(*args, body=body)
        except CommandFailed as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def whoami() -> dict[str, Any]:
        """Who you are in this worktree, and how that was decided."""
        result: dict[str, Any] = call("whoami")
        return result

    @server.tool()
    def send(target: str, message: str, ack: bool = False, urgent: bool = False) -> dict[str, Any]:
        """Send a message. target: 'architect' (a builder's own architect), 'architect:NAME',
        'broadcast', or a builder id or tail such as 1487. ack: ask for an answer."""
        flags = [*(["--ack"] if ack else []), *(["--urgent"] if urgent else [])]
        result: dict[str, Any] = call("send", target, *flags, body=message)
        return result

    @server.tool()
    def inbox(
        mode: Literal["read", "peek", "ack"] = "read",
        message_id: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Your unread messages, oldest first. mode read marks them read, peek does not,
        ack acknowledges message_id (its sender stops waiting for an answer)."""
        if mode == "ack":
            if not message_id:
                raise ToolError("mode ack needs message_id")
            acked: dict[str, Any] = call("ack", message_id)
            return acked
        args = ["inbox", *(["--peek"] if mode == "peek" else [])]
        if limit is not None:
            args += ["--limit", str(limit)]
        result: dict[str, Any] = call(*args)
        return result

    @server.tool()
    def reply(message_id: str, message: str) -> dict[str, Any]:
        """Answer a message's sender (this also acknowledges it)."""
        result: dict[str, Any] = call("reply", message_id, body=message)
        return result

    @server.tool()
    def status(architect: str | None = None, mine: bool = False) -> dict[str, Any]:
        """Builders with owner, thread, branch state and unread counts; pending acks."""
        args = ["status", *(["--mine"] if mine else [])]
        if architect:
            args += ["--architect", architect]
        result: dict[str, Any] = call(*args)
        return result

    @server.tool()
    def thread_list(include_archived: bool = False) -> Any:
        """Threads (per-architect initiatives): name, owner, status, builders."""
        return call("thread", "list", *(["--all"] if include_archived else []))

    @server.tool()
    def thread_show(name: str) -> Any:
        """One thread's file and its live state (builders, unread)."""
        return call("thread", "show", name)

    @server.tool()
    def context() -> Any:
        """The thread context of this worktree (what consult would pass on)."""
        return call("context")

    @server.tool()
    def sync(remote: str | None = None) -> Any:
        """Exchange messages and ownership with a git remote (default: upstream, origin)."""
        return call("sync", *([remote] if remote else []))

    return server


def serve() -> None:
    from codev_git.errors import CodevError
    from codev_git.ownership.identity import resolve
    from codev_git.store import Store

    try:  # refuse at once rather than answer every call with the same error
        resolve(Store.discover())
    except CodevError as exc:
        raise CodevError(f"git codev mcp: {exc.what}", exc.hint) from exc
    build_server().run("stdio")
