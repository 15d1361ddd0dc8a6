"""send and inbox: the hot paths. Keep imports here to what they need."""

from __future__ import annotations

import sys

import click

from codev_git import report
from codev_git.address import BROADCAST, TARGET_HINT
from codev_git.commands.common import F, as_option, complete_targets, echo, json_option, note
from codev_git.errors import CodevError, UsageError
from codev_git.ownership.identity import Identity, resolve
from codev_git.ownership.records import OwnerBook
from codev_git.store import Store


def _read_body(message: str | None, file: str | None) -> bytes:
    """The message: the argument (or '-': stdin), the file, or both: as afx does, --file
    together with a message attaches the file's content below the message."""
    text = None
    if message is not None:
        text = (
            sys.stdin.buffer.read()
            if message == "-"
            else message.encode("utf-8", "surrogateescape")
        )
    attached = None
    if file is not None:
        if file == "-":
            if message == "-":
                raise UsageError("stdin can be read once: give the message or --file as '-'")
            attached = sys.stdin.buffer.read()
        else:
            try:
                with open(file, "rb") as handle:
                    attached = handle.read()
            except OSError as exc:
                raise UsageError(f"cannot read {file}: {exc.strerror}", "check the path") from exc
    if text is None and attached is None:
        raise UsageError(
            "no message given", "pass it as an argument, with --file F, or '-' for stdin"
        )
    if text is None:
        assert attached is not None
        return attached
    if attached is None:
        return text
    return text.rstrip(b"\n") + b"\n\n" + attached


AFX_DELIVERY_FLAGS = ("raw", "no_enter", "interrupt", "delay")


def afx_delivery_options(func: F) -> F:
    """afx's terminal-delivery flags: accepted so afx habits work, and ignored (with a note):
    git codev stores messages in the repository instead of typing into a terminal."""
    for name, takes_value in (
        ("--delay", True),
        ("--interrupt", False),
        ("--no-enter", False),
        ("--raw", False),
    ):
        func = click.option(
            name,
            name.lstrip("-").replace("-", "_"),
            is_flag=not takes_value,
            default=None,
            metavar="MS" if takes_value else None,
            hidden=False,
            help="Accepted for afx compatibility and ignored (messages are stored, not typed).",
        )(func)
    return func


def _note_ignored(flags: dict[str, object]) -> None:
    given = [f"--{n.replace('_', '-')}" for n in AFX_DELIVERY_FLAGS if flags.get(n)]
    if given:
        report.note(
            f"{', '.join(given)} ignored: git codev stores each message in the repository "
            "(read it with 'git codev inbox'); it does not type into a terminal"
        )


@click.command("send")
@click.argument("target", required=False, shell_complete=complete_targets)
@click.argument("message", required=False)
@click.option("--all", "to_all", is_flag=True, help="Everyone: the same as the target broadcast.")
@click.option(
    "--file",
    "-f",
    "file",
    metavar="F",
    help="Read the message from file F ('-': stdin); with a MESSAGE, attach F below it.",
)
@click.option(
    "--push/--no-push",
    "push",
    default=None,
    help="Publish to the default remote right after sending (default: git config codev.autoPush).",
)
@click.option("--ack", is_flag=True, help="Ask for an answer (git codev ack ID, or a reply).")
@click.option("--urgent", is_flag=True, help="Mark the message urgent.")
@afx_delivery_options
@as_option
@json_option
def send_cmd(
    target: str | None,
    message: str | None,
    to_all: bool,
    file: str | None,
    push: bool | None,
    ack: bool,
    urgent: bool,
    as_name: str | None,
    as_json: bool,
    **afx_flags: object,
) -> None:
    """Send MESSAGE to TARGET; the sender is detected from where you run it.

    \b
    TARGET is one of (case-insensitive, as afx takes them):
      architect, arch    from a builder: the architect that spawned it
      architect:NAME     another architect (a builder: only its own)
      broadcast, --all   everyone
      BUILDER            a builder id or a unique tail: builder-spir-1487, spir-1487, 1487, 01487
      WS:TARGET          TARGET in workspace WS (git config codev.workspace.WS.path PATH)

    \b
    Examples:
      git codev send architect "spec ready for review"
      git codev send 1487 "please rebase on main"
      git codev send --all "main is frozen until 3pm"
      echo "long text" | git codev send architect:payments -
      git codev send architect "review please" --file notes.md   # notes.md attached below
      git codev send billing:architect:main "schema change lands today"
      git codev send architect "ready" --push     # publish now (or: git config codev.autoPush true)
      git codev send architect "merge PR 42?" --ack --urgent   # the answer shows in status/prime
    """
    if to_all:
        if message is not None:
            raise UsageError("--all sends to everyone; give only the MESSAGE", "drop the TARGET")
        target, message = BROADCAST, target
    if target is None:
        raise UsageError("no target given", TARGET_HINT)
    _note_ignored(afx_flags)
    body = _read_body(message, file)
    from codev_git.messaging.outbox import send_as
    from codev_git.messaging.render import sent_text

    done = send_as(Store.discover(), as_name, target, body, push=push, ack=ack, urgent=urgent)
    if as_json:
        from codev_git.messaging.render import dump_json, sent_json

        dump_json(sent_json(done.sent, done.published))
        return
    echo(sent_text(done.sent))
    if done.summary:
        note(done.summary)


