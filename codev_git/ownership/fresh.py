"""Fresh bases: a new builder starts from the newest commit of its base branch's upstream.

When the base (``--base``, else the checked-out branch) is a local branch with an upstream
(``branch.<name>.remote`` and ``.merge``), ``spawn`` fetches that one branch first (through
git's own fetch: the user's credentials and transports). If the local branch is behind what
was fetched, the builder starts from the upstream tip instead. Offline is a warning, never a
failure: the builder then starts from the local branch, as it would have anyway.
"""

from __future__ import annotations

from codev_git import report
from codev_git.errors import CodevError
from codev_git.layout import remote_branch
from codev_git.names import BRANCH_PREFIX, is_remote_name, short_branch
from codev_git.store import Store


def local_branch(store: Store, base: str | None) -> str | None:
    """The full refname of the local branch ``base`` names (None: HEAD's branch)."""
    if base is None:
        return store.head_branch()
    ref = base if base.startswith(BRANCH_PREFIX) else BRANCH_PREFIX + base
    try:
        return ref if store.ref_target(ref) is not None else None
    except CodevError:  # a name git cannot read is simply not a branch
        return None


def upstream_of(store: Store, branch: str) -> tuple[str, str] | None:
    """(remote, remote's branch ref) a local branch tracks, if any."""
    short = short_branch(branch)
    remote = store.config_get(f"branch.{short}.remote")
    merge = store.config_get(f"branch.{short}.merge")
    if not remote or remote == "." or not merge or not merge.startswith(BRANCH_PREFIX):
        return None
    if not is_remote_name(remote):
        return None
    return remote, merge


def fresh_base(store: Store, base: str | None, *, fetch: bool) -> tuple[str, str | None]:
    """(commit to start from, the upstream it came from: None when it is the local branch's
    own, as without an upstream, with ``fetch`` off, offline, or ahead of or diverged from
    the upstream)."""
    local = store.resolve_commit(base or "HEAD")
    branch = local_branch(store, base)
    upstream = upstream_of(store, branch) if branch else None
    if branch is None or upstream is None or not fetch:
        return local, None
    remote, merge = upstream
    tracking = remote_branch(remote, short_branch(merge))
    from codev_git.store.porcelain import fetch_branch

    outcome = fetch_branch(store.workdir or store.git_dir, remote, merge, tracking)
    name = short_branch(branch)
    if outcome.code != 0:
        report.warn(
            f"could not fetch {name}'s upstream from {remote} ({outcome.first_error}); "
            f"starting from the local {name}"
        )
        return local, None
    theirs = store.ref_target(tracking)
    if theirs == local:
        return local, short_branch(tracking, "refs/remotes/")
    if theirs is None or store.is_ancestor(theirs, local):
        return local, None  # the local branch is ahead: nothing came from the upstream
    if store.is_ancestor(local, theirs):
        newer, _ = store.ahead_behind(local, [theirs])[theirs]
        report.note(
            f"starting from {short_branch(tracking, 'refs/remotes/')}: it is {newer} "
            f"commit{'s' if newer != 1 else ''} newer than your {name}"
        )
        return theirs, short_branch(tracking, "refs/remotes/")
    report.warn(
        f"{name} and {short_branch(tracking, 'refs/remotes/')} have diverged; "
        f"starting from the local {name}"
    )
    return local, None
