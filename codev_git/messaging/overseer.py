"""Messages from a person overseeing the architects, sent as the reserved sender ``human``.

Only the web page's ``--allow-send`` writes them. No command-line identity can claim the
name: an architect's address is always ``architect:<name>`` and a builder's ``builder-<dir>``.
"""

from __future__ import annotations

from codev_git.address import BROADCAST, HUMAN, OWN_ARCHITECT
from codev_git.clock import now_iso
from codev_git.errors import UsageError
from codev_git.messaging.message import Route, append, check_body, route
from codev_git.names import ArchitectName, shown
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook
from codev_git.store import Ident, Store

_AS_SENDER = Identity("architect", HUMAN, ArchitectName(HUMAN), "the overseer's web page")


def send_as_human(store: Store, target: str, body: bytes) -> tuple[str, Route]:
    """Send to ``architect:NAME`` or a builder; returns (message id, route)."""
    if target in (OWN_ARCHITECT, BROADCAST) or not target:
        raise UsageError(
            f"the overseer cannot write to {shown(target)}",
            "choose architect:<name> or a builder id",
        )
    check_body(store, body)
    book = OwnerBook(store)
    where = route(store, _AS_SENDER, target, book)
    trailers = {"Codev-From": HUMAN, "Codev-To": where.to}
    if where.thread:
        trailers["Codev-Thread"] = where.thread
    trailers["Codev-Time"] = now_iso()
    author = store.identity() or Ident(HUMAN, "human@codev.invalid")
    return append(store, where.ref, body, trailers, author), where
