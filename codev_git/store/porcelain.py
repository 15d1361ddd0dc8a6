"""The one adapter for git porcelain that must behave exactly like git.

Only three things go through here, because only git's own CLI does them right: creating a
worktree (so hooks fire), ``git mv`` and committing chosen paths (so the index and the user's
hooks are respected), and fetch/push with the user's credentials. Everything else is pygit2.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from codev_git.errors import OperationalError

GIT_ENV_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
)


def clean_env() -> dict[str, str]:
    """The environment minus variables that would point git at another repository, for
    ``subprocess`` calls (which, unlike GitPython, use the mapping exactly as given)."""
    return {k: v for k, v in os.environ.items() if k not in GIT_ENV_VARS}


@contextlib.contextmanager
def _scrubbed_environ() -> Iterator[None]:
    """Remove variables that would point git at another repository (a hook runs with
    GIT_DIR set) for the duration of a call. GitPython merges any ``env`` it is given into
    a copy of ``os.environ``, so removing them there is the only way to drop them."""
    saved = {name: os.environ.pop(name) for name in GIT_ENV_VARS if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _execute(
    cwd: Path,
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    istream: BinaryIO | None = None,
) -> tuple[int, str, str]:
    """Run ``git args`` in ``cwd`` through GitPython: (exit code, stdout, stderr)."""
    import git  # GitPython: imported only where porcelain is needed

    try:
        with _scrubbed_environ():
            result = git.Git(str(cwd)).execute(
                ["git", *args],
                env=env,
                istream=istream,
                with_extended_output=True,
                with_exceptions=False,
                stdout_as_string=True,
            )
    except OSError as exc:
        raise OperationalError(f"git {args[0]} failed: cannot run git ({exc})") from exc
    code, out, err = result
    return int(code), str(out), str(err)


def run_git(cwd: Path, *args: str, what: str) -> str:
    """Run ``git args`` in ``cwd``; a failure becomes one line naming ``what``."""
    outcome = try_git(cwd, *args)
    if outcome.code != 0:
        raise OperationalError(f"{what} failed: {outcome.first_error}")
    return outcome.out


def worktree_add(repo_root: Path, path: Path, branch: str) -> None:
    run_git(repo_root, "worktree", "add", "--quiet", str(path), branch, what="git worktree add")


def commit_tree_signed(
    cwd: Path, tree: str, parents: list[str], message: bytes, name: str, email: str
) -> str:
    """A commit signed with git's own signing configuration (gpg, ssh or x509)."""
    args = ["commit-tree", "-S", tree]
    for parent in parents:
        args += ["-p", parent]
    ident = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    with tempfile.TemporaryFile() as stdin:
        stdin.write(message)
        stdin.seek(0)
        code, out, err = _execute(cwd, args, env=ident, istream=cast(BinaryIO, stdin))
    if code != 0:
        raise OperationalError(
            f"signing the message failed: {GitOutcome(code, out, err).first_error}",
            "check user.signingkey and gpg.format, or unset codev.signMessages",
        )
    return out.strip()


def verify_commit(cwd: Path, commit: str) -> bool:
    """True when git's own verification accepts the commit's signature."""
    return _execute(cwd, ["verify-commit", commit])[0] == 0


@dataclass(frozen=True)
class GitOutcome:
    """What a git command said, for callers that must read the details of a failure."""

    code: int
    out: str
    err: str

    @property
    def first_error(self) -> str:
        """The first ``fatal:``/``error:`` line (with its continuation), else the last line."""
        lines = [ln.strip() for ln in self.err.splitlines() if ln.strip()]
        for number, line in enumerate(lines):
            if line.startswith(("fatal:", "error:")):
                text = line.split(":", 1)[1].strip()
                if text.endswith(":") and number + 1 < len(lines):
                    text += " " + lines[number + 1]
                return text.rstrip(".")
        return lines[-1] if lines else f"exit {self.code}"


def try_git(cwd: Path, *args: str) -> GitOutcome:
    """Run ``git args`` in ``cwd`` and return its exit code and output instead of raising
    (fetch and push report per-ref results that the caller classifies)."""
    return GitOutcome(*_execute(cwd, list(args)))
