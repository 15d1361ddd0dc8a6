"""``send architect MESSAGE`` from a builder's worktree and ``inbox`` with nothing unread,
without click or pygit2 (:mod:`codev_git.fastpath` says when they run). Anything unusual
raises :class:`NotHere` before anything is written, and the full command runs instead.
Writing is the full path's too: a loose object written the way git writes one, then the ref
moved by ``git update-ref NEW OLD`` (git's own compare-and-swap), with the same bounded,
jittered retry as :meth:`Store.cas_update`.
"""

from __future__ import annotations

import os
import time

from codev_git import clock, config
from codev_git.address import architect_address
from codev_git.fastpath import Done
from codev_git.layout import OWNERS_REF, inbox_ref
from codev_git.messaging.message import channels_of, encode
from codev_git.names import BUILDER_BRANCH_PREFIX, BranchRef
from codev_git.ownership.identity import Identity, architect_from_settings
from codev_git.ownership.records import Ownership, anchor_id, parse_note
from codev_git.store.lite import NotHere, Objects, Repo
from codev_git.store.values import CAS_ATTEMPTS, CAS_MAX_SLEEP, EMPTY_TREE, Ident, is_git_false

# config that changes how a message is written or sent: the full path handles it
FULL_PATH_CONFIG = (
    config.SIGN_MESSAGES.name.lower(),
    "commit.gpgsign",
    config.AUTO_PUSH.name.lower(),
    config.MAX_MESSAGE_BYTES.name.lower(),
    config.REQUIRE_SIGNED.name.lower(),  # which ownership records are believed
    "core.sharedrepository",
    "extensions.objectformat",
    "extensions.refstorage",
)


# -- identity --------------------------------------------------------------------------------------
def _builder(repo: Repo, objects: Objects, branch: str | None) -> Identity | None:
    """The builder whose branch is checked out here (as :func:`identity.builder_here`)."""
    if branch is None:
        return None
    tip = repo.ref(OWNERS_REF)
    if tip is None:
        return None
    if objects.kind(tip) != "commit":
        raise NotHere("the notes ref is not a commit")
    anchor = anchor_id(BranchRef(branch))
    found = objects.read(f"{tip}:{anchor}") or objects.read(f"{tip}:{anchor[:2]}/{anchor[2:]}")
    if found is None:
        return None
    if found[0] != "blob":
        raise NotHere("the note is not a blob")
    lines = [ln for ln in found[1].decode("utf-8", "replace").splitlines() if ln.strip()]
    records = parse_note(found[1], branch, warn=False)
    if len(records) != len(lines):
        raise NotHere("an unreadable record line: the full path warns about it")
    mine = [r for r in records if r.branch == branch]
    if not mine or Ownership(tuple(mine)).released:
        raise NotHere("no record in force")
    rec = mine[-1]
    source = (
        f"this worktree has branch {rec.branch_name} checked out, "
        f"which has an ownership record ({rec.event} by {rec.by or rec.architect})"
    )
    return Identity("builder", rec.builder, rec.architect, source, rec)


# -- send architect MESSAGE ----------------------------------------------------------------------
def send(message: str) -> Done:
    if message.startswith("-"):
        raise NotHere("an option or stdin")
    body = message.encode("utf-8", "surrogateescape")
    if not body.strip() or len(body) > int(config.MAX_MESSAGE_BYTES.default or 0):
        raise NotHere("the full path explains what is wrong with the message")
    repo = Repo.here()
    objects = Objects(repo)
    try:
        sender = _builder(repo, objects, repo.head_branch())
        if sender is None or sender.record is None:
            raise NotHere("not a builder's worktree")
        _check_config(settings := repo.config())
        ref = inbox_ref(sender.architect)
        to = architect_address(sender.architect)
        trailers = {"Codev-From": sender.address, "Codev-To": to}
        if sender.record.thread:
            trailers["Codev-Thread"] = sender.record.thread
        trailers["Codev-Time"] = clock.now_iso()
        if sender.record.rid:  # which ownership record this was sent under
            trailers["Codev-Ownership"] = sender.record.rid
        name = settings.get("user.name") or os.environ.get("GIT_AUTHOR_NAME")
        email = settings.get("user.email") or os.environ.get("GIT_AUTHOR_EMAIL")
        author = Ident(name, email or "") if name else None
        author = author or Ident(sender.name, f"{sender.name}@codev.invalid")
        new = _append(repo, objects, ref, encode(body, trailers), author, sender.address)
    finally:
        objects.close()
    # the message is stored: nothing after this may fall back (it would be sent twice)
    line = f"sent {new[:12]} to {to} (from {sender.address})"
    return Done(line, repo, new)


