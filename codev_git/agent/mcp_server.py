"""``git codev mcp``: the Model Context Protocol over stdio, with the official ``mcp`` SDK.

Each tool runs the matching ``git codev ... --json`` command in this process and returns its
JSON, so MCP clients get exactly the contract the command line has. Identity is fixed when the
server starts: it is whoever ``git codev whoami`` says in the worktree (and environment) the
server was started in. No tool takes ``--as``: a builder's server can only act as that builder.

``inbox`` in mode ``read`` is the one tool that changes what a later call sees, so it is the
one that does not just run the command: a read cursor moves only past what was delivered, and a
call the client cancels (``notifications/cancelled``, Esc in Claude Code) or abandons by
disconnecting is never answered. So the messages are taken without marking (a worker thread
runs ``inbox --peek --json``), and they are marked read on the event loop only if the call was
not cancelled meanwhile, right before the answer is written; reads run one at a time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import threading
from typing import Any, Literal

# commands redirect sys.stdout: one at a time (reentrant: a read holds it across two steps)
_LOCK = threading.RLock()


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
    if code != 0:
        raise CommandFailed(_error_line(out.getvalue(), err.getvalue(), f"{args[0]} exited {code}"))
    text = out.getvalue()
    try:
        return json.loads(text)
    except ValueError:
        return {"output": text}


def _error_line(out: str, err: str, fallback: str) -> str:
    """A failed command's one-line error: under ``--json`` the ``{"error": ...}`` document it
    printed on stdout (what, then the hint), else the last line on stderr."""
    with contextlib.suppress(ValueError, TypeError, KeyError):
        error = json.loads(out)["error"]
        message, hint = str(error["message"]), error.get("hint")
        return f"{message}; {hint}" if hint else message
    lines = [line for line in err.splitlines() if line.strip()]
    return lines[-1] if lines else f"git codev {fallback}"


def take_unread(limit: int | None) -> tuple[dict[str, Any], Any]:
    """The first half of an inbox read, in a worker thread: what ``inbox --peek --json``
    shows, and the inbox as :func:`~codev_git.messaging.inbox.collect_inbox` found it then, to
    mark from (:meth:`~codev_git.messaging.inbox.InboxRead.mark` moves each cursor only past
    the shown messages, so one that arrived in between stays unread). Marks nothing."""
    from codev_git import report
    from codev_git.errors import CodevError
    from codev_git.messaging.inbox import collect_inbox
    from codev_git.ownership.identity import resolve
    from codev_git.ownership.records import OwnerBook
    from codev_git.store import Store

    with _LOCK:
        data: dict[str, Any] = run_json(
            "inbox", "--peek", *(["--limit", str(limit)] if limit is not None else [])
        )
        try:
            with report.collecting():  # the JSON carries them already
                store = Store.discover()
                book = OwnerBook(store)
                reader = resolve(store, None, book)
                found = collect_inbox(store, reader, limit=len(data["messages"]), book=book)
        except CodevError as exc:
            raise CommandFailed(exc.what) from exc
    return data, found


def build_server() -> Any:
    import anyio
    import anyio.lowlevel
    import anyio.to_thread
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from codev_git import __version__
    from codev_git.errors import CodevError

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

    reading = anyio.Lock()  # one read at a time: two must not both return the same messages

    async def read(limit: int | None) -> dict[str, Any]:
        async with reading:
            try:
                data, found = await anyio.to_thread.run_sync(take_unread, limit)
            except CommandFailed as exc:
                raise ToolError(str(exc)) from exc
            # A call cancelled meanwhile (the SDK cancels the handler on notifications/cancelled
            # and when the client goes away, but waits for the thread) stops here: it will not
            # be answered, so nothing is marked. From here to the answer nothing awaits: the
            # cursors are written on the event loop (a few ms), then the answer goes out.
            await anyio.lowlevel.checkpoint_if_cancelled()
            try:
                data["markedRead"] = found.mark(m["id"] for m in data["messages"])
            except CodevError as exc:  # not marked: not answered either, they stay unread
                raise ToolError(f"cannot mark the messages read: {exc.what}") from exc
            return data

    @server.tool()
    async def inbox(
        mode: Literal["read", "peek", "ack"] = "read",
        message_id: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Your unread messages, oldest first. mode read marks them read as it answers (a
        call you cancel marks nothing: they stay unread for the next one), peek does not
        mark them, ack acknowledges message_id (its sender stops waiting for an answer)."""
        if mode == "read":
            return await read(limit)
        if mode == "ack":
            if not message_id:
                raise ToolError("mode ack needs message_id")
            args = ["ack", message_id]
        else:
            args = ["inbox", "--peek", *(["--limit", str(limit)] if limit is not None else [])]
        result: dict[str, Any] = await anyio.to_thread.run_sync(lambda: call(*args))
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
