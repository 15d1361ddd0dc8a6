"""log and reply."""

from __future__ import annotations

import click

from codev_git.commands.common import as_option, echo, json_option, note
from codev_git.names import parse_architect, parse_thread
from codev_git.store import Store


@click.command("log")
@click.option("--architect", metavar="A", help="Messages to or from A or A's builders.")
@click.option("--thread", metavar="T", help="Messages in thread T.")
@click.option("--limit", "-n", type=click.IntRange(min=1), metavar="N", help="The newest N.")
@json_option
def log_cmd(architect: str | None, thread: str | None, limit: int | None, as_json: bool) -> None:
    """The whole message history across every inbox, as a timeline (read-only).

    Causal order: a message comes after the messages before it on its channel and after
    the one it replies to, whatever the senders' clocks say; times only break ties. Each
    message is verified as its recipient's inbox would (UNVERIFIED, "verified": false).

    \b
    Examples:
      git codev log -n 20
      git codev log --architect payments --thread checkout-v2 --json
    """
    owner = parse_architect(architect) if architect is not None else None
    thread_name = parse_thread(thread) if thread is not None else None
    from codev_git.clock import iso_seconds
    from codev_git.messaging.history import timeline
    from codev_git.messaging.render import body_text, dump_json, message_json, visible

    store = Store.discover()
    from codev_git.messaging.recipient import verified

    messages = verified(store, timeline(store, architect=owner, thread=thread_name, limit=limit))
    if not messages and owner is not None:
        # a misspelt name would read as "no messages"; checked only when nothing matched,
        # so a removed architect's history stays readable
        from codev_git.ownership.registry import require_known

        require_known(store, owner, f"log --architect {owner}")
    if as_json:
        dump_json({"messages": [message_json(m) for m in messages]})
        return
    if not messages:
        echo("no messages")
    for m in messages:
        head = f"{m.short_id} {visible(iso_seconds(m.time))} {visible(m.sender)} -> {visible(m.to)}"
        if m.thread:
            head += f" [{visible(m.thread)}]"
        echo(head)
        if not m.verified:  # as its recipient's inbox shows it
            echo(f"    !!! UNVERIFIED: {visible(m.why_unverified or 'sender not confirmed')}")
        for line in body_text(m.body).splitlines() or [""]:
            echo(f"    {line}")


@click.command("reply")
@click.argument("message_id")
@click.argument("message", required=False)
@click.option(
    "--file",
    "-f",
    "file",
    metavar="F",
    help="Read the reply from file F ('-': stdin); with a MESSAGE, attach F below it.",
)
@click.option(
    "--push/--no-push",
    "push",
    default=None,
    help="Publish to the default remote right after sending (default: git config codev.autoPush).",
)
@as_option
@json_option
def reply_cmd(
    message_id: str,
    message: str | None,
    file: str | None,
    push: bool | None,
    as_name: str | None,
    as_json: bool,
) -> None:
    """Answer the sender of a message (the reply carries a Codev-Reply-To: trailer).

    A question (sent with --ack) from a builder released since is still answered, by the
    architect it asked only, on the builder's own channel; other messages to a released
    builder are refused.

    \b
    Examples:
      git codev reply 1a2b3c4d "approved, go ahead"
      echo "details" | git codev reply 1a2b3c4d -
      git codev reply 1a2b3c4d "done" --json
    """
    from codev_git.commands.messaging import _read_body
    from codev_git.messaging.outbox import reply
    from codev_git.messaging.render import dump_json, sent_json, sent_text

    body = _read_body(message, file)
    done = reply(Store.discover(), as_name, message_id, body, push=push)
    if as_json:
        dump_json(sent_json(done.sent, done.published))
        return
    echo(sent_text(done.sent))
    if done.summary:
        note(done.summary)