@click.command("inbox")
@click.option("--peek", is_flag=True, help="Show without marking as read.")
@click.option("--all", "include_read", is_flag=True, help="Show read messages too.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N messages.")
@click.option(
    "--fetch", is_flag=True, help="First fetch and merge your inbox and broadcast from the remote."
)
@click.option("--follow", is_flag=True, help="Keep waiting and print each message as it arrives.")
@click.option(
    "--exec",
    "exec_cmd",
    metavar="CMD",
    help="With --follow: run CMD per message (message on stdin); mark read only if it succeeds.",
)
@click.option(
    "--exec-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="With --exec: end CMD (and what it started) after SECONDS; the message is retried.",
)
@click.option(
    "--fetch-every",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="With --follow: also fetch your inbox from the remote this often.",
)
@as_option
@json_option
def inbox_cmd(
    peek: bool,
    include_read: bool,
    limit: int | None,
    fetch: bool,
    follow: bool,
    exec_cmd: str | None,
    exec_timeout: float | None,
    fetch_every: float | None,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Show your unread messages (your inbox and broadcast), oldest first, and mark them read.

    \b
    Examples:
      CODEV_ARCHITECT_NAME=main git codev inbox
      git codev inbox --peek --json
      git codev inbox --all --limit 20
      git codev inbox --fetch      # take in what reached the remote (default: upstream, origin)
      git codev inbox --follow --json      # a "ready" line, then one JSON line per message
      git codev inbox --follow --exec 'notify-send "codev: $CODEV_FROM" "$(cat)"'
      git codev inbox --follow --exec ./handle-message.sh --exec-timeout 300

    \b
    --exec CMD gets the framed message (header and body) on stdin and CODEV_MESSAGE_ID,
    CODEV_FROM, CODEV_TO, CODEV_THREAD, CODEV_VERIFIED in its environment; a message is read
    only once CMD succeeds, a failing one is retried with backoff, as is one still running
    after --exec-timeout SECONDS (it is ended, with what it started; without the option a
    CMD that hangs holds up the messages after it). One follower per reader
    at a time: a second one says who delivers and waits. (To reach a Claude Code, Codex or
    Gemini session, use 'git codev agent install'; never pipe into 'afx send architect':
    afx would hand one architect's mail to whichever architect it considers main.)
    """
    if (exec_cmd is not None or fetch_every is not None) and not follow:
        raise UsageError("--exec and --fetch-every go with --follow")
    if exec_cmd is not None and not exec_cmd.strip():  # e.g. --exec "$UNSET": runs nothing
        raise UsageError("--exec needs a command", "give the command to run for each message")
    if exec_timeout is not None and exec_cmd is None:
        raise UsageError("--exec-timeout goes with --exec", "give the command to run with --exec")
    if follow and (peek or include_read or limit is not None):
        raise UsageError("--follow delivers unread messages; drop --peek, --all and --limit")

    from codev_git.messaging.deliver import output_error, write_each
    from codev_git.messaging.inbox import collect_inbox
    from codev_git.messaging.render import json_document, message_json, message_text

    store = Store.discover()
    book = OwnerBook(store)
    reader = resolve(store, as_name, book)
    fetched = None
    if fetch:
        from codev_git.sync.exchange import fetch_inbox

        fetched = fetch_inbox(store, reader)
        if not as_json:
            note(fetched.summary())
    if follow:
        fetching = fetch_every if fetch or fetch_every else None
        _follow(store, reader, (exec_cmd, exec_timeout), fetching, as_json)
        return
    found = collect_inbox(store, reader, include_read=include_read, limit=limit, book=book)
    entries = found.entries
    if as_json:
        data: dict[str, object] = {
            "reader": {"type": reader.kind, "name": reader.name, "architect": reader.architect},
            "messages": [message_json(e.message, unread=e.unread) for e in entries],
            # what marking can move past: on each channel, the unread shown up to the first
            # unread left out (--all --limit N may show later ones without earlier ones)
            "markedRead": 0 if peek else found.markable(e.message.id for e in entries),
        }
        if fetched is not None:
            data["fetched"] = fetched.as_json()
        # one document: it is delivered whole or not at all
        done = write_each([json_document(data).encode()])
        if done.error is not None:
            raise output_error(done, len(entries), marked=not peek)
        if not peek:
            found.mark(e.message.id for e in entries)
        return
    if not entries:
        what = "messages" if include_read else "unread messages"
        echo(f"no {what} for {reader.address}")
        if not peek:
            found.mark([])  # past commits that are not messages: warned about once
        return
    done = write_each(
        (message_text(e.message) + "\n\n").encode("utf-8", "surrogateescape") for e in entries
    )
    if not peek:
        found.mark(e.message.id for e in entries[: done.count])
    if done.error is not None:
        raise output_error(done, len(entries), marked=not peek)


def _follow(
    store: Store,
    reader: Identity,
    running: tuple[str | None, float | None],
    fetch_every: float | None,
    as_json: bool,
) -> None:
    """Print (or hand over) each message as it arrives, until Ctrl-C; ``running`` is the
    --exec command, if any, and its time limit. With --json stdout has only JSON lines: a
    ``ready`` event once delivery starts, then one line per message."""
    import json

    from codev_git.messaging.deliver import write_each
    from codev_git.messaging.follow import follow, run_exec
    from codev_git.messaging.message import Message
    from codev_git.messaging.render import message_json, message_text
    from codev_git.store.porcelain import RanTooLong

    def put(text: str) -> None:
        # UTF-8 bytes, as inbox writes them, whatever encoding the locale gives stdout
        done = write_each([text.encode("utf-8", "surrogateescape")])
        if done.error is not None:  # a full disk, a closed pipe: the feed cannot go on
            raise _FeedFailed(done.error)

    def line(data: dict[str, object]) -> None:
        put(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")

    def show(msg: Message) -> None:
        if as_json:
            line({"event": "message", **message_json(msg)})
        else:
            put(message_text(msg) + "\n\n")

    def ready() -> None:
        note(f"following {reader.address}'s inbox; Ctrl-C to stop")
        if as_json:
            line({"event": "ready", "reader": reader.address, "exec": exec_cmd})

    def waiting(holder: str) -> None:
        note(f"{reader.address}'s messages are delivered by {holder}; waiting for it to stop")
        if as_json:
            line({"event": "waiting", "reader": reader.address, "heldBy": holder})

    exec_cmd, exec_timeout = running
    execute = None
    if exec_cmd is not None:

        def execute(msg: Message) -> bool:
            try:
                ok = run_exec(exec_cmd, msg, exec_timeout)
            except RanTooLong:
                note(
                    f"{exec_cmd!r} ran over {exec_timeout:g}s for {msg.short_id} and was "
                    "ended; it stays unread and is retried"
                )
                return False
            if not ok:
                note(f"{exec_cmd!r} failed for {msg.short_id}; it stays unread and is retried")
            return ok

    fetch = None
    if fetch_every is not None:
        from codev_git.sync.exchange import fetch_inbox, parse_remote

        remote = parse_remote(store, None)  # a bad remote is refused before following starts

        def fetch() -> None:
            try:
                fetch_inbox(store, reader, remote)
            except CodevError as exc:
                note(f"fetch failed, will try again: {exc}")

    if as_json:
        from codev_git.commands.console import stream_reports

        stream_reports()  # stdout carries JSON lines: notes go to stderr as JSON lines
    import signal

    def stopped(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C: what was handed over is marked, CMD is ended

    # a follower run as a service is stopped with SIGTERM (a closed terminal: SIGHUP)
    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        follow(
            store,
            reader,
            show,
            execute=execute,
            fetch=fetch,
            fetch_every=fetch_every,
            ready=ready,
            waiting=waiting,
        )
    except KeyboardInterrupt:
        note("stopped")
    except _FeedFailed as failed:
        from codev_git.messaging.deliver import feed_error

        error = feed_error(failed.error)
        if as_json:  # errors go to stdout under --json, and stdout is what failed
            report.warn(str(error))
        raise error from failed
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _FeedFailed(Exception):
    """Writing the live feed failed; what was written before stays marked read."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error
