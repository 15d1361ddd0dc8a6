"""Reading one's inbox: own channel plus broadcast, oldest first, then marking them read."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from codev_git.identity import Identity
from codev_git.messages import Message, channels_of, mark_read, read_channel, verify
from codev_git.ownership import OwnerBook
from codev_git.store import Store


@dataclass(frozen=True)
class InboxEntry:
    message: Message
    unread: bool


def read_inbox(
    store: Store,
    reader: Identity,
    *,
    peek: bool = False,
    include_read: bool = False,
    limit: int | None = None,
    book: OwnerBook | None = None,
) -> list[InboxEntry]:
    """The reader's messages (unread only, unless ``include_read``), oldest first.

    Unless ``peek``, every unread message returned is marked read. With ``limit`` the oldest
    unread (or, with ``include_read``, the newest) ``limit`` messages are returned."""
    book = book or OwnerBook(store)
    per_channel: list[tuple[str, str, list[Message], set[str]]] = []
    for channel, cursor_name in channels_of(reader):
        cursor = store.ref_target(cursor_name)
        unread = read_channel(store, channel, cursor)
        unread_ids = {m.id for m in unread}
        listed = read_channel(store, channel, cursor, include_read=True) if include_read else unread
        per_channel.append((channel, cursor_name, listed, unread_ids))

    def key(msg: Message) -> tuple[str, str]:
        return (msg.time, msg.id)

    merged = list(heapq.merge(*(listed for _, _, listed, _ in per_channel), key=key))
    if limit is not None:
        merged = merged[-limit:] if include_read else merged[:limit]
    merged = verify(merged, reader, book)
    all_unread = set().union(*(ids for _, _, _, ids in per_channel))
    entries = [InboxEntry(m, m.id in all_unread) for m in merged]
    if not peek:
        shown_ids = {e.message.id for e in entries if e.unread}
        for channel, cursor_name, _, unread_ids in per_channel:
            mine = [i for i in unread_ids if i in shown_ids]
            tip = store.ref_target(channel)
            if mine and tip is not None:
                complete = len(mine) == len(unread_ids)
                mark_read(store, cursor_name, tip, mine, complete)
    return entries
