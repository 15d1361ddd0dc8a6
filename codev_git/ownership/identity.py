"""Who is running this command, and how we know. Never a guess, never a silent default.

Order: in a worktree whose checked-out branch has an ownership record, you are that builder
(no flag changes that). Otherwise you are an architect named by ``--as``, else by
``CODEV_ARCHITECT_NAME``, else by ``git config codev.architect`` (worktree config allowed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from codev_git import config, report
from codev_git.address import architect_address
from codev_git.errors import UsageError
from codev_git.names import (
    BRANCH_PREFIX,
    BUILDER_BRANCH_PREFIX,
    ArchitectName,
    BranchRef,
    BuilderId,
    builder_id_for_branch,
    parse_architect,
    short_branch,
    shown,
)
from codev_git.ownership.records import OwnerBook, OwnerRecord

if TYPE_CHECKING:
    from codev_git.store import Store

ENV_ARCHITECT = config.ENV_ARCHITECT
CONFIG_ARCHITECT = config.ARCHITECT.name
CONFIG_DEFAULT_ARCHITECT = config.DEFAULT_ARCHITECT.name

NO_IDENTITY_HINT = (
    "set CODEV_ARCHITECT_NAME=<name>, run 'git config --worktree codev.architect <name>', "
    "or pass --as <name>"
)


@dataclass(frozen=True)
class Identity:
    kind: Literal["architect", "builder"]
    name: str  # the architect's name, or the builder's id
    architect: ArchitectName  # the architect itself, or the builder's owner
    source: str  # how this was decided, in words
    record: OwnerRecord | None = None

    @property
    def is_builder(self) -> bool:
        return self.kind == "builder"

    @property
    def builder(self) -> BuilderId:
        assert self.record is not None
        return self.record.builder

    @property
    def address(self) -> str:
        """How this sender is written in a ``Codev-From:`` trailer."""
        return self.name if self.is_builder else architect_address(self.name)


def builder_here(store: Store, book: OwnerBook | None = None) -> Identity | None:
    """The builder whose branch is checked out in this worktree, if it has a record.

    While HEAD is detached (a rebase, a bisect, ``git checkout --detach``) the branch is the
    one the operation works on, as git records it, else the one the worktree's ``.thread``
    tag names: a builder in the middle of real work is still that builder."""
    branch = store.head_branch()
    how = "has branch {} checked out"
    if branch is None:
        branch, how = _detached_branch(store)
        if branch is None:
            return None
    ownership = (book or OwnerBook(store)).lookup(BranchRef(branch))
    if ownership is None:
        return None
    rec = ownership.current
    return Identity(
        kind="builder",
        name=rec.builder,
        architect=rec.architect,
        source=f"this worktree {how.format(rec.branch_name)}, "
        f"which has an ownership record ({rec.event} by {rec.by or rec.architect})",
        record=rec,
    )


def _detached_branch(store: Store) -> tuple[str | None, str]:
    """The builder branch a worktree with a detached HEAD belongs to, and how we know."""
    during = store.operation_branch()
    if during is not None:
        return during[0], f"is in a {during[1]} of branch {{}}"
    here = store.workdir
    if here is None:
        return None, ""
    from codev_git.worktree.tag import read

    try:
        tag = read(here)
    except (OSError, ValueError):
        return None, ""
    if tag is None or not tag.ours or not tag.branch:
        return None, ""
    return BRANCH_PREFIX + tag.branch, "has a detached HEAD and its .thread tag names branch {}"


def unowned_builder(store: Store) -> str | None:
    """The branch of a builder worktree that has no ownership record, if this is one."""
    branch = store.head_branch()
    if branch is not None and branch.startswith(BUILDER_BRANCH_PREFIX):
        return short_branch(branch)
    main, here = store.main_workdir, store.workdir
    if main is not None and here is not None and here.parent == main / ".builders":
        return short_branch(branch) if branch else here.name
    return None


def default_architect_builder(store: Store, branch: str) -> Identity | None:
    """A builder without a record, owned by ``codev.defaultArchitect`` when configured."""
    configured = store.config_get(CONFIG_DEFAULT_ARCHITECT)
    if not configured:
        return None
    owner = parse_architect(configured)
    ref = BranchRef(BRANCH_PREFIX + branch)
    record = OwnerRecord(
        time="", event="default", builder=builder_id_for_branch(ref), branch=ref, architect=owner
    )
    return Identity(
        kind="builder",
        name=record.builder,
        architect=owner,
        source=f"branch {branch} has no ownership record; "
        f"git config {CONFIG_DEFAULT_ARCHITECT} names {owner}",
        record=record,
    )


def architect_from_settings(
    store: Store | None, as_name: str | None, *, known_only: bool = True
) -> Identity | None:
    """The architect named by --as, else the environment, else git config; None if none.
    ``--as`` must name a known architect (see :mod:`codev_git.ownership.registry`) unless
    ``known_only`` is False (commands that register the architect themselves)."""
    if as_name is not None:
        name = parse_architect(as_name)
        if known_only and store is not None:
            from codev_git.ownership.registry import require_known

            require_known(store, name, f"--as {name}")
        return Identity("architect", name, name, "--as on the command line")
    env = (os.environ.get(ENV_ARCHITECT) or "").strip()
    if env:
        try:
            name = parse_architect(env)
        except UsageError as exc:
            raise UsageError(f"{ENV_ARCHITECT}={shown(env)} is not a valid name", exc.hint) from exc
        return Identity("architect", name, name, f"environment variable {ENV_ARCHITECT}")
    configured = store.config_get(CONFIG_ARCHITECT) if store is not None else None
    if configured:
        try:
            name = parse_architect(configured)
        except UsageError as exc:
            raise UsageError(
                f"git config {CONFIG_ARCHITECT}={shown(configured)} is not a valid name", exc.hint
            ) from exc
        return Identity("architect", name, name, f"git config {CONFIG_ARCHITECT}")
    return None


def resolve(
    store: Store,
    as_name: str | None = None,
    book: OwnerBook | None = None,
    *,
    known_only: bool = True,
) -> Identity:
    """The caller's identity, or a UsageError saying how to set one."""
    builder = builder_here(store, book)
    if builder is not None:
        if as_name is not None and as_name != builder.architect:
            raise UsageError(
                f"--as {as_name} refused: this worktree belongs to {builder.name}",
                "run architect commands from an architect's own worktree",
            )
        return builder
    orphan = unowned_builder(store)
    if orphan is not None:
        fallback = default_architect_builder(store, orphan)
        if fallback is None:
            raise UsageError(
                f"this is builder worktree {orphan} but its branch has no ownership record",
                f"from the architect's worktree run 'git codev adopt {orphan} --architect NAME'",
            )
        report.note(fallback.source)
        return fallback
    architect = architect_from_settings(store, as_name, known_only=known_only)
    if architect is None:
        raise UsageError(
            "cannot tell which architect you are", NO_IDENTITY_HINT, code="no-identity"
        )
    return architect


