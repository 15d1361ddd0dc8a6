"""Verification as each message's recipient would see it, for views of every channel at
once (``log``, the web page): a builder's channel is read as that builder reads it, every
other channel as an architect overseeing them all. ``inbox.verify`` decides; this picks
the reader per channel and looks ownership up once per builder."""

from __future__ import annotations

from codev_git.layout import BUILDER_INBOX_PREFIX
from codev_git.messaging.inbox import verify
from codev_git.messaging.message import Message
from codev_git.names import ArchitectName
from codev_git.ownership.builder_state import builder_identity
from codev_git.ownership.identity import Identity
from codev_git.ownership.records import OwnerBook, Ownership
from codev_git.store import Store

# who reads the channels that are not a builder's: no architect in particular
OVERSEER = Identity("architect", "overseer", ArchitectName("overseer"), "an overseer's view")


class RememberingBook(OwnerBook):
    """Ownership looked up once per builder for the length of one view."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._found: dict[str, Ownership | None] = {}

    def by_builder(self, builder: str) -> Ownership | None:
        if builder not in self._found:
            self._found[builder] = super().by_builder(builder)
        return self._found[builder]


class Verifier:
    """Verification as a recipient would see it (``inbox.verify``), in batches."""

    def __init__(self, book: OwnerBook) -> None:
        self.book = book
        self._readers: dict[str, Identity] = {}

    def reader(self, channel: str) -> Identity:
        if not channel.startswith(BUILDER_INBOX_PREFIX):
            return OVERSEER
        if channel not in self._readers:
            owned = self.book.by_builder(channel[len(BUILDER_INBOX_PREFIX) :])
            self._readers[channel] = builder_identity(owned.current) if owned else OVERSEER
        return self._readers[channel]

    def __call__(self, msg: Message) -> Message:
        return verify([msg], self.reader(msg.channel), self.book)[0]

    def batch(self, messages: list[Message]) -> list[Message]:
        """The same messages, verified, in the same order (one ``verify`` per reader)."""
        groups: dict[str, list[int]] = {}
        for n, msg in enumerate(messages):
            groups.setdefault(self.reader(msg.channel).name, []).append(n)
        out = list(messages)
        for places in groups.values():
            reader = self.reader(messages[places[0]].channel)
            done = verify([messages[n] for n in places], reader, self.book)
            for n, msg in zip(places, done, strict=True):
                out[n] = msg
        return out


def verified(store: Store, messages: list[Message]) -> list[Message]:
    """``messages`` (of any channels) as their recipients would see them."""
    return Verifier(RememberingBook(store)).batch(messages) if messages else messages
