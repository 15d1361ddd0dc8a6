"""Reading messages: unread walks, a deterministic order, sender verification, read
cursors, and one's inbox (own channel plus broadcast, oldest first, then marked read)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from codev_git import config, report
from codev_git.address import (
    BROADCAST,
    architect_address,
    architect_in,
    is_builder_address,
    is_human,
)
from codev_git.layout import BUILDER_INBOX_PREFIX, INBOX_PREFIX
from codev_git.messaging.message import (
    CURSOR_COMMIT_MESSAGE,
    Message,
    channels_of,
    decode,
    is_merge,
    is_message,
)
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook, Ownership
from codev_git.store import Ident, Store


def _valid_tip(store: Store, ref: str) -> str | None:
    tip = store.ref_target(ref)
    if tip is None:
        return None
    kind = store.object_type(tip)
    if kind != "commit":
        report.warn(f"skipping {ref}: it points at {kind or 'a missing object'}")
        return None
    return tip


def read_channel(
    store: Store, channel: str, cursor: str | None, *, include_read: bool = False
) -> list[Message]:
    """Messages on ``channel`` not reached by ``cursor`` (all with ``include_read``),
    parents before children, ties by (time, id)."""
    return walk_channel(store, channel, cursor, include_read=include_read)[1]


def walk_channel(
    store: Store,
    channel: str,
    cursor: str | None,
    *,
    include_read: bool = False,
    tip: str | None = None,
    warn: bool = True,
) -> tuple[str | None, list[Message]]:
    """(the tip walked, its messages) — see :func:`read_channel`. Marking read must use the
    tip that was walked: a message appended since then has not been seen. ``tip`` walks
    from a tip read earlier instead of reading the channel again."""
    if tip is None:
        tip = _valid_tip(store, channel)
    if tip is None:
        return None, []
    hide: list[str] = []
    if cursor is not None and not include_read:
        if store.object_type(cursor) == "commit":
            hide.append(cursor)
        else:
            report.warn(f"ignoring a broken read cursor on {channel}")
    infos = list(store.walk(tip, hide))
    messages: list[Message] = []
    limit = config.MAX_MESSAGE_BYTES.number(store) if infos else None
    for info in infos:
        if is_merge(info):
            continue
        msg = decode(info, channel, limit)
        if msg is None:
            if not warn:
                continue
            report.warn(
                f"skipping commit {info.id[:12]} on {channel}: "
                "not a codev message (no Codev-From/Codev-To trailers)"
            )
            continue
        messages.append(msg)
    return tip, order(messages, {info.id: info.parents for info in infos})


def order(messages: list[Message], graph: Mapping[str, tuple[str, ...]]) -> list[Message]:
    """A deterministic causal order: every message after its ancestors in ``graph`` (commit
    id -> parent ids; sync merges included, so that causality passes through them) and after
    the message it replies to; (time, id) only chooses among messages that are not ordered.
    Kahn's algorithm. Commit ids cannot form a cycle; should a reply named in another
    clone's data still close one, its messages are kept, after the rest."""
    by_id = {m.id: m for m in messages}
    edges = {node: [p for p in parents if p in graph] for node, parents in graph.items()}
    for msg in messages:
        if msg.reply_to in by_id and msg.reply_to != msg.id:
            edges.setdefault(msg.id, []).append(msg.reply_to)
    children: dict[str, list[str]] = {}
    pending: dict[str, int] = {}
    for node, inside in edges.items():
        pending[node] = len(inside)
        for parent in inside:
            children.setdefault(parent, []).append(node)

    def key(node: str) -> tuple[str, str]:
        msg = by_id.get(node)
        return (msg.time if msg else "", node)

    heap = [(key(n), n) for n, count in pending.items() if count == 0]
    heapq.heapify(heap)
    out: list[Message] = []
    while heap:
        _, node = heapq.heappop(heap)
        if node in by_id:
            out.append(by_id.pop(node))
        for child in children.get(node, ()):
            pending[child] -= 1
            if pending[child] == 0:
                heapq.heappush(heap, (key(child), child))
    return out + sorted(by_id.values(), key=lambda m: (m.time, m.id))


