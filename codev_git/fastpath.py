"""The two commands agents run most, in their plainest form, without click or pygit2.

Importing click and pygit2 costs more than everything else ``send`` does. This module handles
exactly two cases with git's own CLI and a few file reads:

    git codev send architect MESSAGE      from a builder's worktree
    git codev inbox                       when nothing is unread

Anything else, or anything unusual met on the way (a flag, signing, autoPush, a configured
size limit, a record that is missing, released or unreadable, a ref that is not a plain
commit, an environment that points git elsewhere), raises :class:`NotHere` before anything is
written, and the full command runs instead: its behaviour and its messages are the only ones.
Writing is the full path's too: a loose object written the way git writes one, then the ref
moved by ``git update-ref NEW OLD`` (git's own compare-and-swap), with the same bounded,
jittered retry as :meth:`Store.cas_update`.
"""

from __future__ import annotations

import os
import subprocess
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from codev_git import clock, config
from codev_git.address import architect_address
from codev_git.errors import UsageError
from codev_git.layout import OWNERS_REF, inbox_ref
from codev_git.messaging.message import channels_of, encode
from codev_git.names import BUILDER_BRANCH_PREFIX, BranchRef
from codev_git.ownership.identity import Identity, architect_from_settings
from codev_git.ownership.records import Ownership, anchor_id, parse_note
from codev_git.store.porcelain import GIT_ENV_VARS
from codev_git.store.values import CAS_ATTEMPTS, CAS_MAX_SLEEP, EMPTY_TREE, Ident

# set, any of these changes what git or libgit2 would read: the full path decides then
OTHER_GIT_ENV = (
    *GIT_ENV_VARS,
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_NAMESPACE",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_REPLACE_REF_BASE",
)
# config that changes how a message is written or sent: the full path handles it
FULL_PATH_CONFIG = (
    config.SIGN_MESSAGES.name.lower(),
    "commit.gpgsign",
    config.AUTO_PUSH.name.lower(),
    config.MAX_MESSAGE_BYTES.name.lower(),
    "core.sharedrepository",
    "extensions.objectformat",
    "extensions.refstorage",
)
FALSE = {"false", "no", "off", "0", ""}


class NotHere(Exception):
    """Not the plain case: the full command runs instead (nothing was written)."""


def attempt(argv: list[str]) -> int | None:
    """The exit code when the fast path handled ``argv``, else None (run the full command).

    Everything up to the moment a message is stored may give up; what follows (printing,
    the packing check) may not, so its errors reach the caller like the full command's."""
    if os.environ.get("CODEV_NO_FAST_PATH") or any(os.environ.get(v) for v in OTHER_GIT_ENV):
        return None
    try:
        if argv[:1] == ["send"] and len(argv) == 3 and argv[1] == "architect":
            done = _send(argv[2])
        elif argv == ["inbox"]:
            done = _inbox()
        else:
            return None
    except (NotHere, UsageError, OSError, ValueError, UnicodeError, subprocess.SubprocessError):
        return None
    return done.finish()


@dataclass(frozen=True)
class Done:
    """What is left once the work is done: say so, and maybe check whether to pack."""

    line: str
    repo: Repo | None = None
    new_id: str | None = None

    def finish(self) -> int:
        print(self.line)
        from codev_git.store.autopack import PROBE

        if self.repo is not None and self.new_id and self.new_id.startswith(PROBE):
            from codev_git.store import Store  # 1 append in 256 checks whether to pack
            from codev_git.store.autopack import after_append

            after_append(Store.discover(self.repo.worktree), self.new_id)
        return 0


