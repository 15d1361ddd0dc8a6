"""Every setting ``git codev`` reads: git config keys under ``codev.*``, environment variables,
and the files it writes. Each with its type, default and one line of documentation; the man
page's CONFIGURATION, ENVIRONMENT and FILES sections are generated from this module.

Read a key through its :class:`Key` (``config.AUTO_PUSH.flag(store)``), never by spelling
``"codev.…"`` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from codev_git.store import Store

KeyType = Literal["string", "bool", "int", "architect"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType
    default: str | None
    doc: str

    def text(self, store: Store) -> str | None:
        value = store.config_get(self.name)
        return value if value is not None else self.default

    def flag(self, store: Store) -> bool:
        return store.config_bool(self.name, self.default == "true")

    def number(self, store: Store, default: int | None = None) -> int:
        fallback = default if default is not None else int(self.default or 0)
        return store.config_int(self.name, fallback)


KEYS: list[Key] = []


def _key(name: str, type_: KeyType, default: str | None, doc: str) -> Key:
    key = Key(name, type_, default, doc)
    KEYS.append(key)
    return key


ARCHITECT = _key(
    "codev.architect",
    "architect",
    None,
    "The architect you are in this repository or worktree (use `git config --worktree`), "
    "unless --as or CODEV_ARCHITECT_NAME says otherwise.",
)
DEFAULT_ARCHITECT = _key(
    "codev.defaultArchitect",
    "architect",
    None,
    "The owner assumed for a builder worktree whose branch has no ownership record "
    "(a note says so each time). Unset: such a worktree is an error naming `git codev adopt`.",
)
BASE_BRANCH = _key(
    "codev.baseBranch",
    "string",
    None,
    "The branch builders merge into (merged/ahead/behind are measured against it). "
    "Unset: origin's HEAD, else main, else master.",
)
AUTO_PUSH = _key(
    "codev.autoPush",
    "bool",
    "false",
    "Publish every sent message to the default remote at once, as `send --push` does.",
)
MAX_MESSAGE_BYTES = _key(
    "codev.maxMessageBytes",
    "int",
    str(64 * 1024),
    "The largest message `send` accepts, in bytes (k/m/g suffixes allowed).",
)
SIGN_MESSAGES = _key(
    "codev.signMessages",
    "bool",
    "false",
    "Sign every message commit and every ownership change with git's own signing "
    "configuration (gpg, ssh or x509).",
)
REQUIRE_SIGNED = _key(
    "codev.requireSigned",
    "bool",
    "false",
    "Show messages whose signature git cannot verify as UNVERIFIED, and ignore ownership "
    "records no commit signed by a trusted key wrote (see docs/trust.md).",
)
CONSULT_COMMAND = _key(
    "codev.consultCommand",
    "string",
    "consult",
    "The command `git codev consult` runs (split like a shell would).",
)
AUTO_PACK = _key(
    "codev.autoPack",
    "int",
    None,
    "Pack message objects once about this many are loose (default: gc.auto, else 6700; 0: never).",
)
WORKSPACE_NAME = _key(
    "codev.workspaceName",
    "string",
    None,
    "This workspace's display name (whoami, status, cross-workspace messages). "
    "Unset: the main worktree's directory name.",
)
WORKSPACE_PATH = _key(
    "codev.workspace.<name>.path",
    "string",
    None,
    "Another local repository, addressed as `<name>:<target>` by `send` "
    '(e.g. `git codev send billing:architect:main "…"`).',
)
WORKSPACE_SECTION = "codev.workspace."


def workspace_path(store: Store, name: str) -> str | None:
    """Where the workspace registered as ``name`` lives (``codev.workspace.<name>.path``)."""
    return store.config_get(f"{WORKSPACE_SECTION}{name}.path")


def workspace_names(store: Store) -> list[str]:
    """The names registered with ``codev.workspace.<name>.path``."""
    found = store.config_names(WORKSPACE_SECTION)
    return sorted({k[len(WORKSPACE_SECTION) : -len(".path")] for k in found if k.endswith(".path")})


SYNC_ATTEMPTS = _key(
    "codev.syncAttempts",
    "int",
    "6",
    "How many times `sync` fetches, merges and pushes again when another clone pushed first.",
)

STALE_BASE_COMMITS = _key(
    "codev.staleBaseCommits",
    "int",
    "50",
    "`status` flags a live builder whose branch is more than this many commits behind the "
    "base branch (0: never).",
)
THREAD_HISTORY = _key(
    "codev.threadHistory",
    "int",
    "20",
    "`thread refresh` lists live builders and this many most recently merged ones; older ones "
    "go to a collapsed history section.",
)


@dataclass(frozen=True)
class EnvVar:
    name: str
    doc: str


ENV_ARCHITECT = "CODEV_ARCHITECT_NAME"
ENV_WEB_TOKEN = "CODEV_WEB_TOKEN"
ENVIRONMENT = [
    EnvVar(
        ENV_ARCHITECT, "The architect you are, unless --as is given (surrounding spaces ignored)."
    ),
    EnvVar("CODEV_AGENT_FARM_DIR", "Where afx keeps global.db, for `adopt --from-afx`."),
    EnvVar("CODEV_NOW", "Fix the clock (seconds since the epoch or ISO-8601 UTC), for tests."),
    EnvVar("CODEV_DEBUG", "Show the traceback of an internal error instead of one line."),
    EnvVar(ENV_WEB_TOKEN, "The token `git codev web` requires (as --token; needed off loopback)."),
    EnvVar("NO_COLOR", "No colour, even on a terminal."),
]

FILES = [
    ("<common git dir>/hooks/post-checkout", "the worktree-tag hook `hooks install` writes"),
    (".builders/<dir>", "a builder's worktree; `init` adds .builders/ to .git/info/exclude"),
    (".thread", "a builder worktree's tag: its thread and architect, written by the hook"),
    (
        "<common git dir>/codev/owned-branches.sh",
        "the branches with an ownership record, for the hook (rewritten when records change)",
    ),
    ("codev/<name>-thread.md", "an architect's thread; archived to codev/archive/"),
    ("codev/templates/THREAD.md.j2", "a repository's own thread template, if present"),
]