def verify(messages: list[Message], reader: Identity, book: OwnerBook) -> list[Message]:
    """Mark messages whose sender cannot be confirmed: see docs/trust.md.

    A message's ``Codev-To`` must match the channel it is on. A builder sender must have
    belonged to the inbox's architect under the ownership record the message names
    (``Codev-Ownership``, in the causal history — never a time the message supplies); an
    architect writing to a builder must have owned it under the record named. Messages
    from before that trailer existed need the architect to appear in the builder's
    history. With ``codev.requireSigned``, git's own signature check must accept it."""
    cache: dict[str, Ownership | None] = {}
    store = book.store
    require_signed = bool(messages) and config.REQUIRE_SIGNED.flag(store)

    def ownership(builder: str) -> Ownership | None:
        if builder not in cache:
            cache[builder] = book.by_builder(builder)
        return cache[builder]

    out: list[Message] = []
    for msg in messages:
        problem = _routing_problem(msg)
        if problem is None and is_builder_address(msg.sender):
            inbox_owner = (
                msg.channel[len(INBOX_PREFIX) :] if msg.channel.startswith(INBOX_PREFIX) else None
            )
            problem = _owner_problem(ownership(msg.sender), msg, msg.sender, inbox_owner)
        elif problem is None and architect_in(msg.sender) is not None:
            sender = architect_in(msg.sender)
            if msg.channel.startswith(BUILDER_INBOX_PREFIX):
                builder = msg.channel[len(BUILDER_INBOX_PREFIX) :]
                problem = _owner_problem(ownership(builder), msg, builder, sender)
        elif problem is None and not is_human(msg.sender):  # the overseer's page may write
            problem = f"the sender {msg.sender!r} is not an architect or builder address"
        if problem is None and require_signed:
            from codev_git.store.porcelain import verify_commit

            if not verify_commit(store.workdir or store.git_dir, msg.id):
                problem = f"not signed by a trusted key ({config.REQUIRE_SIGNED.name} is set)"
        if problem:
            msg = Message(**{**msg.__dict__, "verified": False, "why_unverified": problem})
        out.append(msg)
    return out


def _routing_problem(msg: Message) -> str | None:
    """A message must be addressed to the channel it is on (nobody else writes there)."""
    if msg.channel.startswith(INBOX_PREFIX):
        expected = architect_address(msg.channel[len(INBOX_PREFIX) :])
    elif msg.channel.startswith(BUILDER_INBOX_PREFIX):
        expected = msg.channel[len(BUILDER_INBOX_PREFIX) :]
    else:
        expected = BROADCAST
    if msg.to != expected:
        return f"it is addressed to {msg.to!r} but sits in {expected}'s channel"
    return None


def _owner_problem(
    owned: Ownership | None, msg: Message, builder: str, architect: str | None
) -> str | None:
    """Whether ``architect`` owned ``builder`` under the record the message names (any
    owner will do when ``architect`` is None: a builder's broadcast)."""
    if owned is None:
        return f"{builder} has no ownership record"
    if msg.ownership:
        record = owned.record_by_id(msg.ownership)
        if record is None:
            return (
                f"it names ownership record {msg.ownership[:12]} of {builder}, which this "
                "clone does not have (run 'git codev sync' and read again)"
            )
        if record.event == "release":
            return f"{builder} had been released when this was sent"
        if architect is not None and record.architect != architect:
            return f"{builder} belonged to architect {record.architect} when this was sent"
        return None
    owners = {r.architect for r in owned.history if r.event != "release"}
    if architect is not None and architect not in owners:
        now = owned.current.architect
        return f"{builder} never belonged to architect {architect} (it belongs to {now})"
    return None


def mark_read(store: Store, cursor: str, tip: str, shown_ids: list[str], complete: bool) -> None:
    """Move a read cursor so that it reaches every shown message (compare-and-swap).

    When everything unread was shown the cursor moves to the channel tip; otherwise it points
    at a small commit whose parents are the old cursor and the shown messages."""
    if not shown_ids and not complete:
        return
    author = Ident("git-codev", "codev@invalid")

    def compute(old: str | None) -> str | None:
        if old is not None and store.object_type(old) != "commit":
            old = None  # a broken cursor is replaced, never built on
        if complete:
            if old is None or store.is_ancestor(old, tip):
                return tip
            if store.is_ancestor(tip, old):
                return None
            parents = [old, tip]
        else:
            parents = ([old] if old else []) + shown_ids
        return store.write_commit(
            tree=store.empty_tree(),
            parents=parents,
            author=author,
            message=CURSOR_COMMIT_MESSAGE,
        )

    store.cas_update(cursor, compute, "codev: mark read", require_commit=False)


def unread_count(store: Store, channel: str, cursor: str | None, tip: str | None = None) -> int:
    """How many messages on ``channel`` ``cursor`` does not reach; ``tip`` counts from a
    tip the caller already read instead of reading the channel again."""
    tip = tip if tip is not None else store.ref_target(channel)
    if tip is None or store.object_type(tip) != "commit":
        return 0
    hide = [cursor] if cursor and store.object_type(cursor) == "commit" else []
    return count_messages(store, tip, hide)


