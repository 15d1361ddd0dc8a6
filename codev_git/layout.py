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

import re

from codev_git.names import ARCHITECT_RE, looks_like_builder_id

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


# refs with one fixed name: broadcast, and the architect registry
_SINGLE_REFS = frozenset({BROADCAST_REF, ARCHITECTS_REF})
_NOTES_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
_CURSOR_CHANNELS = ("inbox", "broadcast")


def is_shared_ref(ref: str) -> bool:
    """Whether ``ref`` is a name ``git codev`` writes (the table above), and so may be
    taken in from another clone."""
    if ref in _SINGLE_REFS:
        return True
    if ref.startswith(INBOX_PREFIX):
        return bool(ARCHITECT_RE.fullmatch(ref[len(INBOX_PREFIX) :]))
    if ref.startswith(BUILDER_INBOX_PREFIX):
        return looks_like_builder_id(ref[len(BUILDER_INBOX_PREFIX) :])
    if ref.startswith(READ_PREFIX):
        parts = ref[len(READ_PREFIX) :].split("/")
        if len(parts) != 3 or parts[2] not in _CURSOR_CHANNELS:
            return False
        kind, name = parts[0], parts[1]
        if kind == "architect":
            return bool(ARCHITECT_RE.fullmatch(name))
        return kind == "builder" and looks_like_builder_id(name)
    if ref.startswith(NOTES_PREFIX):
        return bool(_NOTES_NAME.fullmatch(ref[len(NOTES_PREFIX) :]))
    return False
