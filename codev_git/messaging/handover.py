"""Handing unread messages over, then marking read only what was handed over.

Every automatic consumer (``prime``, the agent hooks, ``inbox --follow``, the MCP server) does
the same three steps: look at the unread messages without marking them (:func:`pending`),
write what it hands over and flush it, then mark exactly that read (:meth:`Pending.mark`).
A read cursor reaches everything behind what it marks, so only a prefix of each channel's
unread messages (parents first) can be marked; anything after a message that was not handed
over stays unread and comes again: at least once, never lost, duplicates detectable by id.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from codev_git.messaging.inbox import ChannelRead, mark_delivered, verify, walk_channel
from codev_git.messaging.message import Message, channels_of
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook
from codev_git.store import Store


@dataclass(frozen=True)
class Pending:
    reader: Identity
    messages: list[Message]  # every unread message, oldest first, verified
    channels: list[ChannelRead]

    def mark(self, store: Store, handed: Iterable[str]) -> int:
        """Mark read what was handed over (ids), as far as each channel allows; returns how
        many messages are now read."""
        return mark_delivered(store, self.channels, handed)


def pending(store: Store, reader: Identity, book: OwnerBook | None = None) -> Pending:
    """The reader's unread messages, oldest first, nothing marked."""
    channels: list[ChannelRead] = []
    for channel, cursor_name in channels_of(reader):
        cursor = store.ref_target(cursor_name)
        tip, unread = walk_channel(store, channel, cursor)
        channels.append(ChannelRead(cursor_name, cursor, tip, unread))

    def key(msg: Message) -> tuple[str, str]:
        return (msg.time, msg.id)

    merged = list(heapq.merge(*(c.unread for c in channels), key=key))
    return Pending(reader, verify(merged, reader, book or OwnerBook(store)), channels)


def fit(
    messages: list[Message], budget: int, render: Callable[[Message], str], sep: str = "\n\n"
) -> tuple[list[Message], str]:
    """The longest prefix of ``messages`` whose rendering fits in ``budget`` characters, and
    that rendering. A first message too long on its own is cut, with a note saying so and how
    to read it whole, so that one long message never blocks the ones after it."""
    chosen: list[Message] = []
    parts: list[str] = []
    used = 0
    for msg in messages:
        text = render(msg)
        extra = len(text) + (len(sep) if parts else 0)
        if used + extra > budget:
            if not chosen and budget > 200:
                note = (
                    f"\n[... cut: {len(text)} characters in all; read it whole with "
                    f"'git codev log --json' or 'git cat-file commit {msg.id}']"
                )
                parts.append(text[: budget - len(note)] + note)
                chosen.append(msg)
            break
        parts.append(text)
        chosen.append(msg)
        used += extra
    return chosen, sep.join(parts)
