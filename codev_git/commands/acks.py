"""ack: answer a message that asked for one, without writing a reply."""

from __future__ import annotations

import click

from codev_git.commands.common import as_option, echo, json_option
from codev_git.store import Store


@click.command("ack")
@click.argument("message_id")
@click.argument("message", required=False)
@as_option
@json_option
def ack_cmd(message_id: str, message: str | None, as_name: str | None, as_json: bool) -> None:
    """Acknowledge message ID: its sender stops seeing it as awaiting an answer.

    The acknowledgement is a message back to the sender (Codev-Reply-To: ID, Codev-Kind: ack),
    so it syncs like any other. Replying with 'git codev reply ID' acknowledges too.
    A released builder's question is still acknowledged by the architect it asked.

    \b
    Examples:
      git codev ack 1a2b3c4d
      git codev ack 1a2b3c4d "seen; will look after lunch"
      git codev ack 1a2b3c4d --json
    """
    from codev_git.messaging.acks import ACK_BODY
    from codev_git.messaging.message import KIND_ACK
    from codev_git.messaging.outbox import reply

    body = message.encode("utf-8", "surrogateescape") if message else ACK_BODY
    done = reply(Store.discover(), as_name, message_id, body, kind=KIND_ACK)
    if as_json:
        from codev_git.messaging.render import dump_json, sent_json

        dump_json(sent_json(done.sent, done.published))  # the fields send and reply print
    else:
        assert done.sent.reply_to is not None
        echo(f"acknowledged {done.sent.reply_to[:12]} ({done.sent.id[:12]} to {done.sent.to})")
