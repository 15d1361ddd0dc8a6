"""The commands agents run most, in their plainest form, without click or pygit2.

Importing click and pygit2 costs more than everything else ``send`` does. This module picks
one of exactly four cases, each handled with git's own CLI and a few file reads, and each
importing only what it needs:

    git codev send architect MESSAGE      from a builder's worktree   (messaging/quick.py)
    git codev inbox [--json] [--peek]     when nothing is unread      (messaging/quick.py)
    git codev agent hook EVENT [--runtime R]
                                          a prompt or tool-use (or stop) hook with nothing
                                          unread: {}                  (agent/quick.py)
    git codev sync [REMOTE] [--json] [--dry-run]
                                          when nothing changed on either side (sync/quick.py)

Anything else, or anything unusual met on the way (a flag, signing, autoPush, a configured
size limit, a record that is missing, released or unreadable, a ref that is not a plain
commit, an environment that points git elsewhere), raises :class:`NotHere` before anything is
written, and the full command runs instead: its behaviour and its messages are the only ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from codev_git.errors import UsageError
from codev_git.store.lite import NotHere, Repo
from codev_git.store.porcelain import GIT_ENV_VARS

# the commands that may take the fast path (each case below says when)
COMMANDS = ("send", "inbox", "sync", "agent")
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


def attempt(argv: list[str]) -> int | None:
    """The exit code when the fast path handled ``argv``, else None (run the full command).

    Everything up to the moment a message is stored may give up; what follows (printing,
    the packing check) may not, so its errors reach the caller like the full command's."""
    if os.environ.get("CODEV_NO_FAST_PATH") or any(os.environ.get(v) for v in OTHER_GIT_ENV):
        return None
    try:
        if argv[:1] == ["send"] and len(argv) == 3 and argv[1] == "architect":
            from codev_git.messaging.quick import send

            done = send(argv[2])
        elif argv[:1] == ["inbox"] and _flags(argv[1:], {"--json", "--peek"}):
            from codev_git.messaging.quick import inbox

            done = inbox(as_json="--json" in argv)
        elif argv[:1] == ["sync"]:
            done = _sync(argv[1:])
        elif argv[:2] == ["agent", "hook"]:
            from codev_git.agent.quick import hook

            done = hook(argv[2:])
        else:
            return None
    except (NotHere, UsageError, OSError, ValueError, UnicodeError):
        return None
    return done.finish()


@dataclass(frozen=True)
class Done:
    """What is left once the work is done: say so, and maybe check whether to pack."""

    line: str
    repo: Repo | None = None
    new_id: str | None = None

    def finish(self) -> int:
        print(self.line, flush=True)  # a failing stdout fails here, reported as the full path
        from codev_git.store.autopack import PROBE

        if self.repo is not None and self.new_id and self.new_id.startswith(PROBE):
            from codev_git.store import Store  # 1 append in 256 checks whether to pack
            from codev_git.store.autopack import after_append

            after_append(Store.discover(self.repo.worktree), self.new_id)
        return 0


def _flags(args: list[str], allowed: set[str]) -> bool:
    """Whether ``args`` are some of ``allowed``, each at most once."""
    return set(args) <= allowed and len(set(args)) == len(args)


# -- sync, nothing to do -------------------------------------------------------------------------
def _sync(args: list[str]) -> Done:
    named = [arg for arg in args if not arg.startswith("-")]
    if len(named) > 1 or not _flags([a for a in args if a not in named], {"--json", "--dry-run"}):
        raise NotHere("an option or argument the full command reads")
    from codev_git.sync.quick import nothing_to_do

    report = nothing_to_do(Repo.here(), named[0] if named else None, "--dry-run" in args)
    if "--json" in args:
        from codev_git.messaging.render import json_text

        return Done(json_text(report.as_json()))
    return Done(report.summary())
