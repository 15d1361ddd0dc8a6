"""What the page needs from every message without keeping every message: who answered what,
which messages ask for an answer, and when each party was last active.

The index walks each channel once and afterwards only the commits added since the tip it
last saw, so a page refresh after a new message reads one commit, not the whole history.
It holds a few small facts per message (ids, not bodies).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from codev_git.address import is_broadcast
from codev_git.messaging.history import channels
from codev_git.messaging.message import Message, decode, is_merge
from codev_git.store import Store

ACK_TRAILER = b"\nCodev-Ack: requested"


@dataclass(frozen=True)
class Asked:
    """A message that asked for an answer (``Codev-Ack: requested``)."""

    id: str
    sender: str
    to: str
    time: str
    channel: str
    thread: str | None


@dataclass
class _Channel:
    tip: str | None = None


def ack_requested(raw_message: bytes) -> bool:
    """Whether a message commit carries ``Codev-Ack: requested`` in its trailer block."""
    cut = raw_message.rfind(b"\n\n")
    return cut >= 0 and ACK_TRAILER in raw_message[cut + 1 :]


@dataclass
class MessageIndex:
    store: Store
    asked: dict[str, Asked] = field(default_factory=dict)
    replies: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # id -> (id, from)
    last_seen: dict[str, str] = field(default_factory=dict)  # party -> newest message time
    count: int = 0
    _channels: dict[str, _Channel] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, refs: dict[str, str] | None = None) -> None:
        """Take in the messages added since the last refresh (thread-safe)."""
        with self._lock:
            names = channels(self.store) if refs is None else _channel_refs(refs)
            for name in names:
                tip = refs.get(name) if refs is not None else self.store.ref_target(name)
                state = self._channels.setdefault(name, _Channel())
                if tip is None or tip == state.tip:
                    continue
                hide = [state.tip] if state.tip is not None else []
                if hide and not self.store.is_ancestor(hide[0], tip):
                    hide = []  # rewritten channel: read it again (ids are kept once each)
                for info in self.store.walk(tip, hide):
                    if is_merge(info):
                        continue
                    msg = decode(info, name)
                    if msg is not None:
                        self._take(msg, ack_requested(info.raw_message))
                state.tip = tip

    def _take(self, msg: Message, asks: bool) -> None:
        self.count += 1
        if msg.reply_to:
            self.replies.setdefault(msg.reply_to, []).append((msg.id, msg.sender))
        for party in (msg.sender, msg.to):
            if msg.time > self.last_seen.get(party, ""):
                self.last_seen[party] = msg.time
        if asks:
            asked = Asked(msg.id, msg.sender, msg.to, msg.time, msg.channel, msg.thread)
            self.asked[msg.id] = asked

    def answered(self, asked: Asked) -> bool:
        """Answered when a message from its recipient names it in ``Codev-Reply-To``
        (for a broadcast, a reply from anyone)."""
        answers = self.replies.get(asked.id, [])
        if is_broadcast(asked.to):
            return bool(answers)
        return any(sender == asked.to for _, sender in answers)

    def waiting(self) -> list[Asked]:
        """Messages that still await an answer, oldest first."""
        with self._lock:
            out = [a for a in self.asked.values() if not self.answered(a)]
        return sorted(out, key=lambda a: (a.time, a.id))

    def replies_to(self, message_id: str) -> list[str]:
        with self._lock:
            return [reply for reply, _ in self.replies.get(message_id, [])]


def _channel_refs(refs: dict[str, str]) -> list[str]:
    from codev_git.layout import is_channel

    return sorted(name for name in refs if is_channel(name))