def resolve_architect(
    store: Store, as_name: str | None, *, what: str, registers: bool = False
) -> Identity:
    """Like :func:`resolve`, but the command is for architects only. ``registers``: the
    command registers the architect itself (spawn, adopt), so ``--as`` may name a new one."""
    who = resolve(store, as_name, known_only=not registers)
    if who.is_builder:
        raise UsageError(
            f"{what} is for architects; this worktree is builder {who.name}",
            "run it from an architect's worktree",
        )
    return who


def releasing_architect(store: Store, as_name: str | None) -> Identity:
    """Who runs ``release``: an architect from the settings even inside a builder's worktree
    (the way out of a mistaken adopt must work in the worktree that became a builder)."""
    who = architect_from_settings(store, as_name)
    if who is None:
        raise UsageError(
            "cannot tell which architect you are", NO_IDENTITY_HINT, code="no-identity"
        )
    return who


def workspace_name(store: Store) -> str:
    """The workspace's display name as afx gives it: the main worktree's directory name."""
    configured = config.WORKSPACE_NAME.text(store)
    if configured and configured.strip():
        return configured.strip()
    root = store.main_workdir or store.common_dir
    name = root.name
    if name == ".git" or not name:
        name = root.parent.name
    return name.removesuffix(".git") or str(root)


def no_identity() -> UsageError:
    return UsageError("cannot tell which architect you are", NO_IDENTITY_HINT, code="no-identity")
