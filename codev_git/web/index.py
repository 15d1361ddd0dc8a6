"""What the page needs from every message without keeping every message: which messages ask
for an answer (the acknowledgement model of ``messaging/acks.py``, whose ``answers`` rule it
applies), the replies to them, and when each party was last active.

The index walks each channel once and afterwards only the commits added since the tip it
last saw, so a page refresh after a new message reads one commit, not the whole history.
It keeps the messages that ask and the replies, without their text; of the rest, nothing.
The walk reads parents and messages only; a message is decoded in full only when its
trailers alone do not say enough (it asks or answers, its body is encoded, its time odd).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from codev_git.messaging.acks import answers
from codev_git.messaging.history import channels
from codev_git.messaging.message import Message, decode, is_merge, plain_envelope
from codev_git.store import Store


@dataclass(frozen=True)
class Asked:
    """A message that asked for an answer (``Codev-Ack: requested``), without its text."""

    message: Message

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def to(self) -> str:
        return self.message.to

    @property
    def time(self) -> str:
        return self.message.time


@dataclass
class _Channel:
    tip: str | None = None


@dataclass
class MessageIndex:
    """Kept for the server's life; the repository is the caller's, so that libgit2's caches
    and pack windows go with each request instead of growing with the history."""

    asked: dict[str, Asked] = field(default_factory=dict)
    replies: dict[str, list[Message]] = field(default_factory=dict)  # answered id -> replies
    last_seen: dict[str, str] = field(default_factory=dict)  # party -> newest message time
    count: int = 0
    _channels: dict[str, _Channel] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, store: Store, refs: dict[str, str] | None = None) -> None:
        """Take in the messages added since the last refresh (thread-safe). A channel that
        was rewritten or removed (not a fast-forward) makes it read everything again: what
        it dropped must not stay a question, nor what it kept be taken twice."""
        with self._lock:
            tips: dict[str, str] = {}
            for name in channels(store, refs):
                tip = refs.get(name) if refs is not None else store.ref_target(name)
                if tip is not None and store.object_type(tip) == "commit":
                    tips[name] = tip  # else not a channel at all (skipped as the CLI does)
            if any(
                self._rewritten(store, state.tip, tips.get(name))
                for name, state in self._channels.items()
            ):
                self._clear()
            for name, tip in tips.items():
                state = self._channels.setdefault(name, _Channel())
                if tip == state.tip:
                    continue
                hide = [state.tip] if state.tip is not None else []
                for raw in store.walk_raw(tip, hide):  # parents and message only
                    if is_merge(raw):
                        continue
                    plain = plain_envelope(raw.raw_message)
                    if plain is not None:  # most messages: who, to whom, when is all it needs
                        self._seen(*plain)
                        continue
                    msg = decode(store.commit(raw.id), name)
                    if msg is not None:
                        self._take(msg)
                state.tip = tip

    @staticmethod
    def _rewritten(store: Store, seen: str | None, tip: str | None) -> bool:
        if seen is None or seen == tip:
            return False
        return tip is None or not store.is_ancestor(seen, tip)

    def _clear(self) -> None:
        self.asked.clear()
        self.replies.clear()
        self.last_seen.clear()
        self._channels.clear()
        self.count = 0

    def _seen(self, sender: str, to: str, time: str) -> None:
        self.count += 1
        for party in (sender, to):
            if time > self.last_seen.get(party, ""):
                self.last_seen[party] = time

    def _take(self, msg: Message) -> None:
        self._seen(msg.sender, msg.to, msg.time)
        if msg.reply_to or msg.asks_answer:
            msg = replace(msg, body=b"")  # only who, to whom, when and what it answers
        if msg.reply_to:
            self.replies.setdefault(msg.reply_to, []).append(msg)
        if msg.asks_answer:
            self.asked[msg.id] = Asked(msg)

    def answered(self, asked: Asked) -> bool:
        return any(answers(reply, asked.message) for reply in self.replies.get(asked.id, []))

    def waiting(self) -> list[Asked]:
        """Messages that still await an answer, oldest first."""
        with self._lock:
            out = [a for a in self.asked.values() if not self.answered(a)]
        return sorted(out, key=lambda a: (a.time, a.id))

    def replies_to(self, message_id: str) -> list[str]:
        with self._lock:
            return [reply.id for reply in self.replies.get(message_id, [])]
