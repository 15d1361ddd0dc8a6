"""Waking an idle agent when a message arrives (Claude Code's ``asyncRewake`` hooks).

Claude Code runs a hook marked ``"asyncRewake": true`` in the background; when it exits with
status 2, what it wrote on stderr wakes the model (or joins the running turn). Our Stop entry
``git codev agent hook Stop --wait`` is such a hook: armed each time the agent finishes a
turn, it waits on the reader's refs (inotify, as ``inbox --follow`` does) until an unread
message is there, hands the messages over on stderr, marks them read, and exits 2.

Only one waiter per reader is armed at a time (its own lock beside the delivery lease; a
second one exits 0 at once), and it takes the delivery lease before handing anything over,
so a prompt hook, a follower and the waiter never hand over the same message twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codev_git.messaging.handover import Pending
from codev_git.messaging.lease import FOLLOWER, Lease
from codev_git.ownership.identity import Identity
from codev_git.store import Store


@dataclass
class Wake:
    batch: Pending
    handed: list[str]
    text: str


def wait_for_messages(
    store: Store,
    who: Identity,
    render: Callable[[Pending], tuple[list[str], str]],
    delivery: Lease,
    *,
    give_up_after: float | None = None,
) -> Wake | None:
    """Block until unread messages are there; None when another waiter is armed, when a
    follower delivers them, or after ``give_up_after`` seconds. On return with a Wake the
    caller holds ``delivery`` and must write the text, then mark and release."""
    import time

    from codev_git.messaging.follow import RefWatcher, watched_dirs
    from codev_git.messaging.handover import pending
    from codev_git.messaging.message import channels_of

    armed = Lease(delivery.path.with_name(delivery.path.stem + ".waiter.lock"))
    if not armed.try_acquire(f"the waiting hook of {who.address}"):
        return None
    watcher = RefWatcher(watched_dirs(store, who))
    started = time.monotonic()
    seen: tuple[str | None, ...] | None = None
    try:
        while True:
            tips = tuple(store.ref_target(channel) for channel, _ in channels_of(who))
            if tips != seen:
                seen = tips
                if pending(store, who).messages:
                    got = delivery.try_acquire(f"the waiting hook of {who.address}")
                    if not got and FOLLOWER in delivery.holder():
                        return None  # the follower delivers them
                    if not got and not delivery.acquire("a waiting hook", timeout=5):
                        continue
                    batch = pending(store, who)  # what is still unread under the lease
                    if batch.messages:
                        handed, text = render(batch)
                        return Wake(batch, handed, text)
                    delivery.release()
            if give_up_after is not None and time.monotonic() - started >= give_up_after:
                return None
            watcher.wait(30.0)
    finally:
        watcher.close()
        armed.release()
