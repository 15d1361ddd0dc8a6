"""The one adapter for git porcelain that must behave exactly like git.

Only three things go through here, because only git's own CLI does them right: creating a
worktree (so hooks fire), ``git mv`` and committing chosen paths (so the index and the user's
hooks are respected), and fetch/push with the user's credentials. Everything else is pygit2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from codev_git.errors import OperationalError

_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
)


def clean_env() -> dict[str, str]:
    """The environment minus variables that would point git at another repository."""
    return {k: v for k, v in os.environ.items() if k not in _GIT_ENV}


def run_git(cwd: Path, *args: str, what: str) -> str:
    """Run ``git args`` in ``cwd`` through GitPython; a failure becomes one line."""
    import git  # GitPython: imported only where porcelain is needed

    try:
        out = git.Git(str(cwd)).execute(
            ["git", *args], env=clean_env(), with_extended_output=False, stdout_as_string=True
        )
    except git.GitCommandError as exc:
        detail = str(exc.stderr or exc.stdout or "").strip().splitlines()
        last = detail[-1].strip() if detail else f"exit {exc.status}"
        last = last.removeprefix("stderr: ").strip("'").strip()
        raise OperationalError(f"{what} failed: {last}") from exc
    except OSError as exc:
        raise OperationalError(f"{what} failed: cannot run git ({exc})") from exc
    return str(out)


def worktree_add(repo_root: Path, path: Path, branch: str) -> None:
    run_git(repo_root, "worktree", "add", "--quiet", str(path), branch, what="git worktree add")


def commit_tree_signed(
    cwd: Path, tree: str, parents: list[str], message: bytes, name: str, email: str
) -> str:
    """A commit signed with git's own signing configuration (gpg, ssh or x509)."""
    import tempfile

    import git

    args = ["git", "commit-tree", "-S", tree]
    for parent in parents:
        args += ["-p", parent]
    env = {
        **clean_env(),
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    with tempfile.TemporaryFile() as stdin:
        stdin.write(message)
        stdin.seek(0)
        try:
            out = git.Git(str(cwd)).execute(args, istream=stdin, env=env, stdout_as_string=True)
        except git.GitCommandError as exc:
            detail = str(exc.stderr or "").strip().splitlines()
            last = detail[-1].strip().removeprefix("stderr: ").strip("'") if detail else ""
            raise OperationalError(
                f"signing the message failed: {last or exc.status}",
                "check user.signingkey and gpg.format, or unset codev.signMessages",
            ) from exc
    return str(out).strip()


def verify_commit(cwd: Path, commit: str) -> bool:
    """True when git's own verification accepts the commit's signature."""
    import git

    try:
        git.Git(str(cwd)).execute(["git", "verify-commit", commit], env=clean_env())
    except git.GitCommandError:
        return False
    return True


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
    """Run ``git args`` in ``cwd`` through GitPython and return its exit code and output
    instead of raising (fetch and push report per-ref results that the caller classifies)."""
    import git  # GitPython: imported only where porcelain is needed

    try:
        code, out, err = git.Git(str(cwd)).execute(
            ["git", *args],
            env=clean_env(),
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=True,
        )
    except OSError as exc:
        raise OperationalError(f"git {args[0]} failed: cannot run git ({exc})") from exc
    return GitOutcome(int(code), str(out), str(err))
