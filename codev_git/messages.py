"""Routed messages: one commit per message on a per-recipient ref.

Ref layout (every name under ``refs/codev/``)::

    refs/codev/inbox/<architect>            an architect's inbox
    refs/codev/builders/<builder-id>        a builder's inbox (instructions from its architect)
    refs/codev/broadcast                    everyone's broadcast channel
    refs/codev/read/<kind>/<name>/<channel> a reader's cursor; everything it reaches is read

A message commit has the empty tree, the previous tip as parent, the sender's git identity as
author, and this message::

    <the message, byte for byte (base64 when it holds NUL or starts with a newline)>

    Codev-From: builder-spir-1487
    Codev-To: architect:main
    Codev-Thread: checkout-v2
    Codev-Time: 2026-11-24T17:00:00.123456Z

This module imports only what the send and inbox paths need.
"""

from __future__ import annotations

import base64
import heapq
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from codev_git.errors import UsageError
from codev_git.identity import Identity
from codev_git.names import ArchitectName, BuilderId, parse_architect, shown
from codev_git.ownership import OwnerBook, Ownership, now_iso
from codev_git.packing import after_append
from codev_git.store import CommitInfo, Ident, Store

INBOX_PREFIX = "refs/codev/inbox/"
BUILDER_INBOX_PREFIX = "refs/codev/builders/"
BROADCAST_REF = "refs/codev/broadcast"
READ_PREFIX = "refs/codev/read/"
DEFAULT_MAX_BYTES = 64 * 1024
CONFIG_MAX_BYTES = "codev.maxMessageBytes"
CONFIG_SIGN = "codev.signMessages"
CONFIG_REQUIRE_SIGNED = "codev.requireSigned"
TRAILER_KEYS = ("Codev-From", "Codev-To", "Codev-Thread", "Codev-Time", "Codev-Reply-To")


def inbox_ref(architect: ArchitectName) -> str:
    return INBOX_PREFIX + architect


def builder_inbox_ref(builder: BuilderId) -> str:
    return BUILDER_INBOX_PREFIX + builder


def cursor_ref(reader: Identity, channel: str) -> str:
    return f"{READ_PREFIX}{reader.kind}/{reader.name}/{channel}"


def own_channel(reader: Identity) -> str:
    if reader.is_builder:
        return builder_inbox_ref(reader.builder)
    return inbox_ref(reader.architect)


@dataclass(frozen=True)
class Route:
    """Where a message goes: the ref, and the address written in ``Codev-To:``."""

    ref: str
    to: str
    thread: str | None
    note: str | None = None  # said on stderr (e.g. a new inbox)


@dataclass(frozen=True)
class Message:
    id: str
    sender: str
    to: str
    thread: str | None
    time: str
    body: bytes
    author: str
    channel: str
    reply_to: str | None = None
    verified: bool = True
    why_unverified: str | None = None
    parents: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return self.id[:12]


# -- encoding ---------------------------------------------------------------------------------
def encode(body: bytes, trailers: dict[str, str]) -> bytes:
    # git cannot hold NUL in a commit message, and libgit2 drops a message's leading newlines
    if b"\0" in body or body.startswith(b"\n"):
        trailers = {**trailers, "Codev-Encoding": "base64"}
        body = base64.b64encode(body)
    lines = [f"{key}: {value}" for key, value in trailers.items()]
    return body + b"\n\n" + "\n".join(lines).encode() + b"\n"


def decode(info: CommitInfo, channel: str) -> Message | None:
    """A message from its commit, or None when the commit is not a message."""
    raw = info.raw_message
    cut = raw.rfind(b"\n\n")
    if cut < 0:
        return None
    body, block = raw[:cut], raw[cut + 2 :]
    trailers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            trailers[key] = value
    if "Codev-From" not in trailers or "Codev-To" not in trailers:
        return None
    if trailers.get("Codev-Encoding") == "base64":
        try:
            body = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    return Message(
        id=info.id,
        sender=trailers["Codev-From"],
        to=trailers["Codev-To"],
        thread=trailers.get("Codev-Thread") or None,
        time=trailers.get("Codev-Time") or _iso_from_epoch(info.time),
        body=body,
        author=f"{info.author_name} <{info.author_email}>",
        channel=channel,
        reply_to=trailers.get("Codev-Reply-To"),
        parents=info.parents,
    )


