"""``git codev init``: configure a repository once (idempotent, prints what it changed)."""

from __future__ import annotations

from codev_git.store import Store
from codev_git.worktree.hook_install import install as install_hook

EXCLUDES = (".builders/", ".thread")


def init_repository(store: Store) -> list[str]:
    changes: list[str] = []
    info = store.common_dir / "info"
    info.mkdir(parents=True, exist_ok=True)
    exclude = info / "exclude"
    text = exclude.read_text() if exclude.exists() else ""
    lines = text.splitlines()
    missing = [pattern for pattern in EXCLUDES if pattern not in lines]
    if missing:
        prefix = "" if not text or text.endswith("\n") else "\n"
        with exclude.open("a") as handle:
            handle.write(prefix + "".join(f"{pattern}\n" for pattern in missing))
        changes.append(f"added {', '.join(missing)} to {exclude}")
    wanted = {
        # git's own default for a worktree: reflogs for branches, remote-tracking refs, notes
        # and HEAD. Not "always": each message append would add a reflog line as large as the
        # packed message, kept 90 days, repeating what the chain's parents already record.
        "core.logAllRefUpdates": "true",
        "extensions.worktreeConfig": "true",  # lets each worktree set codev.architect
        "fetch.writeCommitGraph": "true",  # keeps the commit-graph current as history arrives
    }
    for key, value in wanted.items():
        if (store.config_get(key) or "").lower() != value.lower():
            store.config_set(key, value)
            changes.append(f"set {key}={value}")
    changes += install_hook(store)
    changes += write_commit_graph(store)
    return changes


def write_commit_graph(store: Store) -> list[str]:
    """Write git's commit-graph when there is none: ahead/behind counts for many builders
    walk the history with it (``git gc`` keeps it current after that)."""
    info = store.common_dir / "objects" / "info"
    if (info / "commit-graph").exists() or (info / "commit-graphs").is_dir():
        return []
    from codev_git.store.porcelain import git_lines

    git_lines(
        store.common_dir,
        "commit-graph",
        "write",
        "--reachable",
        "--no-progress",
        what="git commit-graph write",
    )
    if (info / "commit-graph").exists() or (info / "commit-graphs").is_dir():
        return ["wrote the commit-graph (objects/info/commit-graph)"]
    return []
