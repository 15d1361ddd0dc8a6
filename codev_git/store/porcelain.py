"""git's own command line, for what only git does right, and every other program we run.

- plain git commands (``run_git``/``try_git``): creating a worktree so hooks fire, ``git mv``
  and committing chosen paths so the index and the user's hooks are respected, signing and
  verifying, ``rev-list`` batches that use the commit-graph; run with ``subprocess`` and an
  environment built per call: the variables that would point git at another repository (a
  hook runs with ``GIT_DIR`` set) are left out;
- fetch and push (``transfer``): through GitPython, whose ``RemoteProgress`` parses git's
  progress output, so a long ``sync`` can show progress on a terminal. GitPython merges the
  environment it is given into ``os.environ``, so instead of removing ``GIT_DIR`` and friends
  each call names this repository's own values explicitly; ``os.environ`` is never changed;
- other programs (``run_program``): Codev's ``consult``, an ``inbox --follow --exec`` command.

This module, with the rest of :mod:`codev_git.store`, is the only place that starts processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codev_git.errors import OperationalError

GIT_ENV_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_PREFIX",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment minus variables that would point git at another repository, plus
    ``extra``: what every process we start gets."""
    env = {k: v for k, v in os.environ.items() if k not in GIT_ENV_VARS}
    if extra:
        env.update(extra)
    return env


