"""Test helpers: run `git codev` in-process or as a real subprocess, and run git."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from codev_git.cli import main


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def run_inprocess(
    cwd: Path, args: list[str], env: dict[str, str | None] | None = None, stdin: bytes = b""
) -> Result:
    """Run `git codev ARGS` in this process, as if from ``cwd`` with ``env`` added."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved = sys.stdin, sys.stdout, sys.stderr
    out, err = io.BytesIO(), io.BytesIO()
    fake_out = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape")
    fake_err = io.TextIOWrapper(err, encoding="utf-8", errors="surrogateescape")
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout, sys.stderr = fake_out, fake_err
    code = 1
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        os.chdir(cwd)
        code = main(args)
    finally:
        fake_out.flush()
        fake_err.flush()
        fake_out.detach()
        fake_err.detach()
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.stdin, sys.stdout, sys.stderr = saved
    return Result(code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode())


def run_subprocess(
    cwd: Path, args: list[str], env: dict[str, str] | None = None, stdin: bytes = b""
) -> Result:
    """Run the installed entry point exactly as a user does: `git codev ARGS`."""
    assert shutil.which("git-codev"), "git-codev must be on PATH (make test puts .venv/bin there)"
    proc = subprocess.run(
        ["git", "codev", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        check=False,
    )
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode())


def without_ownership(bodies: list[str]) -> list[str]:
    """Message bodies minus the ownership announcements spawn/reassign/release send."""
    return [b for b in bodies if not b.startswith("ownership: ")]


class Sandbox:
    """A repository under test, with shortcuts for running commands as someone."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def builder_dir(self, name: str) -> Path:
        return self.root / ".builders" / name

    def run(
        self,
        *args: str,
        as_: str | None = None,
        cwd: Path | None = None,
        stdin: bytes = b"",
        env: dict[str, str | None] | None = None,
    ) -> Result:
        full_env: dict[str, str | None] = {"CODEV_ARCHITECT_NAME": as_}
        full_env.update(env or {})
        return run_inprocess(cwd or self.root, list(args), full_env, stdin)

    def ok(self, *args: str, **kwargs: object) -> Result:
        result = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert result.code == 0, f"git codev {' '.join(args)} -> {result.code}: {result.err}"
        return result

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return git(cwd or self.root, *args)

    def anchor(self, branch: str) -> str:
        """The object an ownership note annotates: the blob of the branch's full refname."""
        proc = subprocess.run(
            ["git", "hash-object", "--stdin"],
            input=branch.encode(),
            capture_output=True,
            check=True,
            cwd=self.root,
        )
        return proc.stdout.decode().strip()

    def forge_line_for_another_branch(self, branch: str, other: str) -> str:
        """As another clone's data could: append to ``branch``'s ownership note a valid
        record line that names builder branch ``other`` (``builder/<dir>``). Returns the
        note's anchor."""
        import json

        from codev_git.ownership.order import line_id

        anchor = self.anchor(f"refs/heads/{branch}")
        own = self.git("notes", "--ref", "codev/owners", "show", anchor).strip()
        line = json.loads(own) | {
            "event": "reassign",
            "branch": f"refs/heads/{other}",
            "builder": "builder-" + other.removeprefix("builder/"),
            "prev": line_id(own),
        }
        text = own + "\n" + json.dumps(line, separators=(",", ":")) + "\n"
        subprocess.run(
            ["git", "notes", "--ref", "codev/owners", "add", "-f", "-F", "-", anchor],
            input=text.encode(),
            capture_output=True,
            check=True,
            cwd=self.root,
        )
        return anchor

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines())

    def snapshot(self) -> tuple[dict[str, str], str]:
        """Every ref and the worktree status: compare before/after to prove nothing changed."""
        return self.refs(), self.git("status", "--porcelain", "--ignored")


def new_sandbox(root: Path, readme: str = "hello\n") -> Sandbox:
    """A fresh repository at ``root`` with one commit on main, set up by `git codev init`."""
    git(root.parent, "init", "-q", "-b", "main", str(root))
    (root / "README").write_text(readme)
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "initial")
    box = Sandbox(root)
    box.ok("init")
    return box


def sign_with_ssh(box: Sandbox, keys: Path, *, require: bool = False) -> None:
    """Turn on codev.signMessages with a fresh ssh key under ``keys`` that git trusts (and
    codev.requireSigned with ``require``)."""
    key = keys / "key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t", "-f", str(key)], check=True
    )
    allowed = keys / "allowed"
    allowed.write_text("test@example.invalid " + key.with_suffix(".pub").read_text())
    settings = {
        "gpg.format": "ssh",
        "user.signingkey": str(key.with_suffix(".pub")),
        "gpg.ssh.allowedSignersFile": str(allowed),
        "codev.signMessages": "true",
    }
    if require:
        settings["codev.requireSigned"] = "true"
    for name, value in settings.items():
        box.git("config", name, value)
