"""The repository read with plain files and git's own CLI, without pygit2: what the fast
paths (:mod:`codev_git.fastpath`: ``send``/``inbox``, and a ``sync`` with nothing to do) need,
and nothing more. Each git process gets its own environment (:func:`porcelain.clean_env`)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from codev_git.store.porcelain import clean_env
from codev_git.store.values import is_git_false, is_hex, parse_git_int


class NotHere(Exception):
    """Not the plain case: the full command runs instead (nothing was written)."""


@dataclass
class Repo:
    worktree: Path
    git_dir: Path
    common: Path

    @classmethod
    def here(cls, start: Path | None = None) -> Repo:
        """The repository around ``start`` (default: the current directory)."""
        cwd = (start or Path.cwd()).absolute()
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
            if all((top / part).exists() for part in ("HEAD", "objects", "refs")):
                raise NotHere("a bare repository")  # git stops here too: it is one
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
            return self._packed_refs().get(name)
        except (IsADirectoryError, NotADirectoryError):
            return None
        if not is_oid(text):
            raise NotHere(f"{name} is not a plain ref")
        return text

    def refs_under(self, prefixes: tuple[str, ...]) -> tuple[dict[str, str], int]:
        """Every ref under ``prefixes`` ({name: target}, loose files over packed-refs), and
        how many of them are loose files. The loose files are read first and packed-refs
        after them, as git reads: ``git pack-refs`` writes packed-refs before it removes the
        loose files, so a ref it packs meanwhile is found in one or the other."""
        loose: dict[str, str] = {}
        for prefix in prefixes:
            for folder, _dirs, files in os.walk(self.common / prefix.rstrip("/")):
                for file in files:
                    if file.endswith(".lock"):
                        continue
                    name = Path(folder, file).relative_to(self.common).as_posix()
                    target = self.ref(name)
                    if target is None:
                        raise NotHere(f"{name} vanished while read")
                    loose[name] = target
        found = {
            name: oid for name, oid in self._packed_refs().items() if name.startswith(prefixes)
        }
        found.update(loose)
        return found, len(loose)

    def other_tips(self, skip: tuple[str, ...]) -> set[str]:
        """What every other ref (loose or packed, outside the ``skip`` prefixes) and each
        worktree's detached HEAD points at: a ``git fetch`` reads them all. Symbolic refs
        and files that hold no object id are left out, as git leaves them out."""
        paths = [self.common / "HEAD", *(self.common / "worktrees").glob("*/HEAD")]
        for folder, dirs, files in os.walk(self.common / "refs"):
            here = Path(folder).relative_to(self.common).as_posix()
            dirs[:] = [d for d in dirs if f"{here}/{d}/" not in skip]
            paths.extend(Path(folder, f) for f in files if not f.endswith(".lock"))
        tips: set[str] = set()
        for path in paths:
            try:
                text = path.read_text().strip()
            except (OSError, UnicodeDecodeError):
                continue
            if is_oid(text):
                tips.add(text)
        packed = self._packed_refs().items()
        return tips | {oid for name, oid in packed if not name.startswith(skip)}

    def _packed_refs(self) -> dict[str, str]:
        refs: dict[str, str] = {}
        try:
            with open(self.common / "packed-refs", encoding="utf-8") as handle:
                for line in handle:
                    if not line.startswith(("#", "^")):
                        oid, _, name = line.rstrip("\n").partition(" ")
                        refs[name] = oid
        except FileNotFoundError:
            pass
        if not all(len(oid) == 40 and name for name, oid in refs.items()):
            raise NotHere("an unusual packed-refs line")
        bytes.fromhex("".join(refs.values()))  # ValueError unless every id is hex
        return refs

    def has_hook(self, name: str, settings: Mapping[str, str]) -> bool:
        """Whether git would run the hook ``name`` here (from ``core.hooksPath``, relative
        to the worktree, else the hooks folder of the repository)."""
        configured = settings.get("core.hookspath")
        folder = self.common / "hooks"
        if configured is not None:
            folder = self.worktree / os.path.expanduser(configured)  # an absolute one wins
        return os.access(folder / name, os.X_OK)

    def housekeeping_due(self, settings: Mapping[str, str]) -> bool:
        """Whether git's automatic housekeeping (``git maintenance run --auto``, which every
        ``git fetch`` ends with) would pack this repository now, decided as git decides:
        more packs than ``gc.autoPackLimit``, or more loose objects in ``objects/17`` than
        ``gc.auto`` / 256. Other maintenance tasks enabled: True (let git decide)."""
        if is_git_false(settings.get("maintenance.auto", "true")):
            return False
        if any(k.startswith("maintenance.") and k.endswith(".enabled") for k in settings):
            return True
        auto = parse_git_int(settings.get("gc.auto", "6700"))
        if auto <= 0:
            return False
        objects = self.common / "objects"
        pack_limit = parse_git_int(settings.get("gc.autopacklimit", "50"))
        if pack_limit > 0:
            packs = [
                p for p in (objects / "pack").glob("*.pack") if not p.with_suffix(".keep").exists()
            ]
            if len(packs) > pack_limit:
                return True
        try:
            names = os.listdir(objects / "17")
        except FileNotFoundError:
            return False
        loose = sum(1 for name in names if is_hex(name, 38))
        return loose > (auto + 255) // 256

    def object_kinds(self, oids: Iterable[str]) -> Callable[[], list[str]]:
        """Start asking git the type of each of ``oids`` (``commit``, ``blob``, ...,
        ``missing``); the function returned waits for the answers, in order."""
        data = "".join(f"{oid}\n" for oid in oids).encode()
        wait = self.start_git("cat-file", "--batch-check=%(objecttype)", "--buffer", stdin=data)

        def finish() -> list[str]:
            code, out = wait()
            if code != 0:
                raise NotHere("git cat-file failed")
            # a missing object is answered "<oid> missing"
            return [line.split()[-1] for line in out.decode().splitlines()]

        return finish

    def start_git(
        self, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
    ) -> Callable[[], tuple[int, bytes]]:
        """Start ``git args`` (fed ``stdin``); the function returned waits for it and gives
        its exit code and output."""
        proc = subprocess.Popen(
            ["git", *args],
            cwd=self.worktree,
            env=env or clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        output: list[bytes] = []
        feeder = threading.Thread(target=lambda: output.append(proc.communicate(stdin)[0]))
        feeder.start()

        def wait() -> tuple[int, bytes]:
            feeder.join()
            return (proc.returncode, output[0]) if output else (-1, b"")

        return wait

    def git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args],
            cwd=self.worktree,
            env=clean_env(),
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def config(self) -> dict[str, str]:
        done = self.git("config", "-z", "--list")
        if done.returncode != 0:
            raise NotHere("git config failed")
        out: dict[str, str] = {}
        for entry in done.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if entry:
                key, _, value = entry.partition("\n")
                # git prints section and key in lower case, a subsection as it is
                out[key] = value if "\n" in entry else "true"
        return out

    def update_ref(self, ref: str, new: str, old: str | None, message: str) -> tuple[bool, bytes]:
        """git's compare-and-swap: move ``ref`` to ``new`` only if it is still ``old`` (or,
        with None, does not exist). (moved?, what git said)."""
        done = self.git("update-ref", "-m", message, ref, new, old or "")
        return done.returncode == 0, done.stderr

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
            env=clean_env(),
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


def is_oid(text: str) -> bool:
    return len(text) == 40 and not text.strip("0123456789abcdef")