def _iso_from_epoch(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_merge(info: CommitInfo) -> bool:
    return len(info.parents) > 1 and b"Codev-Merge:" in info.raw_message


# -- sending ----------------------------------------------------------------------------------
def route(store: Store, sender: Identity, target: str, book: OwnerBook) -> Route:
    """Resolve a send target for this sender, refusing what the sender may not address."""
    thread = sender.record.thread if sender.record is not None else None
    if target == "broadcast":
        return Route(BROADCAST_REF, "broadcast", thread)
    if target == "architect":
        if not sender.is_builder:
            raise UsageError(
                "'architect' is how a builder addresses its own architect",
                "address another architect as architect:<name>",
            )
        return Route(inbox_ref(sender.architect), f"architect:{sender.architect}", thread)
    if target.startswith("architect:"):
        if sender.is_builder:
            raise UsageError(
                f"builder {sender.name} may only write to its own architect",
                "use the target 'architect'",
            )
        name = parse_architect(target[len("architect:") :])
        ref = inbox_ref(name)
        note = None
        if store.ref_target(ref) is None and not _owns_any(book, name):
            note = f"architect {name} has no inbox yet; it now has one"
        return Route(ref, f"architect:{name}", None, note)
    if not target or any(ch.isspace() or ord(ch) < 32 for ch in target):
        raise UsageError(
            f"invalid target {shown(target)}",
            "use architect, architect:<name>, broadcast, or a builder id such as 1487",
        )
    owned = book.find(target)
    rec = owned.current
    if sender.is_builder and rec.builder == sender.name:
        raise UsageError("a builder cannot send a message to itself", "use the target 'architect'")
    return Route(builder_inbox_ref(rec.builder), rec.builder, rec.thread)


def _owns_any(book: OwnerBook, name: ArchitectName) -> bool:
    return any(o.current.architect == name for o in book.all())


def check_body(store: Store, body: bytes) -> None:
    if not body.strip():
        raise UsageError("the message is empty", "give the text as an argument, with --file, or -")
    limit = store.config_int(CONFIG_MAX_BYTES, DEFAULT_MAX_BYTES)
    if len(body) > limit:
        raise UsageError(
            f"the message is {len(body)} bytes; the limit is {limit}",
            f"shorten it, or raise it with 'git config {CONFIG_MAX_BYTES} N'",
        )


def append(
    store: Store,
    ref: str,
    body: bytes,
    trailers: dict[str, str],
    author: Ident,
) -> str:
    """Append one message commit to ``ref`` with compare-and-swap; returns its id."""
    payload = encode(body, trailers)
    tree = store.empty_tree()
    sign = store.config_bool(CONFIG_SIGN) or store.config_bool("commit.gpgSign")

    def compute(old: str | None) -> str:
        parents = [old] if old else []
        if sign:
            from codev_git.porcelain import commit_tree_signed

            where = store.workdir or store.git_dir
            return commit_tree_signed(where, tree, parents, payload, author.name, author.email)
        return store.write_commit(tree=tree, parents=parents, author=author, message=payload)

    _, new = store.cas_update(ref, compute, f"codev: message from {trailers['Codev-From']}")
    assert new is not None
    after_append(store, new)
    return new


def send(
    store: Store,
    sender: Identity,
    target: str,
    body: bytes,
    *,
    book: OwnerBook,
    reply_to: str | None = None,
) -> tuple[str, Route]:
    check_body(store, body)
    where = route(store, sender, target, book)
    trailers = {"Codev-From": sender.address, "Codev-To": where.to}
    if where.thread:
        trailers["Codev-Thread"] = where.thread
    trailers["Codev-Time"] = now_iso()
    if reply_to:
        trailers["Codev-Reply-To"] = reply_to
    author = store.identity() or Ident(sender.name, f"{sender.name}@codev.invalid")
    if where.note:
        print(f"git-codev: {where.note}", file=sys.stderr)
    return append(store, where.ref, body, trailers, author), where


# -- reading ----------------------------------------------------------------------------------
def channels_of(reader: Identity) -> list[tuple[str, str]]:
    """(channel ref, cursor ref) pairs a reader sees: its own inbox, then broadcast."""
    return [
        (own_channel(reader), cursor_ref(reader, "inbox")),
        (BROADCAST_REF, cursor_ref(reader, "broadcast")),
    ]


def _valid_tip(store: Store, ref: str) -> str | None:
    tip = store.ref_target(ref)
    if tip is None:
        return None
    kind = store.object_type(tip)
    if kind != "commit":
        print(
            f"git-codev: warning: skipping {ref}: it points at {kind or 'a missing object'}",
            file=sys.stderr,
        )
        return None
    return tip


def read_channel(
    store: Store, channel: str, cursor: str | None, *, include_read: bool = False
) -> list[Message]:
    """Messages on ``channel`` not reached by ``cursor`` (all with ``include_read``),
    parents before children, ties by (time, id)."""
    tip = _valid_tip(store, channel)
    if tip is None:
        return []
    hide: list[str] = []
    if cursor is not None and not include_read:
        if store.object_type(cursor) == "commit":
            hide.append(cursor)
        else:
            print(
                f"git-codev: warning: ignoring a broken read cursor on {channel}", file=sys.stderr
            )
    infos = list(store.walk(tip, hide))
    messages: list[Message] = []
    for info in infos:
        if is_merge(info):
            continue
        msg = decode(info, channel)
        if msg is None:
            print(
                f"git-codev: warning: skipping commit {info.id[:12]} on {channel}: "
                "not a codev message (no Codev-From/Codev-To trailers)",
                file=sys.stderr,
            )
            continue
        messages.append(msg)
    return order(messages, infos)


def order(messages: list[Message], infos: Iterable[CommitInfo]) -> list[Message]:
    """A deterministic order that puts every message after its ancestors: Kahn's algorithm
    over the commit graph with (time, id) as the priority."""
    by_id = {m.id: m for m in messages}
    graph = {info.id: info.parents for info in infos}
    children: dict[str, list[str]] = {}
    pending: dict[str, int] = {}
    for node, parents in graph.items():
        inside = [p for p in parents if p in graph]
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
            out.append(by_id[node])
        for child in children.get(node, ()):
            pending[child] -= 1
            if pending[child] == 0:
                heapq.heappush(heap, (key(child), child))
    return out


def verify(messages: list[Message], reader: Identity, book: OwnerBook) -> list[Message]:
    """Mark messages whose claimed builder sender was not the reader's at send time, and,
    with ``codev.requireSigned``, messages git's own verification does not accept."""
    cache: dict[str, Ownership | None] = {}
    store = book.store
    require_signed = bool(messages) and store.config_bool(CONFIG_REQUIRE_SIGNED)

    def ownership(builder: str) -> Ownership | None:
        if builder not in cache:
            cache[builder] = book.by_builder(builder)
        return cache[builder]

    out: list[Message] = []
    for msg in messages:
        problem: str | None = None
        if msg.sender.startswith("builder-"):
            owned = ownership(msg.sender)
            owner = owned.owner_at(msg.time) if owned else None
            if owner is None:
                problem = f"{msg.sender} had no ownership record when this was sent"
            elif msg.channel.startswith(INBOX_PREFIX) and owner != msg.channel[len(INBOX_PREFIX) :]:
                problem = f"{msg.sender} belonged to architect {owner} when this was sent"
        elif msg.sender.startswith("architect:") and reader.is_builder:
            owned = ownership(reader.name)
            owner = owned.owner_at(msg.time) if owned else None
            sender_name = msg.sender[len("architect:") :]
            if msg.channel.startswith(BUILDER_INBOX_PREFIX) and owner != sender_name:
                problem = f"{sender_name} did not own {reader.name} when this was sent"
        if problem is None and require_signed:
            from codev_git.porcelain import verify_commit

            if not verify_commit(store.workdir or store.git_dir, msg.id):
                problem = f"not signed by a trusted key ({CONFIG_REQUIRE_SIGNED} is set)"
        if problem:
            msg = Message(**{**msg.__dict__, "verified": False, "why_unverified": problem})
        out.append(msg)
    return out


def mark_read(store: Store, cursor: str, tip: str, shown_ids: list[str], complete: bool) -> None:
    """Move a read cursor so that it reaches every shown message (compare-and-swap).

    When everything unread was shown the cursor moves to the channel tip; otherwise it points
    at a small commit whose parents are the old cursor and the shown messages."""
    if not shown_ids:
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
            message=b"codev read cursor\n\nCodev-Merge: read\n",
        )

    store.cas_update(cursor, compute, "codev: mark read", require_commit=False)


def unread_count(store: Store, channel: str, cursor: str | None) -> int:
    tip = store.ref_target(channel)
    if tip is None or store.object_type(tip) != "commit":
        return 0
    hide = [cursor] if cursor and store.object_type(cursor) == "commit" else []
    return sum(1 for info in store.walk(tip, hide) if not is_merge(info))
