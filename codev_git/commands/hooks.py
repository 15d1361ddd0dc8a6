"""hooks install | uninstall | status: the post-checkout hook that writes .thread."""

from __future__ import annotations

import click

from codev_git.commands.common import echo, json_option
from codev_git.store import Store


@click.group("hooks")
def hooks_group() -> None:
    """Install, remove or inspect the post-checkout hook that tags worktrees with .thread.

    The hook goes where git runs it for every worktree: core.hooksPath when set, else the
    common git directory's hooks/. A hook already there is kept and runs first; uninstall
    puts it back. The hook never fails a checkout. `git codev init` installs it too.

    \b
    Examples:
      git codev hooks install
      git codev hooks status --json
      git codev hooks uninstall
    """


@hooks_group.command("install")
@json_option
def install_cmd(as_json: bool) -> None:
    """Install the hook, pinned to this interpreter (safe to run again).

    \b
    Examples:
      git codev hooks install
      git codev hooks install --json
    """
    from codev_git.worktree.hook_install import install

    store = Store.discover()
    _report(store, install(store), "the hook is already installed; nothing changed", as_json)


@hooks_group.command("uninstall")
@json_option
def uninstall_cmd(as_json: bool) -> None:
    """Remove the hook and restore the one it chained, if any.

    \b
    Examples:
      git codev hooks uninstall
    """
    from codev_git.worktree.hook_install import uninstall

    store = Store.discover()
    _report(store, uninstall(store), "the hook is not installed; nothing changed", as_json)


@hooks_group.command("status")
@json_option
def status_cmd(as_json: bool) -> None:
    """Say whether the hook is installed, where, with which interpreter, chaining what.

    \b
    Examples:
      git codev hooks status --json
    """
    from codev_git.worktree.hook_install import hook_status

    state = hook_status(Store.discover())
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(state.as_json())
        return
    if state.installed:
        echo(
            "post-checkout hook: installed"
            + ("" if state.current else " (outdated: run 'git codev hooks install')")
        )
    elif state.foreign:
        echo("post-checkout hook: not installed (another hook is there; install chains it)")
    else:
        echo("post-checkout hook: not installed (run 'git codev hooks install')")
    echo(f"  path:        {state.place.hook} ({state.place.source})")
    if state.interpreter is not None:
        found = "found" if state.interpreter_found else "MISSING: reinstall"
        echo(f"  interpreter: {state.interpreter} ({found})")
    if state.chained is not None:
        echo(f"  chained:     {state.chained} (runs first)")


def _report(store: Store, changes: list[str], nothing: str, as_json: bool) -> None:
    if as_json:
        from codev_git.messaging.render import dump_json
        from codev_git.worktree.hook_install import hook_status

        state = hook_status(store).as_json()
        dump_json({"changed": bool(changes), "changes": changes, **state})
        return
    for change in changes or [nothing]:
        echo(change)
