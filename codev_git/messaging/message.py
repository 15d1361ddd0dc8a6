"""Routed messages: one commit per message on a per-recipient ref.

Where the channels and read cursors live: :mod:`codev_git.layout`.

A message commit has the empty tree, the previous tip as parent, the sender's git identity as
author, and this message::

    <the message, byte for byte (base64 when it holds NUL or starts with a newline)>

    Codev-From: builder-spir-1487
    Codev-To: architect:main
    Codev-Thread: checkout-v2
    Codev-Time: 2026-11-24T17:00:00.123456Z
    Codev-Ownership: 3f0c9a1b2d4e5f60718293a4   (the ownership record it was sent under)

Reading (unread walks, order, verification, read cursors) is in ``inbox.py``.
This module imports only what the send and inbox paths need.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codev_git import config, layout, report
from codev_git.address import BROADCAST, architect_address, parse_target
from codev_git.clock import iso, now_iso
from codev_git.errors import UsageError
from codev_git.layout import (
    BROADCAST_REF,
    builder_inbox_ref,
    inbox_ref,
)
from codev_git.names import ArchitectName
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook
from codev_git.store.autopack import after_append
from codev_git.store.values import CommitBody, CommitInfo, Ident

if TYPE_CHECKING:
    from codev_git.store import Store

ACK_REQUESTED = "requested"  # Codev-Ack: the sender asks for an answer
URGENT = "urgent"  # Codev-Importance
KIND_ACK = "ack"  # Codev-Kind: a bare acknowledgement (``git codev ack``)


def cursor_ref(reader: Identity, channel: str) -> str:
    return layout.cursor_ref(reader.kind, reader.name, channel)


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
    ownership: str | None = None  # to a builder: the id of its ownership record in force


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
    ack: str | None = None  # Codev-Ack ("requested")
    importance: str | None = None  # Codev-Importance ("urgent")
    kind: str | None = None  # Codev-Kind ("ack")
    truncated_from: int | None = None  # the body's real size when only its start is kept
    # the id of the ownership record in force when sent (builder sender or builder recipient)
    ownership: str | None = None

    @property
    def asks_answer(self) -> bool:
        return self.ack == ACK_REQUESTED

    workspace: str | None = None  # written from another workspace (Codev-Workspace:)

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


_ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


def decode(info: CommitInfo, channel: str, limit: int | None = None) -> Message | None:
    """A message from its commit, or None when the commit is not a message. A body longer
    than ``limit`` bytes (another clone's data can be any size) keeps only its start, and
    ``truncated_from`` says how long it was; a ``Codev-Time`` that is not an ISO-8601 UTC
    time is replaced by the commit's time."""
    split = _split(info.raw_message)
    if split is None:
        return None
    body, trailers = split
    base64_body = trailers.get("Codev-Encoding") == "base64"
    truncated_from = None
    if limit is not None and len(body) > (limit * 4 // 3 + 4 if base64_body else limit):
        truncated_from = len(body) * 3 // 4 if base64_body else len(body)
        body = body[: limit * 4 // 3 // 4 * 4] if base64_body else body[:limit]
    if base64_body:
        try:
            body = base64.b64decode(body, validate=True)
        except ValueError:
            return None
    stamp = trailers.get("Codev-Time", "")
    return Message(
        id=info.id,
        sender=trailers["Codev-From"],
        to=trailers["Codev-To"],
        thread=trailers.get("Codev-Thread") or None,
        time=stamp if _ISO_RE.fullmatch(stamp) else iso(info.time, micro=True),
        body=body,
        author=f"{info.author_name} <{info.author_email}>",
        channel=channel,
        reply_to=trailers.get("Codev-Reply-To"),
        parents=info.parents,
        ack=trailers.get("Codev-Ack") or None,
        importance=trailers.get("Codev-Importance") or None,
        kind=trailers.get("Codev-Kind") or None,
        truncated_from=truncated_from,
        ownership=trailers.get("Codev-Ownership"),
        workspace=_workspace(trailers.get("Codev-Workspace")),
    )


def plain_envelope(raw_message: bytes) -> tuple[str, str, str] | None:
    """(sender, recipient, time) of a message that neither asks for an answer nor answers
    one, and whose body and time need no decoding, read from its trailers alone: what
    :func:`decode` would give as ``sender``, ``to`` and ``time``. None for any other commit
    (:func:`decode` tells what it is)."""
    split = _split(raw_message)
    if split is None:
        return None
    trailers = split[1]
    stamp = trailers.get("Codev-Time", "")
    if not _ISO_RE.fullmatch(stamp) or any(key in trailers for key in _NOT_PLAIN):
        return None
    return trailers["Codev-From"], trailers["Codev-To"], stamp


_NOT_PLAIN = ("Codev-Ack", "Codev-Reply-To", "Codev-Encoding")


def _split(raw: bytes) -> tuple[bytes, dict[str, str]] | None:
    """(body, trailers) of a message's commit, or None when the trailers do not say who
    sent it to whom (then the commit is not a message)."""
    cut = raw.rfind(b"\n\n")
    if cut < 0:
        return None
    trailers: dict[str, str] = {}
    for line in raw[cut + 2 :].decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            trailers[key] = value
    if "Codev-From" not in trailers or "Codev-To" not in trailers:
        return None
    return raw[:cut], trailers


def _workspace(value: str | None) -> str | None:
    if value is None:
        return None
    ok = 0 < len(value) <= 64 and all(ch.isalnum() or ch in "._-" for ch in value)
    return value if ok and value.isascii() else None


# the commit a read cursor points at when it must reach several messages (never a message)
CURSOR_COMMIT_MESSAGE = b"codev read cursor\n\nCodev-Merge: read\n"


def is_merge(info: CommitBody) -> bool:
    return len(info.parents) > 1 and b"Codev-Merge:" in info.raw_message


def is_message(info: CommitBody) -> bool:
    """Whether a commit on a channel counts as a message (merges and strays do not): what
    :func:`decode` accepts, without building the message."""
    if is_merge(info):
        return False
    split = _split(info.raw_message)
    if split is None:
        return False
    body, trailers = split
    if trailers.get("Codev-Encoding") != "base64":
        return True
    try:
        base64.b64decode(body, validate=True)
    except ValueError:
        return False
    return True


# -- sending ----------------------------------------------------------------------------------
def route(
    store: Store,
    sender: Identity,
    target: str,
    book: OwnerBook,
    answering: Message | None = None,
) -> Route:
    """Resolve a send target for this sender, refusing what the sender may not address.
    ``answering`` is the message a reply answers: a question from a builder released since
    may still be answered by the architect it asked (:func:`acks.released_route`)."""
    thread = sender.record.thread if sender.record is not None else None
    parsed = parse_target(target)
    if parsed.kind == "broadcast":
        return Route(BROADCAST_REF, BROADCAST, thread)
    if parsed.kind == "own-architect":
        if not sender.is_builder:
            raise UsageError(
                "'architect' is how a builder addresses its own architect",
                "address another architect as architect:<name>",
            )
        return Route(inbox_ref(sender.architect), architect_address(sender.architect), thread)
    if parsed.kind == "architect":
        name = ArchitectName(parsed.name)
        if sender.is_builder:
            if name == sender.architect:  # afx lets a builder name its own architect
                return Route(inbox_ref(name), architect_address(name), thread)
            raise UsageError(
                f"builder {sender.name} may only write to its own architect",
                "use the target 'architect'",
            )
        from codev_git.ownership.registry import require_known

        require_known(store, name, "send")
        return Route(inbox_ref(name), architect_address(name), None)
    try:
        owned = book.find(parsed.name)
    except UsageError as exc:
        if answering is None or exc.code != "unknown-builder" or answering.sender != target:
            raise
        from codev_git.messaging.acks import released_route

        where = released_route(book, sender, answering)
        if where is None:
            raise
        return where
    rec = owned.current
    if sender.is_builder and rec.builder == sender.name:
        raise UsageError("a builder cannot send a message to itself", "use the target 'architect'")
    return Route(builder_inbox_ref(rec.builder), rec.builder, rec.thread, ownership=rec.rid or None)


def check_body(store: Store, body: bytes) -> None:
    if not body.strip():
        raise UsageError("the message is empty", "give the text as an argument, with --file, or -")
    limit = config.MAX_MESSAGE_BYTES.number(store)
    if len(body) > limit:
        raise UsageError(
            f"the message is {len(body)} bytes; the limit is {limit}",
            f"shorten it, or raise it with 'git config {config.MAX_MESSAGE_BYTES.name} N'",
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
    sign = config.SIGN_MESSAGES.flag(store) or store.config_bool("commit.gpgSign")

    def compute(old: str | None) -> str:
        parents = [old] if old else []
        if sign:
            from codev_git.store.porcelain import commit_tree_signed

            where = store.workdir or store.git_dir
            return commit_tree_signed(where, tree, parents, payload, author.name, author.email)
        return store.write_commit(tree=tree, parents=parents, author=author, message=payload)

    _, new = store.cas_update(ref, compute, f"codev: message from {trailers['Codev-From']}")
    assert new is not None
    after_append(store, new)
    return new


@dataclass(frozen=True)
class Sent:
    """A message just written: what ``send`` and ``reply`` report."""

    id: str
    sender: str
    to: str
    thread: str | None
    time: str
    ref: str
    reply_to: str | None = None
    workspace: str | None = None  # the other workspace it was written to
    ack: str | None = None  # Codev-Ack ("requested")
    importance: str | None = None  # Codev-Importance ("urgent")
    kind: str | None = None  # Codev-Kind ("ack")


def send(
    store: Store,
    sender: Identity,
    target: str,
    body: bytes,
    *,
    book: OwnerBook,
    reply_to: str | None = None,
    ack: bool = False,
    urgent: bool = False,
    kind: str | None = None,
    extra: dict[str, str] | None = None,
    answering: Message | None = None,
) -> Sent:
    check_body(store, body)
    where = route(store, sender, target, book, answering)
    trailers = {"Codev-From": sender.address, "Codev-To": where.to}
    if where.thread:
        trailers["Codev-Thread"] = where.thread
    trailers["Codev-Time"] = now_iso()
    if reply_to:
        trailers["Codev-Reply-To"] = reply_to
    if ack:
        trailers["Codev-Ack"] = ACK_REQUESTED
    if urgent:
        trailers["Codev-Importance"] = URGENT
    if kind:
        trailers["Codev-Kind"] = kind
    # which ownership record this was sent under: verified against the history, not a time
    record = sender.record if sender.is_builder else None
    ownership = record.rid if record is not None and record.rid else where.ownership
    if ownership:
        trailers["Codev-Ownership"] = ownership
    trailers.update(extra or {})
    author = store.identity() or Ident(sender.name, f"{sender.name}@codev.invalid")
    message_id = append(store, where.ref, body, trailers, author)
    if where.note:
        report.note(where.note)  # only once it is true
    return Sent(
        message_id,
        sender.address,
        where.to,
        where.thread,
        trailers["Codev-Time"],
        where.ref,
        reply_to,
        ack=trailers.get("Codev-Ack"),
        importance=trailers.get("Codev-Importance"),
        kind=trailers.get("Codev-Kind"),
    )


# -- reading ----------------------------------------------------------------------------------
def channels_of(reader: Identity) -> list[tuple[str, str]]:
    """(channel ref, cursor ref) pairs a reader sees: its own inbox, then broadcast."""
    return [
        (own_channel(reader), cursor_ref(reader, "inbox")),
        (BROADCAST_REF, cursor_ref(reader, "broadcast")),
    ]
