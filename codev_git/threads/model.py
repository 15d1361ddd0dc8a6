"""Threads: per-architect initiatives kept as ``codev/<name>-thread.md`` on a branch.

Everything here reads straight from git objects at a given commit, so a thread can be read
from any worktree, at any ref, without a checkout. Archived threads live in ``codev/archive/``.
They are unrelated to Codev's per-builder logs in ``codev/state/``.

A thread file starts with YAML-style front matter, one ``key: value`` a line (a value may be
a double-quoted JSON string)::

    ---
    thread: checkout-v2
    architect: payments
    status: active
    created: 2026-11-24T17:00:00Z
    headline: "Rebuild checkout"
    ---
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from codev_git import report
from codev_git.clock import iso
from codev_git.errors import UsageError
from codev_git.messaging.inbox import read_channel
from codev_git.messaging.message import channels_of
from codev_git.names import (
    ARCHITECT_RE,
    THREAD_RE,
    ArchitectName,
    ThreadName,
    short_branch,
    shown,
)
from codev_git.ownership.builder_state import BuilderRow, architect_identity, base_branch, rows
from codev_git.ownership.records import OwnerBook
from codev_git.store import CommitInfo, Store

THREAD_DIR = "codev"
ARCHIVE_DIR = "codev/archive"
SUFFIX = "-thread.md"
HEADLINE_MAX = 200
BOM = "\ufeff"
LINE_SEPARATORS = "\u2028\u2029"  # with C1 controls (U+0085): line ends to splitlines


def thread_path(name: ThreadName, *, archived: bool = False) -> str:
    return f"{ARCHIVE_DIR if archived else THREAD_DIR}/{name}{SUFFIX}"


def parse_headline(raw: str) -> str:
    """One line of text, no control characters, at most 200 characters."""
    text = raw.strip()
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in LINE_SEPARATORS for ch in text):
        raise UsageError(
            "the headline must be one line of text", "drop newlines, tabs and control characters"
        )
    if len(text) > HEADLINE_MAX:
        raise UsageError(
            f"the headline is {len(text)} characters long",
            f"keep it under {HEADLINE_MAX}; details go in the file",
        )
    return text


def parse_front_matter(text: str) -> dict[str, str]:
    """The ``key: value`` lines between the leading ``---`` lines; {} when there are none.
    A leading byte order mark (what some editors save) is not part of the text. Lines end
    at ``\n`` (or ``\r\n``) only: a value may hold U+2028 and its kin, which are no line end."""
    lines = text.removeprefix(BOM).split("\n")
    if not lines or lines[0].strip() != "---":
        return {}
    front: dict[str, str] = {}
    for line in lines[1:]:
        if line.strip() == "---":
            return front
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or key.startswith("#"):
            continue
        if value.startswith('"'):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            value = decoded if isinstance(decoded, str) else value
        front[key] = value
    return {}  # no closing line: not front matter


@dataclass(frozen=True)
class Thread:
    """A thread file as stored in one commit."""

    name: ThreadName
    path: str
    archived: bool
    text: str
    front: dict[str, str]

    @property
    def truncated(self) -> bool:
        """Front matter that opens and never closes: a cut-off file, not a hand-written one."""
        return not self.front and self.text.removeprefix(BOM).lstrip().startswith("---")

    @property
    def architect(self) -> ArchitectName | None:
        owner = self.front.get("architect", "")
        return ArchitectName(owner) if ARCHITECT_RE.fullmatch(owner) else None

    @property
    def status(self) -> str:
        """ "archived" once archived, else what the front matter says (default "active")."""
        return "archived" if self.archived else self.front.get("status") or "active"

    @property
    def headline(self) -> str:
        return self.front.get("headline", "")

    def facts(self) -> dict[str, Any]:
        """The fields ``thread list --json`` and ``thread show --json`` share."""
        return {
            "name": self.name,
            "architect": self.architect,
            "status": self.status,
            "created": self.front.get("created"),
            "headline": self.headline,
            "path": self.path,
        }


def head_commit(store: Store) -> str | None:
    """The commit HEAD points at in this worktree, or None (unborn branch, empty repo)."""
    try:
        return store.resolve_commit("HEAD")
    except UsageError:
        return None


def _read(store: Store, commit: str, name: ThreadName, archived: bool) -> Thread | None:
    path = thread_path(name, archived=archived)
    data = store.read_path(commit, path)
    if data is None:
        return None
    text = data.decode("utf-8", "replace")
    return Thread(name, path, archived, text, parse_front_matter(text))


def read_thread(store: Store, commit: str, name: ThreadName) -> Thread | None:
    """The thread at ``commit``: the active file, else the archived one, else None."""
    return _read(store, commit, name, False) or _read(store, commit, name, True)


def owner_at_head(store: Store, name: ThreadName) -> ArchitectName | None:
    """The architect thread ``name`` names as its owner at HEAD, if it is there and says."""
    commit = head_commit(store)
    thread = read_thread(store, commit, name) if commit else None
    return thread.architect if thread is not None else None


def _names_in(store: Store, commit: str, directory: str) -> list[ThreadName]:
    names = []
    for entry in store.list_dir(commit, directory):
        stem = entry[: -len(SUFFIX)] if entry.endswith(SUFFIX) else ""
        if THREAD_RE.fullmatch(stem):
            names.append(ThreadName(stem))
    return sorted(names)


def list_threads(store: Store, commit: str | None, *, archived: bool = False) -> list[Thread]:
    """Active threads at ``commit`` (with ``archived``, archived ones after them)."""
    if commit is None:
        return []
    places = [False, True] if archived else [False]
    found: list[Thread] = []
    for in_archive in places:
        directory = ARCHIVE_DIR if in_archive else THREAD_DIR
        for name in _names_in(store, commit, directory):
            thread = _read(store, commit, name, in_archive)
            if thread is None:  # a directory named like a thread file is not one
                continue
            if thread.truncated:
                warn_truncated(thread)
                continue
            found.append(thread)
    return found


def warn_truncated(thread: Thread, doing: str = "skipping") -> None:
    report.warn(
        f"{doing} {thread.path}: its front matter starts with '---' "
        "but never ends (truncated?); fix the file"
    )


def active_names(threads: Iterable[Thread]) -> str:
    """The active threads' names for a hint: "a, b, c" (at most ten), "" when none."""
    names = [t.name for t in threads if not t.archived]
    more = ", ..." if len(names) > 10 else ""
    return ", ".join(names[:10]) + more


