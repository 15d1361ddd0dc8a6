"""Telling everyone concerned that a builder's ownership changed, and keeping its tag right.

After ``spawn``, ``reassign`` and ``release`` one message goes to each channel concerned (the
owner's inbox, the previous owner's, the builder's own), written by the acting architect
through the messaging send path, with ``Codev-Kind: ownership``. The acting architect's own
inbox is skipped: the command's output already told it, and a message from oneself would
only sit there unread. A reassigned builder's
``.thread`` tag is rewritten in its worktree so that ``context`` and ``consult`` agree with
``whoami`` at once (the post-checkout hook only runs on the next checkout).
"""

from __future__ import annotations

from pathlib import Path

from codev_git import report
from codev_git.address import architect_address
from codev_git.clock import now_iso
from codev_git.errors import CodevError
from codev_git.layout import builder_inbox_ref, inbox_ref
from codev_git.names import ArchitectName
from codev_git.ownership.records import OwnerRecord
from codev_git.store import Ident, Store

KIND = "ownership"


def announce(
    store: Store,
    actor: Ident,
    sender: ArchitectName,
    record: OwnerRecord,
    text: str,
    *,
    architects: list[ArchitectName],
    builder: bool = True,
) -> list[str]:
    """Send ``text`` once to each architect in ``architects`` and (with ``builder``) to the
    builder. Returns the message ids. A failure to send is a warning: the ownership change
    itself is done and must not be reported as failed."""
    from codev_git.messaging.message import append

    targets: dict[str, str] = {}
    for name in architects:
        if name != sender:
            targets.setdefault(inbox_ref(name), architect_address(name))
    if builder:
        targets.setdefault(builder_inbox_ref(record.builder), record.builder)
    sent: list[str] = []
    for ref, to in targets.items():
        trailers = {"Codev-From": architect_address(sender), "Codev-To": to}
        if record.thread:
            trailers["Codev-Thread"] = record.thread
        trailers["Codev-Time"] = now_iso()
        trailers["Codev-Kind"] = KIND
        try:
            sent.append(append(store, ref, text.encode(), trailers, actor))
        except CodevError as exc:
            report.warn(f"could not tell {to} ({exc})")
    return sent


def retag(store: Store, record: OwnerRecord) -> Path | None:
    """Rewrite ``.thread`` in the builder's worktree from ``record`` (a hand-written tag is
    left alone, as the hook does). Returns the worktree rewritten, if any."""
    from codev_git.worktree.tag import ThreadFile, write_ours

    worktree = store.worktree_heads().get(record.branch)
    if worktree is None:
        return None
    if record.event == "release":
        from codev_git.worktree.tag import remove_ours

        remove_ours(worktree)
        return worktree
    wanted = ThreadFile(record.thread, record.architect, record.builder, record.branch_name, True)
    try:
        outcome = write_ours(worktree, wanted)
    except OSError as exc:
        report.warn(f"could not update {worktree / '.thread'} ({exc}); a checkout will")
        return None
    if outcome == "kept-foreign":
        report.note(f"{worktree / '.thread'} was written by hand; left as it is")
        return None
    return worktree
