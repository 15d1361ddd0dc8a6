"""What the page needs from every message without keeping every message: which messages ask
for an answer (the acknowledgement model of ``messaging/acks.py``, whose ``answers`` rule it
applies), the replies to them, and when each party was last active.

The index walks each channel once and afterwards only the commits added since the tip it
last saw, so a page refresh after a new message reads one commit, not the whole history.
It keeps the messages that ask and the replies, without their text; of the rest, nothing.
The walk reads parents and messages only; a message is decoded in full only when its
trailers alone do not say enough (it asks or answers, its body is encoded, its time odd).

What it knows is kept in ``.git/codev/web-index.json`` after a refresh that read many
messages, so that the next server starts from there instead of reading the whole history
again: the channel tips, the count, the last-active times and the ids of the messages kept
(read again from the repository on load). It is a cache: a file that is missing, damaged
or from another version is ignored, and a channel rewritten since is read again whole.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codev_git.errors import CodevError
from codev_git.messaging.acks import answers
from codev_git.messaging.history import channels
from codev_git.messaging.message import Message, decode, is_merge, plain_envelope
from codev_git.store import Store
from codev_git.store.files import replace_file
from codev_git.store.values import is_hex

# a refresh that reads at least this many messages writes the cache file
SAVE_AFTER = 5000
CACHE_VERSION = 1


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
    save_after: int = SAVE_AFTER  # a refresh that read this many commits writes the cache
    _loaded: bool = False  # the cache file was looked for

    def refresh(self, store: Store, refs: dict[str, str] | None = None) -> None:
        """Take in the messages added since the last refresh (thread-safe). A channel that
        was rewritten or removed (not a fast-forward) makes it read everything again: what
        it dropped must not stay a question, nor what it kept be taken twice."""
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._load(store)
            if self._refresh(store, refs) >= self.save_after:
                self._save(store)

    def _refresh(self, store: Store, refs: dict[str, str] | None) -> int:
        """Take in what came since; returns how many commits were read."""
        read = 0
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
                read += 1
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
        return read

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
        self._keep(msg)

    def _keep(self, msg: Message) -> None:
        if msg.reply_to or msg.asks_answer:
            msg = replace(msg, body=b"")  # only who, to whom, when and what it answers
        if msg.reply_to:
            self.replies.setdefault(msg.reply_to, []).append(msg)
        if msg.asks_answer:
            self.asked[msg.id] = Asked(msg)

    # -- the cache file ------------------------------------------------------------------------
    @staticmethod
    def _path(store: Store) -> Path:
        return store.common_dir / "codev" / "web-index.json"

    def _save(self, store: Store) -> None:
        kept = {a.id: a.message.channel for a in self.asked.values()}
        kept.update((r.id, r.channel) for rs in self.replies.values() for r in rs)
        data = {
            "version": CACHE_VERSION,
            "channels": {name: state.tip for name, state in self._channels.items()},
            "count": self.count,
            "lastSeen": self.last_seen,
            "kept": sorted(kept.items()),
        }
        path = self._path(store)
        with contextlib.suppress(OSError):  # a cache: losing it costs only time
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, json.dumps(data, separators=(",", ":")))

    def _load(self, store: Store) -> None:
        """Start from the cache file when it is whole and of this version (else from
        nothing); the refresh after it reads what came since, or everything again."""
        try:
            data = json.loads(self._path(store).read_text())
            kept = _valid_cache(data)
        except (OSError, ValueError):
            return
        if kept is None:
            return
        tips = data["channels"]
        if not all(store.object_type(tip) == "commit" for tip in tips.values()):
            return  # a tip gone since (rewritten, then pruned): read everything again
        for oid, channel in kept:
            try:
                msg = decode(store.commit(oid), channel)
            except CodevError:  # gone since (a rewritten channel): read everything again
                self._clear()
                return
            if msg is not None:
                self._keep(msg)
        self._channels = {name: _Channel(tip) for name, tip in tips.items()}
        self.count = data["count"]
        self.last_seen = dict(data["lastSeen"])

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


def _valid_cache(data: Any) -> list[tuple[str, str]] | None:
    """The kept (id, channel) pairs of a cache file whose every field has its shape, else
    None."""
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return None
    tips, count, seen, kept = (data.get(k) for k in ("channels", "count", "lastSeen", "kept"))
    if not (isinstance(tips, dict) and isinstance(seen, dict) and isinstance(kept, list)):
        return None
    if not isinstance(count, int) or count < 0:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in seen.items()):
        return None
    if not all(isinstance(v, str) and is_hex(v, 40) for v in tips.values()):
        return None
    pairs: list[tuple[str, str]] = []
    for pair in kept:
        if not (isinstance(pair, list) and len(pair) == 2):
            return None
        oid, channel = pair
        if not (isinstance(oid, str) and is_hex(oid, 40) and isinstance(channel, str)):
            return None
        pairs.append((oid, channel))
    return pairs