def count_messages(store: Store, tip: str, hide: list[str]) -> int:
    """Messages reachable from ``tip`` and not from ``hide`` (merges and commits that are
    not messages do not count)."""
    return sum(1 for info in store.walk_raw(tip, hide) if is_message(info))


@dataclass(frozen=True)
class ChannelRead:
    """One channel as a reader found it: what is unread, and where its cursor was."""

    cursor: str  # the reader's cursor ref on this channel
    cursor_at: str | None  # where it pointed when read
    tip: str | None  # the tip that was walked
    unread: list[Message]  # parents first
    listed: list[Message] | None = None  # what is shown (unread, or all with include_read)


@dataclass(frozen=True)
class InboxEntry:
    message: Message
    unread: bool


@dataclass
class InboxRead:
    """What one read of an inbox found; :meth:`mark` moves the cursors past what was shown."""

    store: Store
    entries: list[InboxEntry]
    channels: list[ChannelRead]

    def mark(self, delivered: Iterable[str]) -> int:
        """Mark read the unread messages among ``delivered`` ids; see
        :func:`mark_delivered`."""
        return mark_delivered(self.store, self.channels, delivered)

    def markable(self, delivered: Iterable[str]) -> int:
        """How many messages :meth:`mark` would mark read for ``delivered`` (say it before
        writing, mark after)."""
        shown = set(delivered)
        return sum(len(_prefix(c, shown)) for c in self.channels)


def _prefix(channel: ChannelRead, shown: set[str]) -> list[Message]:
    """The unread messages of ``channel`` a cursor can move past: the delivered prefix."""
    return list(itertools.takewhile(lambda m: m.id in shown, channel.unread))


def mark_delivered(store: Store, channels: Iterable[ChannelRead], delivered: Iterable[str]) -> int:
    """Move each channel's cursor past the unread messages among ``delivered`` — on each
    channel only the prefix of them (parents first) that was delivered, since a cursor reaches
    everything behind it — and past commits that are not messages when nothing else is unread
    there (they were warned about once). Returns how many messages were marked.

    Ctrl-C (or SIGTERM) meanwhile waits until the cursors are written: it mostly comes
    right after the messages were handed over, and must not leave them unread."""
    from codev_git.messaging.deliver import signals_held

    shown = set(delivered)
    marked = 0
    with signals_held():
        for c in channels:
            prefix = _prefix(c, shown)
            if not c.unread and c.tip is not None and c.tip != c.cursor_at:
                mark_read(store, c.cursor, c.tip, [], complete=True)
            elif prefix and c.tip is not None:
                complete = len(prefix) == len(c.unread)
                mark_read(store, c.cursor, c.tip, [m.id for m in prefix], complete)
                marked += len(prefix)
    return marked


def collect_inbox(
    store: Store,
    reader: Identity,
    *,
    include_read: bool = False,
    limit: int | None = None,
    book: OwnerBook | None = None,
) -> InboxRead:
    """The reader's messages (unread only, unless ``include_read``), oldest first, marking
    nothing. With ``limit`` the oldest unread (or, with ``include_read``, the newest)
    ``limit`` messages are returned."""
    book = book or OwnerBook(store)
    per_channel: list[ChannelRead] = []
    for channel, cursor_name in channels_of(reader):
        cursor = store.ref_target(cursor_name)
        tip, unread = walk_channel(store, channel, cursor)
        listed = unread
        if include_read and tip is not None:
            listed = walk_channel(store, channel, cursor, include_read=True, tip=tip, warn=False)[1]
        per_channel.append(ChannelRead(cursor_name, cursor, tip, unread, listed))

    def key(msg: Message) -> tuple[str, str]:
        return (msg.time, msg.id)

    merged = list(heapq.merge(*(c.listed or [] for c in per_channel), key=key))
    if limit is not None:
        merged = merged[-limit:] if include_read else merged[:limit]
    merged = verify(merged, reader, book)
    all_unread = {m.id for c in per_channel for m in c.unread}
    entries = [InboxEntry(m, m.id in all_unread) for m in merged]
    return InboxRead(store, entries, per_channel)


def read_inbox(
    store: Store,
    reader: Identity,
    *,
    peek: bool = False,
    include_read: bool = False,
    limit: int | None = None,
    book: OwnerBook | None = None,
) -> list[InboxEntry]:
    """:func:`collect_inbox`, then (unless ``peek``) every unread message returned is
    marked read — for callers that hand messages over in memory. Whoever writes them out
    should use :func:`collect_inbox` and mark only what was written."""
    found = collect_inbox(store, reader, include_read=include_read, limit=limit, book=book)
    if not peek:
        found.mark(e.message.id for e in found.entries if e.unread)
    return found.entries
