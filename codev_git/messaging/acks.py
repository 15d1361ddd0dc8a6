"""Acknowledgements: which messages await an answer, for whom, since when.

The data model (trailers on message commits, so acknowledgements sync like any message):

- ``send --ack`` writes ``Codev-Ack: requested``; ``send --urgent`` writes
  ``Codev-Importance: urgent``.
- ``git codev ack ID`` sends a message back to the original sender with
  ``Codev-Reply-To: <id>`` and ``Codev-Kind: ack``; any message *from the recipient* whose
  ``Codev-Reply-To`` names a message answers it (so ``reply`` acknowledges too).
- A message awaits an answer while it carries ``Codev-Ack: requested`` and no answer exists.

A released builder: its architect still answers the questions it asked (on its own channel,
under the ownership record the question was sent under: :func:`released_route`), and the
questions sent *to* it stop awaiting, since nobody can answer for it any more
(:func:`unanswerable`); both stay in the history.

Answers are found by walking every channel once; the order of events is the commit graph's,
and the age shown is only for people (now minus the message's ``Codev-Time``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codev_git import clock
from codev_git.address import is_broadcast, is_builder_address
from codev_git.errors import UsageError
from codev_git.messaging.message import Message, Route
from codev_git.store import Store

if TYPE_CHECKING:
    from codev_git.ownership.identity import Identity
    from codev_git.ownership.records import OwnerBook, OwnerRecord

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
    if out:
        gone = unanswerable(store, (a.message for a in out))
        out = [a for a in out if a.message.id not in gone]
    out.sort(key=lambda a: (a.message.time, a.message.id))
    return out


def unanswerable(store: Store, asked: Iterable[Message]) -> set[str]:
    """The ids among ``asked`` sent to a builder that has been released since: its worktree
    is no builder any more, so nobody can answer them and they stop awaiting (they stay in
    the history; adopted again, the builder owes them again)."""
    from codev_git.ownership.records import OwnerBook

    book = OwnerBook(store)
    released: dict[str, bool] = {}
    out: set[str] = set()
    for msg in asked:
        if not is_builder_address(msg.to):
            continue
        if msg.to not in released:
            owned = book.by_builder(msg.to)
            released[msg.to] = owned is not None and owned.released
        if released[msg.to]:
            out.add(msg.id)
    return out


def released_route(book: OwnerBook, sender: Identity, question: Message) -> Route | None:
    """Where an answer to ``question`` goes when the builder that asked it has been released
    (None when it has not: the caller's refusal stands): the builder's own channel, under
    the ownership record the question was sent under, which made ``sender`` its owner, so
    the answer verifies like any message to a builder (docs/trust.md). Only the architect
    asked may answer, and only a question (``Codev-Ack: requested``): a released builder
    takes no new mail."""
    from codev_git.layout import builder_inbox_ref
    from codev_git.messaging.render import visible

    builder = question.sender
    owned = book.by_builder(builder) if is_builder_address(builder) else None
    if owned is None or not owned.released or sender.is_builder:
        return None
    if question.to != sender.address:
        raise UsageError(
            f"{builder} has been released; only {visible(question.to)}, which "
            f"{question.short_id} asked, may still answer it",
            "a released builder takes no new messages",
        )
    if not question.asks_answer:
        raise UsageError(
            f"{builder} has been released: only its questions (sent with --ack) can still be "
            f"answered, and {question.short_id} is not one",
            "run 'git codev status' to see what awaits an answer",
        )
    record = _asked_under(owned.history, question, sender.name)
    if record is None:
        raise UsageError(
            f"{question.short_id} was not sent under an ownership record of {builder} that "
            f"makes {sender.name} its owner",
            "run 'git codev sync' and try again; if it persists, the message is not genuine",
        )
    return Route(builder_inbox_ref(builder), builder, record.thread, ownership=record.rid)


def _asked_under(
    history: tuple[OwnerRecord, ...], question: Message, architect: str
) -> OwnerRecord | None:
    """The record ``question`` names (``Codev-Ownership``), else (a message from before
    that trailer) the latest one making ``architect`` the owner; None unless it does."""
    if question.ownership:
        named = [r for r in history if r.rid == question.ownership]
    else:
        named = [r for r in history if r.event != "release" and r.architect == architect][-1:]
    record = named[0] if named else None
    if record is None or record.event == "release" or record.architect != architect:
        return None
    return record


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
