"""The whole message history across channels, and answering a message."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

from codev_git import report
from codev_git.address import architect_address, architect_in, is_human
from codev_git.errors import UsageError
from codev_git.layout import is_channel
from codev_git.messaging.inbox import _valid_tip, order
from codev_git.messaging.message import Message, decode, is_merge
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook, Ownership
from codev_git.store import Store


def channels(store: Store, refs: Mapping[str, str] | None = None) -> list[str]:
    """Every message channel, from ``refs`` (a :meth:`Store.ref_snapshot`) when given."""
    listed = store.ref_snapshot() if refs is None else refs
    return sorted(name for name in listed if is_channel(name))


def timeline(
    store: Store,
    *,
    architect: str | None = None,
    thread: str | None = None,
    limit: int | None = None,
) -> list[Message]:
    """Every message on every channel in causal order (:func:`inbox.order`: after its
    ancestors and after what it replies to; times only break ties); newest ``limit`` kept.

    With ``limit`` each channel is read newest first and only until ``limit`` of its messages
    match, so ``log -n 20`` on a 300,000-message inbox reads about 20 commits, in flat memory:
    a channel's messages are appended in order, so its newest ``limit`` hold every one of
    its messages that can be among the newest ``limit`` overall."""
    book = OwnerBook(store)
    owners: dict[str, Ownership] = {o.current.builder: o for o in book.all()} if architect else {}

    def wanted(msg: Message) -> bool:
        return (thread is None or msg.thread == thread) and (
            architect is None or _involves(msg, architect, owners)
        )

    everything: list[Message] = []
    graph: dict[str, tuple[str, ...]] = {}
    for channel in channels(store):
        kept = filter(wanted, newest_first(store, channel, graph))
        everything.extend(itertools.islice(kept, limit) if limit is not None else kept)
    out = order(everything, graph)
    return out[-limit:] if limit else out


def newest_first(
    store: Store, channel: str, graph: dict[str, tuple[str, ...]] | None = None
) -> Iterator[Message]:
    """A channel's messages, newest first, read lazily (merge commits of a sync skipped;
    a commit that is not a message is skipped with a warning, as :func:`walk_channel` does).
    ``graph`` is given each commit read, merges included (id -> parent ids)."""
    tip = _valid_tip(store, channel)
    if tip is None:
        return
    for info in store.walk(tip):
        if graph is not None:
            graph[info.id] = info.parents
        if is_merge(info):
            continue
        msg = decode(info, channel)
        if msg is None:
            report.warn(
                f"skipping commit {info.id[:12]} on {channel}: "
                "not a codev message (no Codev-From/Codev-To trailers)"
            )
            continue
        yield msg


def _involves(msg: Message, architect: str, owners: dict[str, Ownership]) -> bool:
    me = architect_address(architect)
    if me in (msg.sender, msg.to):
        return True
    for party in (msg.sender, msg.to):
        owned = owners.get(party)
        if owned is None:
            continue
        named = owned.record_by_id(msg.ownership) if msg.ownership else None
        if named is not None:  # the record it was sent under (causal, not a time)
            if named.architect == architect:
                return True
        elif owned.owner_at(msg.time) == architect:  # messages from before that trailer
            return True
    return False


def find_message(store: Store, prefix: str) -> Message:
    if len(prefix) < 4 or not all(c in "0123456789abcdef" for c in prefix.lower()):
        raise UsageError(
            f"{prefix!r} is not a message id", "give at least 4 hex digits, as 'inbox' shows"
        )
    try:
        commit = store.resolve_commit(prefix.lower())
    except UsageError as exc:
        if exc.code == "ambiguous":
            raise
        raise UsageError(
            f"no message has the id {prefix}",
            "give an id shown by 'git codev inbox' or 'git codev log'",
        ) from exc
    msg = decode(store.commit(commit), "")
    if msg is None:
        raise UsageError(
            f"{prefix} is not a codev message", "give an id shown by 'git codev inbox'"
        )
    return msg


def reply_target(me: Identity, original: Message) -> str:
    """The send target that answers ``original``'s sender: in the workspace it was written
    from, when another workspace's architect wrote it (``Codev-Workspace``)."""
    sender = original.sender
    if sender == me.address and original.workspace is None:
        raise UsageError("that message is your own", "reply to a message you received")
    if original.workspace is not None:
        if me.is_builder:
            raise UsageError(
                f"{sender} wrote that from workspace {original.workspace}; builder "
                f"{me.name} may only write to its own architect",
                "ask your architect to answer it",
            )
        return f"{original.workspace}:{sender}"
    if is_human(sender):  # written on the supervisor's page, which has no inbox
        raise UsageError(
            "'human' wrote that from the supervisor's page and has no inbox",
            "answer in the thread file, or with 'send broadcast'",
        )
    if architect_in(sender) is not None:
        if me.is_builder:
            if sender != architect_address(me.architect):
                raise UsageError(
                    f"{sender} is not your architect", "a builder may only write to its own"
                )
            return "architect"
        return sender
    if sender == me.name:
        raise UsageError("that message is your own", "reply to a message you received")
    return sender  # a builder: anyone may address one by its id, as with send
