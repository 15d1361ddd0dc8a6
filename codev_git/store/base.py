"""Opening a repository, where its parts are, and its configuration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

import pygit2

from codev_git.errors import OperationalError, UsageError
from codev_git.store._common import Ident, parse_git_int, read_symref, uses_reftable


class StoreBase:
    """A repository opened through pygit2."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._empty_tree_written = False
        self._remotes: list[str] | None = None

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def discover(cls, start: str | os.PathLike[str] | None = None) -> Self:
        here = os.fspath(start) if start is not None else os.getcwd()
        try:
            path = pygit2.discover_repository(here)
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(f"cannot read the repository at {here}: {exc}") from exc
        if path is None:
            raise UsageError(
                f"not inside a git repository ({here})", "cd into one, or run 'git init' first"
            )
        return cls.open(path)

    @classmethod
    def open(cls, path: str) -> Self:
        try:
            repo = pygit2.Repository(path)
        except (pygit2.GitError, OSError) as exc:
            text = str(exc)
            if "reftable" in text or "refstorage" in text.lower() or uses_reftable(path):
                raise OperationalError(
                    f"the repository at {path} stores refs as reftable, which libgit2 cannot read",
                    "use a repository with the files ref backend",
                ) from exc
            raise OperationalError(f"cannot open the repository at {path}: {text}") from exc
        return cls(repo)

    # -- places ------------------------------------------------------------------------------
    @property
    def git_dir(self) -> Path:
        return Path(self.repo.path)

    @property
    def common_dir(self) -> Path:
        commondir = self.git_dir / "commondir"
        if commondir.is_file():
            target = commondir.read_text().strip()
            return (self.git_dir / target).resolve()
        return self.git_dir.resolve()

    @property
    def workdir(self) -> Path | None:
        wd = self.repo.workdir
        return Path(wd) if wd else None

    @property
    def is_bare(self) -> bool:
        return bool(self.repo.is_bare)

    @property
    def main_workdir(self) -> Path | None:
        """The main worktree's root, wherever in the repository we were started."""
        common = self.common_dir
        if self.is_bare and not (self.git_dir / "commondir").is_file():
            return None
        if common.name == ".git":
            return common.parent
        wd = self.workdir
        return wd

    def head_branch(self) -> str | None:
        """The full refname checked out in this worktree, or None (detached/unborn/bare)."""
        try:
            if self.repo.head_is_detached:
                return None
            ref = self.repo.lookup_reference("HEAD")
            target = ref.target
        except (pygit2.GitError, KeyError):
            return None
        return target if isinstance(target, str) else None

    def worktree_heads(self) -> dict[str, Path]:
        """Map each checked-out branch refname to the worktree holding it (read from files)."""
        heads: dict[str, Path] = {}
        common = self.common_dir
        main = self.main_workdir
        if main is not None:
            branch = read_symref(common / "HEAD")
            if branch:
                heads[branch] = main
        wt_root = common / "worktrees"
        try:
            entries = list(os.scandir(wt_root))
        except OSError:
            return heads
        for entry in entries:
            admin = Path(entry.path)
            branch = read_symref(admin / "HEAD")
            try:
                gitfile = (admin / "gitdir").read_text().strip()
            except OSError:
                continue
            worktree = Path(gitfile).parent
            if branch and worktree.is_dir():  # a deleted worktree directory holds nothing
                heads[branch] = worktree
        return heads

    # -- config ------------------------------------------------------------------------------
    def config_get(self, key: str) -> str | None:
        try:
            cfg = self.repo.config
            if key in cfg:
                value = cfg[key]
                return value if isinstance(value, str) else None
        except (pygit2.GitError, OSError, ValueError):
            return None
        return None

    def config_bool(self, key: str, default: bool = False) -> bool:
        value = self.config_get(key)
        if value is None:
            return default
        return value.strip().lower() in {"true", "yes", "on", "1"}

    def config_int(self, key: str, default: int) -> int:
        value = self.config_get(key)
        if value is None:
            return default
        try:
            return parse_git_int(value)
        except ValueError as exc:
            raise UsageError(
                f"config {key}={value!r} is not a number", f"fix it with 'git config {key} N'"
            ) from exc

    def remote_names(self) -> list[str]:
        """The configured remotes, ``origin`` first."""
        if self._remotes is None:
            try:
                names = [str(n) for n in self.repo.remotes.names()]
            except (pygit2.GitError, OSError):
                names = []
            self._remotes = sorted(names, key=lambda n: (n != "origin", n))
        return self._remotes

    def config_set(self, key: str, value: str) -> None:
        self.repo.config[key] = value

    def identity(self) -> Ident | None:
        name = self.config_get("user.name") or os.environ.get("GIT_AUTHOR_NAME")
        email = self.config_get("user.email") or os.environ.get("GIT_AUTHOR_EMAIL")
        if not name:
            return None
        return Ident(name, email or "")
