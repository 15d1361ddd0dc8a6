"""Sending as a use case: route, write, then publish when asked (``send --push`` or
``codev.autoPush``), to this repository or to another workspace registered by name.

A publish failure after the message is stored is a warning and ``published.error``, never a
failure: failing would invite a retry that sends the message twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from codev_git import config, report
from codev_git.address import parse_target
from codev_git.errors import CodevError, UsageError
from codev_git.messaging.message import KIND_ACK, Message, Sent, send
from codev_git.ownership.identity import Identity, resolve, workspace_name
from codev_git.ownership.records import OwnerBook
from codev_git.store import Store


@dataclass(frozen=True)
class Delivered:
    sent: Sent
    published: dict[str, Any] | None = None  # the sync report, or {"error": …}
    summary: str | None = None  # the sync summary, for text output


def other_workspace(store: Store, name: str) -> Store:
    """The repository registered as workspace ``name``."""
    path = config.workspace_path(store, name)
    if not path:
        known = config.workspace_names(store)
        raise UsageError(
            f"no workspace named {name} is registered"
            + (f" (known: {', '.join(known)})" if known else ""),
            f"register it with 'git config codev.workspace.{name}.path /path/to/repo'",
            code="unknown-workspace",
            candidates=known,
        )
    try:
        return Store.discover(path)
    except CodevError as exc:
        raise UsageError(
            f"workspace {name} ({path}) is not a git repository: {exc.what}",
            f"fix 'git config codev.workspace.{name}.path'",
        ) from exc


def deliver(
    store: Store,
    sender: Identity,
    target: str,
    body: bytes,
    *,
    book: OwnerBook,
    push: bool | None = None,
    reply_to: str | None = None,
    ack: bool = False,
    urgent: bool = False,
    kind: str | None = None,
    answering: Message | None = None,
) -> Delivered:
    """Send ``body`` to ``target``; publish to the default remote when ``push`` (or, when
    None, ``codev.autoPush``) says so. A missing remote is refused before anything is sent."""
    parsed = parse_target(target)
    if parsed.workspace is not None:
        return _deliver_elsewhere(
            store,
            sender,
            target,
            parsed.workspace,
            body,
            reply_to,
            ack=ack,
            urgent=urgent,
            kind=kind,
        )
    remote = None
    if push or (push is None and config.AUTO_PUSH.flag(store)):
        from codev_git.sync.exchange import parse_remote

        remote = parse_remote(store, None)
    sent = send(
        store,
        sender,
        target,
        body,
        book=book,
        reply_to=reply_to,
        ack=ack,
        urgent=urgent,
        kind=kind,
        answering=answering,
    )
    if remote is None:
        return Delivered(sent)
    from codev_git.sync.exchange import sync
    from codev_git.sync.values import ref_scope

    try:
        result = sync(store, remote, scope=ref_scope(sent.ref))
    except CodevError as exc:
        report.warn(
            f"sent {sent.id[:12]} to {sent.to}, but not published: {exc.what}; "
            "it is stored here; publish it later with 'git codev sync'"
        )
        return Delivered(sent, {"error": str(exc)})
    return Delivered(sent, result.as_json(), result.summary())


def _deliver_elsewhere(
    store: Store,
    sender: Identity,
    target: str,
    workspace: str,
    body: bytes,
    reply_to: str | None,
    *,
    ack: bool,
    urgent: bool,
    kind: str | None = None,
) -> Delivered:
    if sender.is_builder:
        raise UsageError(
            f"builder {sender.name} may only write to its own architect",
            "ask your architect to write to the other workspace",
        )
    other = other_workspace(store, workspace)
    local = target.split(":", 1)[1]
    origin = workspace_name(store)
    sent = send(
        other,
        sender,
        local,
        body,
        book=OwnerBook(other),
        reply_to=reply_to,
        ack=ack,
        urgent=urgent,
        kind=kind,
        extra={"Codev-Workspace": origin},
    )
    return Delivered(replace(sent, workspace=workspace))


def reply(
    store: Store,
    as_name: str | None,
    message_id: str,
    body: bytes,
    *,
    push: bool | None = None,
    kind: str | None = None,
) -> Delivered:
    """Answer the sender of a message (``Codev-Reply-To:`` names it); ``git codev ack`` is a
    reply of kind ``ack``. A question from a builder released since is still answered, by
    the architect it asked, on the builder's own channel (:func:`acks.released_route`)."""
    from codev_git.messaging.history import find_message, reply_target

    book = OwnerBook(store)
    me = resolve(store, as_name, book)
    original = find_message(store, message_id)
    if kind == KIND_ACK:
        _check_acknowledgeable(me, original)
    target = reply_target(me, original)
    return deliver(
        store,
        me,
        target,
        body,
        book=book,
        push=push,
        reply_to=original.id,
        kind=kind,
        answering=original,
    )


def _check_acknowledgeable(me: Identity, original: Message) -> None:
    """Only a message's recipient acknowledges it (for broadcast: anyone but its sender);
    an ack from anyone else would answer nothing (see :func:`acks.answers`)."""
    from codev_git.address import is_broadcast
    from codev_git.messaging.render import visible

    if is_broadcast(original.to):
        if original.sender == me.address:
            raise UsageError(
                f"{original.short_id} is your own broadcast", "acknowledge a message you received"
            )
        return
    if original.to != me.address:
        raise UsageError(
            f"{original.short_id} was sent to {visible(original.to)}, not to you "
            f"({me.address}): only its recipient can acknowledge it",
            f"answer its sender with 'git codev reply {original.short_id} TEXT' if you must",
        )


def send_as(
    store: Store,
    as_name: str | None,
    target: str,
    body: bytes,
    *,
    push: bool | None = None,
    ack: bool = False,
    urgent: bool = False,
) -> Delivered:
    """``git codev send``: the sender is detected, never claimed."""
    book = OwnerBook(store)
    sender = resolve(store, as_name, book)
    return deliver(store, sender, target, body, book=book, push=push, ack=ack, urgent=urgent)
