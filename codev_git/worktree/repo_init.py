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
        "core.logAllRefUpdates": "always",
        "extensions.worktreeConfig": "true",  # lets each worktree set codev.architect
    }
    for key, value in wanted.items():
        if (store.config_get(key) or "").lower() != value.lower():
            store.config_set(key, value)
            changes.append(f"set {key}={value}")
    changes += install_hook(store)
    return changes