# -- the repository, read with files and git's CLI ---------------------------------------------
@dataclass
class Repo:
    worktree: Path
    git_dir: Path
    common: Path

    @classmethod
    def here(cls) -> Repo:
        cwd = Path.cwd()
        if ".git" in cwd.parts:
            raise NotHere("inside a git directory")
        for top in (cwd, *cwd.parents):
            dot = top / ".git"
            if dot.is_dir():
                git_dir = dot
                break
            if dot.is_file():
                text = dot.read_text()
                if not text.startswith("gitdir: "):
                    raise NotHere("unreadable .git file")
                git_dir = top / text[len("gitdir: ") :].strip()
                break
        else:
            raise NotHere("not in a worktree")
        common = git_dir
        pointer = git_dir / "commondir"
        if pointer.is_file():
            common = git_dir / pointer.read_text().strip()
        return cls(top, git_dir, common)

    def head_branch(self) -> str | None:
        text = (self.git_dir / "HEAD").read_text().strip()
        return text[len("ref: ") :] if text.startswith("ref: refs/heads/") else None

    def ref(self, name: str) -> str | None:
        """A shared ref's target (loose file, else packed-refs), or None when there is none."""
        try:
            text = (self.common / name).read_text().strip()
        except FileNotFoundError:
            return self._packed(name)
        except (IsADirectoryError, NotADirectoryError):
            return None
        if not _is_oid(text):
            raise NotHere(f"{name} is not a plain ref")
        return text

    def _packed(self, name: str) -> str | None:
        try:
            with open(self.common / "packed-refs", encoding="utf-8") as handle:
                for line in handle:
                    if line.endswith(f" {name}\n") and _is_oid(line[:40]):
                        return line[:40]
        except FileNotFoundError:
            return None
        return None

    def git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args], cwd=self.worktree, capture_output=True, check=False, stdin=-3
        )

    def config(self) -> dict[str, str]:
        done = self.git("config", "-z", "--list")
        if done.returncode != 0:
            raise NotHere("git config failed")
        out: dict[str, str] = {}
        for entry in done.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if entry:
                key, _, value = entry.partition("\n")
                out[key.lower()] = value if "\n" in entry else "true"
        return out

    def write_object(self, kind: str, data: bytes) -> str:
        """Write a loose object exactly as git does (zlib, then an atomic rename)."""
        import hashlib

        raw = f"{kind} {len(data)}\0".encode() + data
        oid = hashlib.sha1(raw).hexdigest()
        folder = self.common / "objects" / oid[:2]
        path = folder / oid[2:]
        if path.exists():
            return oid
        folder.mkdir(exist_ok=True)
        tmp = folder / f"tmp_obj_{os.getpid()}_{time.monotonic_ns()}"
        try:
            with open(tmp, "xb") as handle:
                handle.write(zlib.compress(raw))
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return oid


class Objects:
    """One ``git cat-file --batch`` for every object read."""

    def __init__(self, repo: Repo) -> None:
        self.proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo.worktree,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def read(self, what: str) -> tuple[str, bytes] | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what.encode() + b"\n")
        self.proc.stdin.flush()
        head = self.proc.stdout.readline().decode().split()
        if len(head) != 3:
            return None  # "<what> missing" (or ambiguous)
        data = self.proc.stdout.read(int(head[2]) + 1)[:-1]
        return head[1], data

    def kind(self, oid: str) -> str | None:
        found = self.read(oid)
        return found[0] if found else None

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait()


def _is_oid(text: str) -> bool:
    return len(text) == 40 and not text.strip("0123456789abcdef")


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
def _send(message: str) -> Done:
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
        settings = repo.config()
        if any(settings.get(key, "").strip().lower() not in FALSE for key in FULL_PATH_CONFIG):
            raise NotHere("configured for the full path")
        ref = inbox_ref(sender.architect)
        to = architect_address(sender.architect)
        trailers = {"Codev-From": sender.address, "Codev-To": to}
        if sender.record.thread:
            trailers["Codev-Thread"] = sender.record.thread
        trailers["Codev-Time"] = clock.now_iso()
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
        moved = repo.git("update-ref", "-m", f"codev: message from {sender}", ref, new, old or "")
        if moved.returncode == 0:
            return new
        if not any(word in moved.stderr for word in (b"lock", b"expected", b"exists")):
            raise NotHere("git update-ref failed: the full path reports it")
        time.sleep(random.uniform(0, min(CAS_MAX_SLEEP, 0.001 * (2 ** min(attempt, 8)))))
    raise NotHere("the inbox kept moving")


# -- inbox, nothing unread -----------------------------------------------------------------------
def _inbox() -> Done:
    repo = Repo.here()
    objects = Objects(repo)
    try:
        branch = repo.head_branch()
        reader = _builder(repo, objects, branch)
        if reader is None:
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
    return Done(f"no unread messages for {reader.address}")
