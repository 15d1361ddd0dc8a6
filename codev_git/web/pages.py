"""The timeline a page at a time: channels are walked lazily from their tips and merged newest
first, so the first page of 100,000 messages reads about one page of commits, and a page
further back reads only the commits down to it.

Order: by (time, id) across channels, as ``git codev log``; within a channel, never against
the commit graph. A message whose time claims to be newer than the message after it (a skewed
clock, a forged time) is placed right behind that message, so every channel's sequence of keys
strictly decreases and a page boundary (the key of the last message shown) is exact."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace

from codev_git.address import architect_in, is_broadcast
from codev_git.layout import BROADCAST_REF, builder_inbox_ref, inbox_ref
from codev_git.messaging.history import _involves, channels, find_message
from codev_git.messaging.message import Message, decode, is_merge
from codev_git.messaging.recipient import RememberingBook, Verifier
from codev_git.ownership.records import Ownership
from codev_git.store import Store

PAGE_SIZE = 50
MAX_CHAIN = 50

# a reader that is no builder: messages to architects are checked for their sender only


@dataclass(frozen=True)
class Filters:
    architect: str | None = None
    builder: str | None = None
    thread: str | None = None
    verified: bool | None = None

    def keeps(self, msg: Message, owners: dict[str, Ownership]) -> bool:
        if self.thread is not None and msg.thread != self.thread:
            return False
        if self.builder is not None and self.builder not in (msg.sender, msg.to):
            return False
        return self.architect is None or _involves(msg, self.architect, owners)


@dataclass(frozen=True)
class Page:
    messages: list[Message]  # newest first, each verified
    before: str | None  # the cursor of the next (older) page, None on the last one


Key = tuple[str, str, int]


def cursor_of(key: Key) -> str:
    return f"{key[0]}~{key[1]}~{key[2]}"


def parse_cursor(raw: str | None) -> Key | None:
    parts = (raw or "").split("~")
    if len(parts) != 3:
        return None
    try:
        return parts[0], parts[1], int(parts[2])
    except ValueError:
        return None


def _stream(store: Store, channel: str, tip: str) -> Iterator[tuple[Key, Message]]:
    """A channel's messages newest first (commit graph order), each with a key that strictly
    decreases along the walk: (time, id, 0), or just behind the previous key when the time
    is out of order."""
    previous: Key | None = None
    for info in store.walk(tip):
        if is_merge(info):
            continue
        msg = decode(info, channel)
        if msg is None:
            continue
        key: Key = (msg.time, msg.id, 0)
        if previous is not None and key >= previous:
            key = (previous[0], previous[1], previous[2] - 1)
        previous = key
        yield key, msg


def _verified(
    items: Iterator[tuple[Key, Message]], check: Verifier, first: int
) -> Iterator[tuple[Key, Message]]:
    """Verify lazily in growing batches: a page reads about one batch past what it shows."""
    batch: list[tuple[Key, Message]] = []
    size = first
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield from _checked(check, batch)
            batch, size = [], min(size * 2, 1024)
    yield from _checked(check, batch)


def _checked(check: Verifier, items: list[tuple[Key, Message]]) -> list[tuple[Key, Message]]:
    done = check.batch([msg for _, msg in items])
    return [(key, msg) for (key, _), msg in zip(items, done, strict=True)]


def timeline_page(
    store: Store,
    filters: Filters,
    *,
    before: Key | None = None,
    limit: int = PAGE_SIZE,
    refs: dict[str, str] | None = None,
) -> Page:
    """Up to ``limit`` messages older than ``before`` (newest first) that pass ``filters``."""
    book = RememberingBook(store)
    owners: dict[str, Ownership] = {}
    if filters.architect:
        owners = {str(o.current.builder): o for o in book.all()}
    check = Verifier(book)
    streams = []
    for channel in channels(store):
        tip = refs.get(channel) if refs is not None else store.ref_target(channel)
        if tip is not None and store.object_type(tip) == "commit":
            streams.append(_stream(store, channel, tip))
    merged = heapq.merge(*streams, key=lambda pair: pair[0], reverse=True)
    kept = (
        (key, msg)
        for key, msg in merged
        if (before is None or key < before) and filters.keeps(msg, owners)
    )
    out: list[Message] = []
    last: Key | None = None
    more = False
    for key, msg in _verified(kept, check, limit + 1):
        if filters.verified is not None and msg.verified != filters.verified:
            continue
        if len(out) == limit:
            more = True
            break
        out.append(msg)
        last = key
    return Page(out, cursor_of(last) if more and last is not None else None)


def channel_for(msg: Message) -> str:
    """The channel a message was sent on, from its ``Codev-To``."""
    if is_broadcast(msg.to):
        return BROADCAST_REF
    architect = architect_in(msg.to)
    return inbox_ref(architect) if architect is not None else builder_inbox_ref(msg.to)


def load_message(store: Store, message_id: str, check: Verifier | None = None) -> Message:
    """One message by id, verified (raises UsageError for an id that is not a message)."""
    msg = find_message(store, message_id)
    msg = replace(msg, channel=channel_for(msg))
    return (check or Verifier(RememberingBook(store)))(msg)


def reply_chain(
    store: Store, msg: Message, replies: dict[str, list[str]] | None = None
) -> tuple[list[Message], list[Message]]:
    """(what ``msg`` answers, oldest first; the answers to it, oldest first)."""
    from codev_git.errors import CodevError

    check = Verifier(RememberingBook(store))
    earlier: list[Message] = []
    current = msg
    while current.reply_to and len(earlier) < MAX_CHAIN:
        try:
            current = load_message(store, current.reply_to, check)
        except CodevError:
            break
        earlier.append(current)
    later: list[Message] = []
    for reply in (replies or {}).get(msg.id, [])[:MAX_CHAIN]:
        try:
            later.append(load_message(store, reply, check))
        except CodevError:
            continue
    later.sort(key=lambda m: (m.time, m.id))
    return list(reversed(earlier)), later
