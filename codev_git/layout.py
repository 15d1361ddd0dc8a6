"""Where everything lives in the repository: every ref name ``git codev`` reads or writes.

==========================================  ==================================================
``refs/notes/codev/owners``                 ownership records, a note per builder branch
``refs/codev/inbox/<architect>``            an architect's inbox, one commit per message
``refs/codev/builders/<builder-id>``        a builder's inbox (its architect's instructions)
``refs/codev/broadcast``                    the broadcast channel
``refs/codev/architects``                   the architect registry, one commit per event
``refs/codev/read/<kind>/<name>/<channel>``  a reader's cursor; everything it reaches is read
``refs/codev-remotes/<remote>/…``           ``sync``'s private mirror of a remote's codev refs
==========================================  ==================================================

No other module spells these names.
"""

from __future__ import annotations

CODEV_PREFIX = "refs/codev/"
NOTES_PREFIX = "refs/notes/codev/"
OWNERS_REF = NOTES_PREFIX + "owners"
INBOX_PREFIX = CODEV_PREFIX + "inbox/"
BUILDER_INBOX_PREFIX = CODEV_PREFIX + "builders/"
BROADCAST_REF = CODEV_PREFIX + "broadcast"
ARCHITECTS_REF = CODEV_PREFIX + "architects"
READ_PREFIX = CODEV_PREFIX + "read/"
MIRROR_ROOT = "refs/codev-remotes/"
REMOTES_PREFIX = "refs/remotes/"

# what sync exchanges with a remote
SHARED_PREFIXES = (CODEV_PREFIX, NOTES_PREFIX)
# whose objects the in-process packer may pack: ours, and the sync mirrors
PACKABLE_PREFIXES = (CODEV_PREFIX, NOTES_PREFIX, MIRROR_ROOT)


def inbox_ref(architect: str) -> str:
    return INBOX_PREFIX + architect


def builder_inbox_ref(builder: str) -> str:
    return BUILDER_INBOX_PREFIX + builder


def cursor_ref(kind: str, reader: str, channel: str) -> str:
    """A reader's cursor on a channel (``channel`` is the channel's ref or ``broadcast``)."""
    return f"{READ_PREFIX}{kind}/{reader}/{channel}"


def mirror_prefix(remote: str) -> str:
    """Where ``sync`` keeps what ``remote`` held at the last fetch."""
    return f"{MIRROR_ROOT}{remote}/"


def mirror_of(remote: str, ref: str) -> str:
    """``refs/codev/inbox/main`` -> ``refs/codev-remotes/<remote>/codev/inbox/main``."""
    return mirror_prefix(remote) + ref.removeprefix("refs/")


def is_channel(ref: str) -> bool:
    return ref == BROADCAST_REF or ref.startswith((INBOX_PREFIX, BUILDER_INBOX_PREFIX))


def remote_branch(remote: str, branch: str) -> str:
    return f"{REMOTES_PREFIX}{remote}/{branch}"