def _check_config(settings: dict[str, str]) -> None:
    if not all(is_git_false(settings.get(key, "")) for key in FULL_PATH_CONFIG):
        raise NotHere("configured for the full path")


def _append(
    repo: Repo, objects: Objects, ref: str, payload: bytes, author: Ident, sender: str
) -> str:
    """Append one commit to ``ref`` with git's compare-and-swap; returns its id."""
    if not (repo.common / "objects" / EMPTY_TREE[:2] / EMPTY_TREE[2:]).exists():
        repo.write_object("tree", b"")
    import random

    for attempt in range(CAS_ATTEMPTS):
        old = repo.ref(ref)
        if old is not None and objects.kind(old) != "commit":
            raise NotHere("the inbox does not point at a commit: the full path refuses")
        ident = author.line(clock.now())
        head = [b"tree " + EMPTY_TREE.encode()]
        head += [b"parent " + old.encode()] if old else []
        head += [b"author " + ident, b"committer " + ident]
        new = repo.write_object("commit", b"\n".join(head) + b"\n\n" + payload)
        moved, said = repo.update_ref(ref, new, old, f"codev: message from {sender}")
        if moved:
            return new
        if not any(word in said for word in (b"lock", b"expected", b"exists")):
            raise NotHere("git update-ref failed: the full path reports it")
        time.sleep(random.uniform(0, min(CAS_MAX_SLEEP, 0.001 * (2 ** min(attempt, 8)))))
    raise NotHere("the inbox kept moving")


# -- inbox, nothing unread -----------------------------------------------------------------------
def inbox(as_json: bool = False) -> Done:
    """``inbox`` (``--peek`` changes nothing here) with nothing unread, as the full command
    says it, in text or JSON."""
    reader = nothing_unread(Repo.here())
    if not as_json:
        return Done(f"no unread messages for {reader.address}")
    from codev_git.messaging.render import json_text

    who = {"type": reader.kind, "name": reader.name, "architect": reader.architect}
    return Done(json_text({"reader": who, "messages": [], "markedRead": 0}))


def nothing_unread(repo: Repo) -> Identity:
    """Who reads here (a builder by its record, else the architect the environment names),
    when nothing is unread for it; else :class:`NotHere`."""
    objects = Objects(repo)
    try:
        branch = repo.head_branch()
        if branch is None:
            raise NotHere("detached: a rebase or bisect may be a builder's (the full path asks)")
        reader = _builder(repo, objects, branch)
        if reader is not None:
            _check_config(repo.config())  # e.g. requireSigned: is the record believed?
        else:
            if branch is not None and branch.startswith(BUILDER_BRANCH_PREFIX):
                raise NotHere("a builder branch without a record")
            if repo.worktree.parent.name == ".builders":
                raise NotHere("a builder worktree without a record")
            reader = architect_from_settings(None, None)
            if reader is None:
                raise NotHere("the identity comes from git config, or is missing")
        for channel, cursor in channels_of(reader):
            tip = repo.ref(channel)
            if tip is None:
                continue
            if repo.ref(cursor) != tip or objects.kind(tip) != "commit":
                raise NotHere("something may be unread")
    finally:
        objects.close()
    return reader
