"""prime, agent (install / uninstall / status / hook), mcp: putting messages in front of the
agent that should act on them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from codev_git.commands.common import as_option, echo, json_option, note
from codev_git.errors import CodevError, OperationalError, UsageError
from codev_git.store import Store

RUNTIMES = ("claude", "codex", "gemini")


def _write_flushed(text: str) -> None:
    """Write (as UTF-8, whatever the locale says: runtimes read UTF-8 JSON) and flush stdout;
    a failure is an OperationalError (nothing is marked read)."""
    from codev_git.messaging.deliver import write_each

    exc = write_each([text.encode("utf-8", "surrogateescape")]).error
    if exc is not None:
        raise OperationalError(
            f"could not write the output ({exc.strerror or exc}); nothing was marked read"
        ) from exc


@click.command("prime")
@click.option("--peek", is_flag=True, help="Leave the unread messages shown unread.")
@click.option(
    "--budget",
    type=click.IntRange(min=500),
    default=9500,
    show_default=True,
    metavar="CHARS",
    help="At most this many characters (unread messages that do not fit stay unread).",
)
@as_option
@json_option
def prime_cmd(peek: bool, budget: int, as_name: str | None, as_json: bool) -> None:
    """Everything an agent needs to pick up its work here, compactly.

    Who you are and how that was decided, your role, your threads, your builders' states,
    what awaits an answer, and your unread messages themselves. Run it at the start of a
    session or after the agent's context was compacted (the SessionStart hook of
    'git codev agent install' runs it for you). It hands the unread messages over, so it
    marks them read, only after its whole output was written; --peek leaves them unread.

    \b
    Examples:
      git codev prime
      git codev prime --json
      git codev prime --peek --budget 4000
    """
    from codev_git.agent.prime import build
    from codev_git.ownership.identity import resolve

    store = Store.discover()
    who = resolve(store, as_name)
    prime = build(store, who, budget=budget)
    handed = [m.id for m in prime.handed]
    if as_json:
        data = prime.as_json(0 if peek else len(handed))
        from codev_git.messaging.render import json_document

        _write_flushed(json_document(data))
    else:
        _write_flushed(prime.text() + "\n")
    if not peek and handed:
        prime.batch.mark(store, handed)


@click.group("agent")
def agent_group() -> None:
    """Connect agent runtimes (Claude Code, Codex CLI, Gemini CLI) to git codev.

    \b
    Examples:
      git codev agent install claude                 # hooks in .claude/settings.json, .mcp.json
      git codev agent install claude --scope local   # .claude/settings.local.json (not shared)
      git codev agent install gemini --scope user
      git codev agent install afx-shim               # afx send architect -> git codev send
      git codev agent status
      git codev agent uninstall claude
    """


def _where() -> tuple[Path, Path]:
    store = Store.discover()
    workdir = store.workdir
    if workdir is None:
        raise UsageError("this is a bare repository", "run it in a worktree")
    return workdir, Path.home()


@agent_group.command("install")
@click.argument("runtime", type=click.Choice([*RUNTIMES, "afx-shim"]))
@click.option(
    "--scope",
    type=click.Choice(["project", "local", "user"]),
    default="project",
    show_default=True,
    help="project: this worktree's shared settings; local: not committed; user: your home.",
)
@click.option("--mcp/--no-mcp", "with_mcp", default=True, help="Also register 'git codev mcp'.")
@json_option
def install_cmd(runtime: str, scope: str, with_mcp: bool, as_json: bool) -> None:
    """Install git codev's hooks for RUNTIME (idempotent; everything else is kept).

    SessionStart runs prime; each prompt and tool use gets the messages that arrived since;
    Stop is refused once while unread messages ask for an answer. With afx-shim: an 'afx'
    wrapper that sends a builder's 'afx send architect ...' through git codev.

    \b
    Examples:
      git codev agent install claude
      git codev agent install codex --scope user
      git codev agent install afx-shim
    """
    if runtime == "afx-shim":
        _install_shim(as_json)
        return
    from codev_git.agent.install import (
        CAVEATS,
        Target,
        install,
        mcp_path,
        register_mcp,
        settings_path,
    )

    workdir, home = _where()
    target = Target(runtime, scope, settings_path(runtime, scope, workdir, home))
    changed = install(target)
    if scope == "local":
        _exclude_locally(target.path, workdir)
    mcp_file = mcp_path(runtime, scope, workdir, home) if with_mcp else None
    mcp_changed = register_mcp(mcp_file) if mcp_file is not None else False
    caveats = list(CAVEATS[runtime])
    if with_mcp and mcp_file is None and runtime == "claude":
        caveats.append(
            "register the MCP server for this scope with: claude mcp add codev -- git codev mcp"
        )
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(
            {
                "runtime": runtime,
                "scope": scope,
                "settings": str(target.path),
                "changed": changed,
                "mcp": str(mcp_file) if mcp_file else None,
                "mcpChanged": mcp_changed,
                "notes": caveats,
            }
        )
        return
    echo(f"{'installed' if changed else 'already installed'}: hooks in {target.path}")
    if mcp_file is not None:
        echo(f"{'registered' if mcp_changed else 'already registered'}: MCP server in {mcp_file}")
    for caveat in caveats:
        note(caveat)
    note(_identity_note())
    note("restart the agent's session for the hooks to take effect")


@agent_group.command("uninstall")
@click.argument("runtime", type=click.Choice([*RUNTIMES, "afx-shim"]))
@click.option(
    "--scope", type=click.Choice(["project", "local", "user"]), default="project", show_default=True
)
@json_option
def uninstall_cmd(runtime: str, scope: str, as_json: bool) -> None:
    """Remove git codev's hook entries (and MCP registration); nothing else is touched.

    \b
    Examples:
      git codev agent uninstall claude
      git codev agent uninstall gemini --scope user
      git codev agent uninstall afx-shim
    """
    if runtime == "afx-shim":
        _uninstall_shim(as_json)
        return
    from codev_git.agent.install import Target, mcp_path, register_mcp, settings_path, uninstall

    workdir, home = _where()
    target = Target(runtime, scope, settings_path(runtime, scope, workdir, home))
    removed = uninstall(target)
    mcp_file = mcp_path(runtime, scope, workdir, home)
    mcp_removed = mcp_file is not None and mcp_file.exists() and register_mcp(mcp_file, remove=True)
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json(
            {
                "runtime": runtime,
                "scope": scope,
                "settings": str(target.path),
                "changed": removed,
                "mcp": str(mcp_file) if mcp_file else None,
                "mcpChanged": mcp_removed,
            }
        )
        return
    echo(f"{'removed' if removed else 'nothing to remove'}: hooks in {target.path}")
    if mcp_removed:
        echo(f"removed: MCP server from {mcp_file}")


@agent_group.command("status")
@json_option
def status_cmd(as_json: bool) -> None:
    """Where git codev's hooks and MCP server are installed, and who you are here.

    \b
    Examples:
      git codev agent status
      git codev agent status --json
    """
    from codev_git.agent.install import (
        SCOPES,
        installed_events,
        is_mcp_registered,
        load,
        mcp_path,
        settings_path,
    )
    from codev_git.ownership.identity import resolve

    workdir, home = _where()
    rows: list[dict[str, Any]] = []
    for runtime in RUNTIMES:
        for scope in SCOPES[runtime]:
            path = settings_path(runtime, scope, workdir, home)
            problem: str | None = None
            try:
                events = installed_events(load(path))
            except UsageError as exc:
                events, problem = [], exc.what
            mcp_file = mcp_path(runtime, scope, workdir, home)
            rows.append(
                {
                    "runtime": runtime,
                    "scope": scope,
                    "settings": str(path),
                    "events": events,
                    "mcp": is_mcp_registered(mcp_file),
                    "problem": problem,
                }
            )
    try:
        identity: dict[str, Any] | None = None
        who = resolve(Store.discover())
        identity = {"address": who.address, "source": who.source}
    except CodevError as exc:
        identity = {"error": str(exc)}
    shim = _installed_shim()
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"identity": identity, "runtimes": rows, "afxShim": shim})
        return
    echo(f"you are: {identity.get('address') or identity.get('error')}")
    if shim is not None:
        echo(f"afx-shim  {shim}")
    for row in rows:
        if row["events"] or row["mcp"] or row["problem"]:
            what = ", ".join(row["events"]) or "no hooks"
            mcp = "; MCP registered" if row["mcp"] else ""
            echo(f"{row['runtime']:<7} {row['scope']:<8} {what}{mcp}  ({row['settings']})")
            if row["problem"]:
                note(row["problem"])
    if not any(r["events"] for r in rows):
        echo("no hooks installed (git codev agent install claude|codex|gemini)")


@agent_group.command("hook")
@click.argument("event")
@click.option("--runtime", type=click.Choice(RUNTIMES), default="claude", show_default=True)
@click.option(
    "--wait",
    is_flag=True,
    help="Wait for a message, hand it over on stderr and exit 2 (Claude Code asyncRewake).",
)
def hook_cmd(event: str, runtime: str, wait: bool) -> None:
    """The hook entry point agent runtimes run: their JSON on stdin, one JSON answer out.

    \b
    Examples:
      echo '{"prompt":"hi"}' | git codev agent hook UserPromptSubmit
      git codev agent hook SessionStart --runtime gemini < payload.json
      git codev agent hook Stop --wait < payload.json   # exits 2 once a message arrives
    """
    from codev_git.agent.hooks import answer, unknown_identity
    from codev_git.messaging.lease import FOLLOWER, Lease
    from codev_git.ownership.identity import resolve

    payload: dict[str, Any] = {}
    try:
        given = b"{}" if sys.stdin.isatty() else sys.stdin.buffer.read()  # run by hand
        raw = json.loads(given or b"{}")
        payload = raw if isinstance(raw, dict) else {}
    except ValueError:
        note("the hook's input is not JSON; answering as if it were empty")
    cwd = payload.get("cwd")
    try:
        store = Store.discover(cwd if isinstance(cwd, str) and cwd else None)
        who = resolve(store)
    except CodevError as exc:
        note(str(exc))
        _write_flushed(json.dumps(unknown_identity(runtime, event, str(exc))) + "\n")
        return
    lease = Lease.for_reader(store, who)
    if wait:
        _wait_and_wake(store, who, lease)
        return
    what = f"the {runtime} {event} hook"
    held = lease.try_acquire(what)
    if not held and FOLLOWER not in lease.holder():  # another hook: it is done in a moment
        held = lease.acquire(what, timeout=5)
    try:
        result = answer(
            store,
            who,
            runtime,
            event,
            payload,
            delivered_elsewhere=None if held else lease.holder(),
        )
        _write_flushed(json.dumps(result.output, ensure_ascii=False) + "\n")
        if result.batch is not None and result.handed:
            result.batch.mark(store, result.handed)
    finally:
        lease.release()


def _wait_and_wake(store: Store, who: Any, lease: Any) -> None:
    """The asyncRewake waiter: exit 2 with the messages on stderr once some arrive."""
    from codev_git.agent.hooks import wake_render
    from codev_git.agent.waiter import wait_for_messages

    wake = wait_for_messages(store, who, lambda batch: wake_render(who, batch), lease)
    if wake is None:
        return
    try:
        from codev_git.messaging.deliver import write_each

        text = wake.text + "\n"
        stream = getattr(sys.stderr, "buffer", None)
        try:
            sys.stderr.flush()
        except OSError:
            return
        if stream is None:  # an in-memory stream
            sys.stderr.write(text)
        elif write_each([text.encode("utf-8", "surrogateescape")], stream).error is not None:
            return  # not handed over: they stay unread
        wake.batch.mark(store, wake.handed)
    finally:
        lease.release()
    sys.exit(2)


@agent_group.command("afx-send", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def afx_send_cmd(args: tuple[str, ...]) -> None:
    """What the afx shim runs for 'afx send architect ...' (exit 3: not a builder here).

    \b
    Examples (the wrapper from 'git codev agent install afx-shim' runs it):
      git codev agent afx-send architect "spec ready for review"
    """
    from codev_git.agent.afx_shim import send_from_builder

    code, said = send_from_builder(list(args))
    if said and code == 0:
        echo(said)
    elif said:
        click.echo(said, err=True)
    if code:
        sys.exit(code)


def _exclude_locally(path: Path, workdir: Path) -> None:
    """Local-scope settings are personal: keep them out of commits (info/exclude)."""
    exclude = Store.discover().common_dir / "info" / "exclude"
    pattern = "/" + path.relative_to(workdir).as_posix()
    text = exclude.read_text() if exclude.exists() else ""
    if pattern not in text.splitlines():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not text or text.endswith("\n") else "\n"
        exclude.write_text(text + prefix + pattern + "\n")


def _identity_note() -> str:
    """Who the hooks will act as: they resolve identity like any command, in the session's
    worktree and environment."""
    from codev_git.ownership.identity import CONFIG_ARCHITECT, ENV_ARCHITECT, resolve

    try:
        who = resolve(Store.discover())
    except CodevError as exc:
        return f"the hooks cannot tell who you are here yet ({exc.what}): {exc.hint}"
    if who.is_builder or "git config" in who.source:
        return f"the hooks act as {who.address} ({who.source})"
    return (
        f"the hooks act as {who.address} only while the agent runs with {ENV_ARCHITECT}="
        f"{who.name}; in an architect's own worktree, pin it with "
        f"'git config --worktree {CONFIG_ARCHITECT} {who.name}'"
    )


def _install_shim(as_json: bool) -> None:
    from codev_git.agent.afx_shim import install_shim

    store = Store.discover()
    path, changed = install_shim(store)
    line = f'export PATH="{path.parent}:$PATH"'
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"shim": str(path), "changed": changed, "environment": line})
        return
    echo(f"{'installed' if changed else 'already installed'}: {path}")
    echo("add this line to each builder's environment (before it starts its agent):")
    echo(f"  {line}")


def _installed_shim() -> str | None:
    """The afx wrapper's path when git codev's wrapper is installed in this repository."""
    from codev_git.agent.afx_shim import SHIM, shim_path

    try:
        path = shim_path(Store.discover())
        return str(path) if path.read_text(errors="replace") == SHIM else None
    except (CodevError, OSError):
        return None


def _uninstall_shim(as_json: bool) -> None:
    from codev_git.agent.afx_shim import uninstall_shim

    path, removed = uninstall_shim(Store.discover())
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"shim": str(path), "changed": removed})
        return
    echo(f"{'removed' if removed else 'nothing to remove'}: {path}")
    if removed:
        echo("drop its PATH line from the builders' environment")


@click.command("mcp")
def mcp_cmd() -> None:
    """Serve the Model Context Protocol over stdio (tools: whoami, send, inbox, reply,
    status, thread_list, thread_show, context, sync). You are who you are in the worktree the
    server was started in: a builder's server acts as that builder.

    \b
    Examples:
      git codev mcp                                   # what .mcp.json runs
      claude mcp add codev -- git codev mcp
    """
    from codev_git.agent.mcp_server import serve

    serve()
