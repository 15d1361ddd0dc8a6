"""How two tips of one codev ref become one: the merge rule for each kind of ref.

| kind    | refs                                              | diverged tips become            |
|---------|---------------------------------------------------|---------------------------------|
| channel | inboxes, builders' inboxes, broadcast            | a ``Codev-Merge: sync`` commit  |
| cursor  | read cursors                                      | a ``Codev-Merge: read`` commit  |
| notes   | the ownership notes                               | union of note lines and anchors |
| log     | the architect registry                            | a ``Codev-Merge: sync`` commit  |
| other   | any other codev ref                               | left alone (fast-forward only)  |

Every merge commit is deterministic: parents sorted, a fixed author, the newer parent's time.
Two clones merging the same pair of tips write the same commit, so they agree at once instead
of merging each other's merges.
"""

from __future__ import annotations

from typing import Literal

from codev_git.layout import (
    ARCHITECTS_REF,
    BROADCAST_REF,
    BUILDER_INBOX_PREFIX,
    INBOX_PREFIX,
    NOTES_PREFIX,
    READ_PREFIX,
)
from codev_git.messaging.message import CURSOR_COMMIT_MESSAGE
from codev_git.ownership.records import ANCHORS_DIR, merge_note_lines
from codev_git.store import Ident, Store

MERGE_AUTHOR = Ident("git-codev", "codev@invalid")
CHANNEL_MERGE = b"codev merge\n\nCodev-Merge: sync\n"
NOTES_MERGE = b"codev: merge ownership records\n\nCodev-Merge: sync\n"

Kind = Literal["channel", "cursor", "notes", "log", "other"]
Action = Literal["none", "create", "fast-forward", "merge", "diverged"]


def kind_of(ref: str) -> Kind:
    if ref == BROADCAST_REF or ref.startswith((INBOX_PREFIX, BUILDER_INBOX_PREFIX)):
        return "channel"
    if ref.startswith(READ_PREFIX):
        return "cursor"
    if ref == ARCHITECTS_REF:
        return "log"
    if ref.startswith(NOTES_PREFIX):
        return "notes"
    return "other"


def action_for(store: Store, kind: Kind, local: str | None, remote: str | None) -> Action:
    """What bringing ``remote`` into the local ref takes (writes nothing)."""
    if remote is None or local == remote:
        return "none"
    if local is None:
        return "create"
    base = store.merge_base(local, remote)  # one walk answers both questions
    if base == remote:
        return "none"
    if base == local:
        return "fast-forward"
    return "diverged" if kind == "other" else "merge"


def merged_tip(
    store: Store, kind: Kind, local: str | None, remote: str | None, action: Action | None = None
) -> str | None:
    """The local ref's new value once ``remote`` is merged in, or None to leave it as it is;
    ``action``: what :func:`action_for` already said of these two tips."""
    action = action or action_for(store, kind, local, remote)
    if action in ("create", "fast-forward"):
        return remote
    if action != "merge":
        return None
    assert local is not None and remote is not None
    if kind == "notes":
        return _merge_commit(
            store, union_notes_tree(store, local, remote), local, remote, NOTES_MERGE
        )
    message = CURSOR_COMMIT_MESSAGE if kind == "cursor" else CHANNEL_MERGE
    return _merge_commit(store, store.empty_tree(), local, remote, message)


def _merge_commit(store: Store, tree: str, one: str, two: str, message: bytes) -> str:
    when = max(store.commit(one).time, store.commit(two).time)
    return store.write_commit(
        tree=tree, parents=sorted((one, two)), author=MERGE_AUTHOR, message=message, when=when
    )


def union_notes_tree(store: Store, one: str, two: str) -> str:
    """A flat notes tree holding, per annotated object, the union of both notes' lines, the
    union of both ``anchors/`` trees, and every other entry (the first commit's wins)."""
    trees = (store.tree_of(one), store.tree_of(two))
    notes = [dict(store.note_entries(tree)) for tree in trees]
    entries: dict[str, tuple[str, str]] = {}
    anchors: dict[str, tuple[str, str]] = {}
    for tree in reversed(trees):  # the first tree is applied last, so it wins
        for name, oid, kind in store.tree_entries(tree):
            if store.is_note_entry(name, kind) or kind in ("commit", "link"):
                continue  # notes are merged below; gitlinks and links are never ours
            if name == ANCHORS_DIR and kind == "tree":
                anchors.update((n, (o, k)) for n, o, k in store.tree_entries(oid))
            else:
                entries[name] = (oid, kind)
    for annotated in sorted(notes[0].keys() | notes[1].keys()):
        mine, theirs = notes[0].get(annotated), notes[1].get(annotated)
        if mine is None or theirs is None or mine == theirs:
            blob = mine or theirs
            assert blob is not None
        else:
            merged = merge_note_lines(store.read_blob(mine), store.read_blob(theirs))
            blob = store.write_blob(merged)
        entries[annotated] = (blob, "blob")
    if anchors:
        entries[ANCHORS_DIR] = (store.write_tree(anchors), "tree")
    return store.write_tree(entries)