def _execute(
    cwd: Path,
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> tuple[int, str, str]:
    """Run ``git args`` in ``cwd``: (exit code, stdout, stderr)."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=clean_env(env),
            input=stdin,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise OperationalError(f"git {args[0]} failed: cannot run git ({exc})") from exc
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    return proc.returncode, out, err


class RanTooLong(Exception):
    """A program given a time limit (:func:`run_program`) ran past it and was ended."""


def run_program(
    argv: list[str] | str,
    cwd: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    stdout_to_stderr: bool = False,
    timeout: float | None = None,
) -> int:
    """Run another program (a string is run by the shell) and return its exit status; its
    output goes where ours goes (to stderr with ``stdout_to_stderr``, to keep stdout clean).
    Interrupted, we end it and wait for it before going on, so that it does not run on
    after us. (It stays in our process group: Ctrl-C at a terminal reaches it too, and it
    may still read the terminal.)

    With a ``timeout`` (seconds) it runs in a process group of its own instead, so that
    what it started goes with it: past the limit the group gets SIGTERM, then SIGKILL two
    seconds later, and :class:`RanTooLong` is raised."""
    import sys

    what = argv if isinstance(argv, str) else argv[0]
    out: int | None = None
    if stdout_to_stderr:
        # straight onto our stderr when it is a file: a pipe read to its end would wait for
        # whatever the program left running in the background with its stdout
        try:
            sys.stderr.flush()
            out = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):
            out = subprocess.PIPE
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=clean_env(env),
            stdin=subprocess.PIPE if stdin is not None else None,
            shell=isinstance(argv, str),
            stdout=out,
            process_group=0 if timeout is not None else None,
        )
    except OSError as exc:
        raise OperationalError(f"cannot run {what}: {exc.strerror or exc}") from exc
    with proc:
        try:
            printed, _ = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _end_group(proc)
            raise RanTooLong(what) from None
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): the program ends with us
            if timeout is not None:
                _end_group(proc)
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
            raise
    if stdout_to_stderr and printed:  # through sys.stderr, whatever it is (tests, pipes)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(printed.decode("utf-8", "replace"))
            sys.stderr.flush()
    return proc.returncode


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """End the process group ``proc`` leads: SIGTERM, up to two seconds for ``proc`` to
    go, then SIGKILL for whatever of the group is left; waits for ``proc``."""
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=2.0)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def capture_program(
    argv: list[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> GitOutcome:
    """Run another program and return its exit status and output (for the demo's steps)."""
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=clean_env(env), input=stdin, capture_output=True, check=False
        )
    except OSError as exc:
        raise OperationalError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    out = proc.stdout.decode("utf-8", "replace")
    return GitOutcome(proc.returncode, out, proc.stderr.decode("utf-8", "replace"))


def repository_env(git_dir: Path, common_dir: Path, workdir: Path | None) -> dict[str, str]:
    """This repository's own values for the variables that point git at a repository."""
    env = {
        "GIT_DIR": str(git_dir),
        "GIT_COMMON_DIR": str(common_dir),
        "GIT_OBJECT_DIRECTORY": str(common_dir / "objects"),
        "GIT_INDEX_FILE": str(git_dir / "index"),
        "GIT_PREFIX": "",
    }
    if workdir is not None:
        env["GIT_WORK_TREE"] = str(workdir)
    return env


Progress = Callable[[str, int, int | None], None]  # (stage, done, total)


def transfer(
    cwd: Path,
    args: list[str],
    *,
    env: Mapping[str, str],
    progress: Progress | None = None,
) -> GitOutcome:
    """Run ``git fetch``/``git push`` (``args``); ``progress`` is told how each stage
    advances. ``env`` must name the repository (:func:`repository_env`). git speaks C (its
    refusals are classified by their words).

    With a ``progress`` listener GitPython runs git and parses its progress lines; without
    one (not a terminal, ``--json``, a library call) git runs directly, which spares the
    GitPython import (~70 ms: a no-op ``sync`` is otherwise mostly that)."""
    env = {**env, "LC_ALL": "C", "LANGUAGE": "C"}
    if progress is None:
        return GitOutcome(*_execute(cwd, args, env=env))
    import git  # GitPython: imported only for remote transfers with progress to show
    from git.util import RemoteProgress

    class _Progress(RemoteProgress):
        def update(
            self, op_code: int, cur_count: Any, max_count: Any = None, message: str = ""
        ) -> None:
            if progress is not None and cur_count is not None:
                line = (self._cur_line or "").removeprefix("remote:").strip()
                stage = line.split(":", 1)[0].strip()
                total = int(float(max_count)) if max_count else None
                progress(stage, int(float(cur_count)), total)

    command = ["git", args[0], *(["--progress"] if progress is not None else []), *args[1:]]
    watcher = _Progress()
    parse = watcher.new_message_handler()
    out: list[str] = []
    err: list[str] = []

    def on_stderr(line: str) -> None:
        parse(line)
        if not watcher.re_op_relative.match(line) and not watcher.re_op_absolute.match(line):
            err.append(line.rstrip("\n"))  # everything but progress, in git's order

    try:
        proc = git.Git(str(cwd)).execute(
            command, as_process=True, env=dict(env), universal_newlines=False
        )
    except OSError as exc:
        raise OperationalError(f"git {args[0]} failed: cannot run git ({exc})") from exc
    git.cmd.handle_process_output(
        proc,
        lambda line: out.append(line if isinstance(line, str) else line.decode()),
        on_stderr,
        decode_streams=True,
    )
    code = proc.proc.wait() if proc.proc is not None else 1
    return GitOutcome(int(code), "".join(out), "\n".join(err))


def run_git(cwd: Path, *args: str, what: str) -> str:
    """Run ``git args`` in ``cwd``; a failure becomes one line naming ``what``."""
    outcome = try_git(cwd, *args)
    if outcome.code != 0:
        lock = _LOCK_RE.search(outcome.err)
        if lock is not None:
            raise OperationalError(
                f"{what} failed: {lock.group(1)} exists (another git process is running here, "
                "or one was killed)",
                f"if no git process is running, remove it: rm '{lock.group(1)}'",
            )
        raise OperationalError(f"{what} failed: {outcome.first_error}")
    return outcome.out


def check_worktree_locks(cwd: Path, what: str) -> None:
    """Before a command that commits: refuse, in one line naming the file to remove, while
    git's index or HEAD of this worktree is locked (a running git, or a killed one); and
    remove the temporary index a killed ``git commit --only`` left behind."""
    outcome = try_git(cwd, "rev-parse", "--absolute-git-dir")
    if outcome.code != 0:
        return
    git_dir = Path(outcome.out.strip())
    _clear_orphaned_index_locks(git_dir)
    for lock in (git_dir / "index.lock", git_dir / "HEAD.lock"):
        if lock.exists():
            raise OperationalError(
                f"{what}: {lock} exists (another git process is running here, or one was killed)",
                f"if no git process is running, remove it: rm '{lock}'",
            )


def _clear_orphaned_index_locks(git_dir: Path) -> None:
    """Remove the temporary index ``git commit --only`` leaves (``next-index-<pid>.lock``)
    when it is killed: git never reuses it, so it is only clutter once its process is gone."""
    for path in git_dir.glob("next-index-*.lock"):
        pid = path.name[len("next-index-") : -len(".lock")]
        if not pid.isdigit():
            continue
        if not _running(int(pid)):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (killed, never reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


_LOCK_RE = re.compile(r"Unable to create '([^'\n]+\.lock)': File exists")


def worktree_add(repo_root: Path, path: Path, branch: str) -> None:
    run_git(repo_root, "worktree", "add", "--quiet", str(path), branch, what="git worktree add")


def worktree_prune(repo_root: Path) -> None:
    """Forget worktrees whose directory is gone (so one can be added there again)."""
    try_git(repo_root, "worktree", "prune")


def worktree_discard(repo_root: Path, path: Path) -> None:
    """Remove a worktree that a killed ``git worktree add`` left half made (git locks it
    while it initialises, hence the double force)."""
    run_git(
        repo_root, "worktree", "remove", "--force", "--force", str(path), what="git worktree remove"
    )


def fetch_branch(cwd: Path, remote: str, branch_ref: str, tracking_ref: str) -> GitOutcome:
    """Fetch one branch of ``remote`` into its remote-tracking ref (quietly, no tags)."""
    return try_git(
        cwd,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        remote,
        f"+{branch_ref}:{tracking_ref}",
    )


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
    code, out, err = _execute(cwd, args, env=ident, stdin=message)
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


def listed_refs(ls_remote_output: str) -> dict[str, str]:
    """``git ls-remote`` output as {ref: oid} (peeled ``^{}`` lines left out)."""
    refs: dict[str, str] = {}
    for line in ls_remote_output.splitlines():
        oid, _, ref = line.partition("\t")
        if ref and not ref.endswith("^{}"):
            refs[ref] = oid
    return refs


def git_lines(
    git_dir: Path,
    *args: str,
    stdin: bytes | None = None,
    ok_codes: tuple[int, ...] = (0,),
    what: str,
) -> list[str]:
    """The output lines of ``git args`` run against ``git_dir`` (GIT_DIR is set for this
    call only); another exit code than ``ok_codes`` becomes one line naming ``what``."""
    code, out, err = _execute(git_dir, list(args), env={"GIT_DIR": str(git_dir)}, stdin=stdin)
    if code not in ok_codes:
        raise OperationalError(f"{what} failed: {GitOutcome(code, out, err).first_error}")
    return out.splitlines()
