"""What ``sync`` accepts from a remote: another clone's data is untrusted.

Only refs whose names ``git codev`` itself writes are taken in
(:func:`codev_git.layout.is_shared_ref`); the rest are skipped with a warning. Valid names
never clash with each other (no valid name is a directory of another), so a remote holding
both an inbox ``ops`` and an ``ops/x`` beside it cannot make every fetch fail: when the fast
pattern fetch is refused, the valid refs are listed and fetched one by one by name. A channel
whose new commits hold a message over ``codev.maxMessageBytes`` is not taken in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codev_git import config
from codev_git.messaging.message import is_message
from codev_git.store import Store
from codev_git.sync.merge import Action


def lock_trouble(err: str) -> bool:
    """Another sync in this clone holds a mirror ref (worth a retry), as opposed to a name
    clash that git also reports as a lock failure."""
    clash = ("exists; cannot create", "Not a directory", "at the same time", "is a directory")
    return "lock" in err and not any(text in err for text in clash)


def clear_mirror(cwd: Path, mirror: str, keep: set[str]) -> None:
    """Before a fetch by name: remove from the mirror (a disposable cache) every ref but
    those in ``keep``, the valid names about to be fetched, which never clash with each
    other. Should that fetch fail, the mirror still holds what it held of them."""
    store = Store.discover(cwd)
    for name, oid in store.refs_under(mirror).items():
        if name not in keep:
            store.delete_ref(name, oid)


@dataclass(frozen=True)
class Incoming:
    """What a channel's new commits from a remote bring: how many messages and what taking
    them in takes, or why they are not taken in."""

    messages: int
    action: Action
    refusal: str | None = None


def incoming(store: Store, ref: str, theirs: str, mine: str | None) -> Incoming:
    """One walk over the remote's commits that the local channel lacks (``theirs ^mine``).
    They are refused when one holds a message over ``codev.maxMessageBytes`` (the limit
    ``send`` applies), else counted. The same walk says how they come in: nothing walked,
    the remote tip is already here; a walked commit whose parent is the local tip, a
    fast-forward (every path from the remote tip down to the local one passes through
    such a commit); else a merge."""
    limit = config.MAX_MESSAGE_BYTES.number(store)
    ceiling = limit * 4 // 3 + 4096  # base64 bodies and the trailers
    count = walked = 0
    on_top = mine is None
    for info in store.walk_raw(theirs, [mine] if mine else []):
        if len(info.raw_message) > ceiling:
            return Incoming(
                0,
                "none",
                f"not taking in {ref}: its message {info.id[:12]} is "
                f"{len(info.raw_message)} bytes, over {config.MAX_MESSAGE_BYTES.name} "
                f"({limit}); ask its sender to remove it, or raise the limit",
            )
        walked += 1
        count += is_message(info)
        on_top = on_top or mine in info.parents
    if not walked:
        return Incoming(0, "none")
    if mine is None:
        return Incoming(count, "create")
    return Incoming(count, "fast-forward" if on_top else "merge")
