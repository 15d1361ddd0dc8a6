"""Acknowledgements: which messages await an answer, for whom, since when.

The data model (trailers on message commits, so acknowledgements sync like any message):

- ``send --ack`` writes ``Codev-Ack: requested``; ``send --urgent`` writes
  ``Codev-Importance: urgent``.
- ``git codev ack ID`` sends a message back to the original sender with
  ``Codev-Reply-To: <id>`` and ``Codev-Kind: ack``; any message *from the recipient* whose
  ``Codev-Reply-To`` names a message answers it (so ``reply`` acknowledges too).
- A message awaits an answer while it carries ``Codev-Ack: requested`` and no answer exists.

Answers are found by walking every channel once; the order of events is the commit graph's,
and the age shown is only for people (now minus the message's ``Codev-Time``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codev_git import clock
from codev_git.address import is_broadcast
from codev_git.messaging.message import Message
from codev_git.store import Store

ACK_BODY = b"ack"


@dataclass(frozen=True)
class Awaiting:
    """A message that asked for an answer and has none yet."""

    message: Message
    age_seconds: int | None  # None when the message's time cannot be read

    @property
    def waiting_on(self) -> str:
        """Who owes the answer: the address the message was sent to."""
        return self.message.to

    @property
    def since(self) -> str:
        return self.message.time

    def as_json(self) -> dict[str, Any]:
        from codev_git.messaging.render import message_json

        return message_json(self.message, awaiting=self.waiting_on, ageSeconds=self.age_seconds)

    def line(self) -> str:
        from codev_git.messaging.render import body_text, visible

        first = body_text(self.message.body).strip().splitlines()
        gist = first[0][:60] if first else ""
        return (
            f"{self.message.short_id} to {visible(self.waiting_on)}, "
            f"waiting {age_text(self.age_seconds)}: {gist}"
        )


def answers(reply: Message, original: Message) -> bool:
    """Whether ``reply`` answers ``original``: it names it and comes from its recipient."""
    if reply.reply_to != original.id or reply.id == original.id:
        return False
    if is_broadcast(original.to):
        return reply.sender != original.sender
    return reply.sender == original.to


def all_messages(store: Store, refs: Mapping[str, str] | None = None) -> list[Message]:
    """Every message on every channel (those in ``refs``, a :meth:`Store.ref_snapshot`,
    when given), once each."""
    from codev_git.messaging.history import channels
    from codev_git.messaging.inbox import walk_channel

    seen: dict[str, Message] = {}
    for channel in channels(store, refs):
        for msg in walk_channel(store, channel, None, include_read=True)[1]:
            seen.setdefault(msg.id, msg)
    return list(seen.values())


def awaiting(
    store: Store,
    *,
    sender: str | None = None,
    recipient: str | None = None,
    involving: set[str] | None = None,
    messages: list[Message] | None = None,
    now: float | None = None,
    refs: Mapping[str, str] | None = None,
) -> list[Awaiting]:
    """Messages awaiting an answer, oldest first: sent by ``sender`` / to ``recipient``
    (addresses as in ``Codev-From``/``Codev-To``), or with either in ``involving``;
    among ``messages``, else every message on the channels in ``refs`` (else the
    repository's)."""
    everything = messages if messages is not None else all_messages(store, refs)
    by_reply: dict[str, list[Message]] = {}
    for msg in everything:
        if msg.reply_to:
            by_reply.setdefault(msg.reply_to, []).append(msg)
    moment = clock.now() if now is None else now
    out: list[Awaiting] = []
    for msg in everything:
        if not msg.asks_answer:
            continue
        if sender is not None and msg.sender != sender:
            continue
        if recipient is not None and msg.to != recipient:
            continue
        if involving is not None and not ({msg.sender, msg.to} & involving):
            continue
        if any(answers(r, msg) for r in by_reply.get(msg.id, ())):
            continue
        out.append(Awaiting(msg, age_of(msg.time, moment)))
    out.sort(key=lambda a: (a.message.time, a.message.id))
    return out


def is_answered(store: Store, original: Message) -> bool:
    return not any(a.message.id == original.id for a in awaiting(store, recipient=original.to))


def age_of(stamp: str, now: float) -> int | None:
    """Whole seconds from ``stamp`` (ISO-8601) to ``now``; for people, never for order."""
    when = clock.parse(stamp)
    return None if when is None else max(0, int(now - when))


def age_text(seconds: int | None) -> str:
    if seconds is None:
        return "for an unknown time"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