def unknown_thread(store: Store, name: str, where: str) -> UsageError:
    """The error for a thread that is not at ``where``, with the active ones as the hint."""
    listed = active_names(list_threads(store, head_commit(store)))
    hint = (
        f"active threads at HEAD: {listed}" if listed else "create one with 'git codev thread new'"
    )
    return UsageError(f"no thread {shown(name)} at {where}", hint)


def find_thread(store: Store, commit: str, name: ThreadName, where: str) -> Thread:
    thread = read_thread(store, commit, name)
    if thread is None:
        raise unknown_thread(store, name, where)
    if thread.truncated:
        warn_truncated(thread, "showing it as it is, but")
    return thread


# -- live data -----------------------------------------------------------------------------------
def is_live(row: BuilderRow) -> bool:
    """A builder whose branch still exists and is not merged into the base branch."""
    return row.state.exists and not row.state.merged


def builder_rows(
    store: Store, threads: Collection[str] | None = None
) -> dict[str, list[BuilderRow]]:
    """The owned builders of ``threads`` (None: of every thread), grouped by thread: only
    theirs are computed, so a thread command's cost follows its own builders."""
    owned = [
        o
        for o in OwnerBook(store).all()
        if o.current.thread and (threads is None or o.current.thread in threads)
    ]
    grouped: dict[str, list[BuilderRow]] = {}
    for row in rows(store, owned):
        if row.record.thread:
            grouped.setdefault(row.record.thread, []).append(row)
    return grouped


def change_json(info: CommitInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    subject = info.raw_message.split(b"\n", 1)[0].decode("utf-8", "replace")
    return {
        "commit": info.id,
        "time": iso(info.time),
        "subject": subject,
        "author": info.author_name,
    }


def summary_json(
    thread: Thread, builders: list[BuilderRow], last: CommitInfo | None
) -> dict[str, Any]:
    return {
        **thread.facts(),
        "builderCount": len(builders),
        "liveBuilderCount": sum(1 for r in builders if is_live(r)),
        "lastChange": change_json(last),
    }


def summaries(store: Store, commit: str | None, *, archived: bool) -> list[dict[str, Any]]:
    """One summary per thread at ``commit``, for ``thread list``."""
    threads = list_threads(store, commit, archived=archived)
    if commit is None or not threads:
        return []
    grouped = builder_rows(store, {t.name for t in threads})
    return [
        summary_json(t, grouped.get(t.name, []), store.last_commit_touching(commit, t.path))
        for t in threads
    ]


@dataclass(frozen=True)
class Live:
    """What the repository says about a thread right now (not versioned with the file)."""

    owner: ArchitectName | None
    base: str | None
    builders: list[BuilderRow]
    owner_unread: int
    owner_unread_in_thread: int

    def as_json(self, *, brief: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"architect": self.owner, "baseBranch": self.base}
        if not brief:
            data["builders"] = [row.as_json() for row in self.builders]
        return data | {
            "builderCount": len(self.builders),
            "liveBuilderCount": sum(1 for r in self.builders if is_live(r)),
            "unread": {
                "architect": self.owner_unread,
                "architectInThread": self.owner_unread_in_thread,
                "builders": sum(r.unread for r in self.builders),
            },
        }


def live(store: Store, thread: Thread) -> Live:
    base = base_branch(store)
    builders = builder_rows(store, {thread.name}).get(thread.name, [])
    owner = thread.architect
    unread: list[str | None] = []
    if owner is not None:
        channel, cursor = channels_of(architect_identity(owner))[0]
        unread = [m.thread for m in read_channel(store, channel, store.ref_target(cursor))]
    return Live(
        owner=owner,
        base=short_branch(base[0]) if base else None,
        builders=builders,
        owner_unread=len(unread),
        owner_unread_in_thread=sum(1 for t in unread if t == thread.name),
    )


def show_json(
    thread: Thread,
    ref: str,
    commit: str,
    last: CommitInfo | None,
    now: Live,
    *,
    brief: bool = False,
) -> dict[str, Any]:
    """``thread show --json``; ``brief``: the facts and counts, without the file's text, its
    front matter or the builder rows (what an agent needs in its context window)."""
    data = {**thread.facts(), "ref": ref, "commit": commit}
    if not brief:
        data |= {"frontMatter": thread.front, "text": thread.text}
    return data | {"lastChange": change_json(last), "live": now.as_json(brief=brief)}
