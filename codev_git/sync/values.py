"""The small values of a sync, without the repository library: which refs take part
(:class:`Scope`), which remote (:func:`chosen_remote`), and what happened (:class:`SyncReport`).
Both the full sync (:mod:`codev_git.sync.exchange`) and the check that finds nothing to do
(:mod:`codev_git.sync.quick`) speak through them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codev_git.errors import UsageError
from codev_git.layout import SHARED_PREFIXES
from codev_git.names import BRANCH_PREFIX, REMOTE_RE, is_remote_name, shown


@dataclass(frozen=True)
class Scope:
    """Which shared refs take part: exact refnames, and every ref under some prefixes."""

    refs: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def wants(self, ref: str) -> bool:
        return ref in self.refs or ref.startswith(self.prefixes)

    def patterns(self) -> list[str]:
        """Remote-side fetch patterns; ``X*`` may match more than X, ``wants`` filters."""
        return sorted({p + "*" for p in self.prefixes} | {r + "*" for r in self.refs})


EVERYTHING = Scope(prefixes=SHARED_PREFIXES)


def ref_scope(*refs: str) -> Scope:
    return Scope(refs=frozenset(refs))


def chosen_remote(name: str | None, head: str | None, setting: Callable[[str], str | None]) -> str:
    """The remote a sync talks to: ``name``, else the upstream remote of ``head`` (the
    checked-out branch's full refname), else ``origin``; ``setting`` reads git config.
    A name that is malformed or names no configured remote is refused (UsageError)."""
    remote = name
    if remote is None and head is not None and head.startswith(BRANCH_PREFIX):
        configured = setting(f"branch.{head[len(BRANCH_PREFIX) :]}.remote")
        if configured and configured != "." and REMOTE_RE.fullmatch(configured):
            remote = configured
    remote = remote if remote is not None else "origin"
    if not is_remote_name(remote):
        raise UsageError(f"invalid remote name {shown(remote)}", "give a name from 'git remote'")
    if setting(f"remote.{remote}.url") is None:
        raise UsageError(
            f"no remote named {shown(remote)} in this repository",
            "add one with 'git remote add NAME URL' or name another (git remote -v)",
        )
    return remote


@dataclass
class SyncReport:
    remote: str
    dry_run: bool = False
    pushing: bool = True
    new_messages: int = 0
    merged: list[str] = field(default_factory=list)  # local refs moved to take in the remote
    merge_commits: int = 0
    pushed: list[str] = field(default_factory=list)
    attempts: int = 0
    warnings: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # issues with two builders
    left_out: set[str] = field(default_factory=set)  # remote refs not taken in (warned about)

    @property
    def changed(self) -> bool:
        return bool(self.merged or self.pushed)

    def summary(self) -> str:
        left_out = (
            f"{_count(len(self.left_out), 'ref')} not taken in (see the warnings)"
            if self.left_out
            else ""
        )
        if not self.changed and not self.new_messages:
            state = "would change nothing" if self.dry_run else "nothing changed"
            return f"{self.remote}: {state}; {left_out or 'already in sync'}"
        verb = "would bring" if self.dry_run else "brought"
        merges = f" ({self.merge_commits} by a merge commit)" if self.merge_commits else ""
        push = "would push" if self.dry_run else "pushed"
        pushed = f", {push} {_count(len(self.pushed), 'ref')}" if self.pushing else ""
        return (
            f"{self.remote}: {verb} {_count(self.new_messages, 'new message')}, "
            f"{'would merge' if self.dry_run else 'merged'} {_count(len(self.merged), 'ref')}"
            f"{merges}{pushed}{'; ' + left_out if left_out else ''}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "remote": self.remote,
            "dryRun": self.dry_run,
            "changed": self.changed,
            "newMessages": self.new_messages,
            "mergedRefs": sorted(set(self.merged)),
            "mergeCommits": self.merge_commits,
            "pushedRefs": sorted(self.pushed),
            "attempts": self.attempts,
            "warnings": self.warnings,
            "duplicates": self.duplicates,
            "leftOutRefs": sorted(self.left_out),
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
