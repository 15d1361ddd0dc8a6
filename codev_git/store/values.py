"""Values and small helpers shared by the storage façade's modules."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    import pygit2

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
CAS_ATTEMPTS = 200
CAS_MAX_SLEEP = 0.05
STALE_LOCK_SECONDS = 10.0
# more loose refs than this under the prefixes sync writes, and it packs them
LOOSE_REFS_LIMIT = 256


@dataclass(frozen=True)
class Ident:
    """A git identity as written in an ``author``/``committer`` line."""

    name: str
    email: str

    def line(self, when: float) -> bytes:
        name = clean_ident(self.name) or "unknown"
        email = clean_ident(self.email)
        return f"{name} <{email}> {int(when)} +0000".encode()


def clean_ident(text: str) -> str:
    return "".join(ch for ch in text if ch not in "<>\n\r\0").strip()


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parents: tuple[str, ...]
    raw_message: bytes
    author_name: str
    author_email: str
    time: int


class CommitBody(Protocol):
    """What deciding whether a commit is a message reads: a :class:`CommitInfo` or a
    :class:`RawCommit`."""

    @property
    def parents(self) -> tuple[str, ...]: ...

    @property
    def raw_message(self) -> bytes: ...


class RawCommit(NamedTuple):
    """A commit as a long walk reads it (:meth:`Store.walk_raw`): its parents and message,
    without the author or time, and its id formatted only when asked for."""

    oid: pygit2.Oid
    parents: tuple[str, ...]
    raw_message: bytes

    @property
    def id(self) -> str:
        return str(self.oid)


class CasConflict(Exception):
    """The reference moved between our read and our write."""


def is_permission(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "permission denied" in text or "read-only file system" in text


def write_hint(exc: BaseException) -> str:
    if is_permission(exc):
        return "the repository is not writable by you; check the permissions of its .git directory"
    return "check the repository with 'git fsck'"


def stale_lock_age(lock: Path) -> float | None:
    """How long ``lock`` has been there, when that is longer than any writer holds a ref
    lock (:data:`STALE_LOCK_SECONDS`): left by a killed one. None when fresh or gone."""
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return None
    return age if age > STALE_LOCK_SECONDS else None


def is_git_false(value: str) -> bool:
    """Whether git reads the config ``value`` as false."""
    return value.strip().lower() in ("false", "no", "off", "0", "")


def is_hex(text: str, length: int) -> bool:
    return len(text) == length and not text.strip("0123456789abcdef")


def info(obj: pygit2.Commit) -> CommitInfo:
    author = obj.author
    return CommitInfo(
        id=str(obj.id),
        parents=tuple(str(p) for p in obj.parent_ids),
        raw_message=bytes(obj.raw_message),
        author_name=str(author.name),
        author_email=str(author.email),
        time=int(obj.commit_time),
    )


def read_symref(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text[5:].strip() if text.startswith("ref: ") else None


def uses_reftable(path: str) -> bool:
    for candidate in (Path(path) / "config", Path(path) / ".git" / "config"):
        try:
            text = candidate.read_text().lower()
        except OSError:
            continue
        if "refstorage" in text and "reftable" in text:
            return True
    return False


def parse_git_int(value: str) -> int:
    text = value.strip().lower()
    scale = {"k": 1024, "m": 1024**2, "g": 1024**3}
    if text and text[-1] in scale:
        return int(text[:-1]) * scale[text[-1]]
    return int(text)
