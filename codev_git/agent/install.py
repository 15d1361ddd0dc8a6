"""Writing and removing our hook entries in agent runtimes' settings files.

Every entry we write runs ``git codev agent hook ...``; that prefix is how uninstall and
status recognise ours, so everything else in the file is left exactly as it was. Installing
twice changes nothing; the file is replaced atomically.

- claude: project .claude/settings.json, local .claude/settings.local.json,
  user ~/.claude/settings.json
- codex: project .codex/hooks.json, user ~/.codex/hooks.json
- gemini: project .gemini/settings.json, user ~/.gemini/settings.json

The MCP server is registered in ``.mcp.json`` (Claude Code, project scope) or in
``mcpServers`` of Gemini's settings; Codex keeps MCP servers in TOML, which we only print.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codev_git.agent.hooks import EVENTS
from codev_git.errors import OperationalError, UsageError
from codev_git.store.files import replace_file

HOOK_PREFIX = "git codev agent hook"
WAIT_SECONDS = 86_400  # how long an armed waiter waits for a message before giving up
MCP_NAME = "codev"
MCP_ENTRY = {"command": "git", "args": ["codev", "mcp"]}
SCOPES = {
    "claude": ("project", "local", "user"),
    "codex": ("project", "user"),
    "gemini": ("project", "user"),
}
INSTRUCTIONS = (
    "At the start of a session and after compaction run `git codev prime`; before finishing "
    "a task run `git codev inbox` and answer messages that ask for it with "
    '`git codev reply ID "..."` or `git codev ack ID`.'
)
NO_WAKE = (
    "{runtime} hooks cannot wake an idle session: run `git codev inbox --follow --json` as a "
    "background monitor, and put this in {file}: " + INSTRUCTIONS
)
CAVEATS = {
    "claude": [],
    "codex": [
        "Codex runs project hooks only once you have reviewed and trusted them (it asks)",
        "Codex fires PostToolUse for shell commands only: messages also arrive at each prompt",
        "register the MCP server yourself in ~/.codex/config.toml: "
        '[mcp_servers.codev] command = "git" args = ["codev", "mcp"]',
        NO_WAKE.format(runtime="Codex", file="AGENTS.md"),
    ],
    "gemini": [
        "older Gemini CLI versions need hooks enabled in settings.json (hooksConfig.enabled)",
        NO_WAKE.format(runtime="Gemini CLI", file="GEMINI.md"),
    ],
}


@dataclass(frozen=True)
class Target:
    runtime: str
    scope: str
    path: Path


def settings_path(runtime: str, scope: str, workdir: Path, home: Path) -> Path:
    if runtime not in SCOPES:
        raise UsageError(f"unknown runtime {runtime!r}", "use claude, codex or gemini")
    if scope not in SCOPES[runtime]:
        raise UsageError(
            f"{runtime} has no {scope!r} scope", f"use one of: {', '.join(SCOPES[runtime])}"
        )
    base = home if scope == "user" else workdir
    folder = {"claude": ".claude", "codex": ".codex", "gemini": ".gemini"}[runtime]
    name = {"codex": "hooks.json", "claude": "settings.json", "gemini": "settings.json"}[runtime]
    if scope == "local":
        name = "settings.local.json"
    return base / folder / name


def hook_command(runtime: str, event: str) -> str:
    return f"{HOOK_PREFIX} {event} --runtime {runtime}"


def our_groups(runtime: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for event in EVENTS[runtime]:
        hook: dict[str, Any] = {"type": "command", "command": hook_command(runtime, event)}
        if runtime == "gemini":
            hook = {"name": f"codev-{event}", **hook, "timeout": 30000}
        else:
            hook["timeout"] = 30
        groups[event] = [{"hooks": [hook]}]
    if runtime == "claude":  # wakes an idle session when a message arrives (see waiter.py)
        waiter = {
            "type": "command",
            "command": hook_command(runtime, "Stop") + " --wait",
            "asyncRewake": True,
            "timeout": WAIT_SECONDS,
        }
        groups["Stop"][0]["hooks"].append(waiter)
    return groups


def _is_ours(hook: Any) -> bool:
    return isinstance(hook, dict) and str(hook.get("command", "")).startswith(HOOK_PREFIX)


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{path} is not valid JSON ({exc})", "fix or move it, then run again"
        ) from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path} does not hold a JSON object", "fix or move it, then run again")
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise OperationalError(f"cannot write {path}: {exc.strerror}") from exc


def _strip_ours(hooks: dict[str, Any]) -> dict[str, Any]:
    """The hooks table without our entries (empty groups and events dropped)."""
    out: dict[str, Any] = {}
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            out[event] = groups
            continue
        kept = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                inner = [h for h in group["hooks"] if not _is_ours(h)]
                if not inner and group["hooks"]:
                    continue
                group = {**group, "hooks": inner}
            kept.append(group)
        if kept:
            out[event] = kept
    return out


def installed_events(data: dict[str, Any]) -> list[str]:
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return []
    found = []
    for event, groups in hooks.items():
        for group in groups if isinstance(groups, list) else []:
            inner = group.get("hooks") if isinstance(group, dict) else None
            if isinstance(inner, list) and any(_is_ours(h) for h in inner):
                found.append(event)
                break
    return sorted(found)


def install(target: Target) -> bool:
    """Merge our entries into the file; True when it changed."""
    data = load(target.path)
    hooks = data.get("hooks", {})
    if not isinstance(hooks, dict):
        raise UsageError(f"{target.path}: 'hooks' is not an object", "fix it, then run again")
    merged = _strip_ours(hooks)
    for event, groups in our_groups(target.runtime).items():
        merged[event] = [*merged.get(event, []), *groups]
    new = {**data, "hooks": merged}
    if new == data:
        return False
    save(target.path, new)
    return True


def uninstall(target: Target) -> bool:
    data = load(target.path)
    hooks = data.get("hooks")
    if not isinstance(hooks, dict):
        return False
    stripped = _strip_ours(hooks)
    if stripped == hooks:
        return False
    new = dict(data)
    if stripped:
        new["hooks"] = stripped
    else:
        del new["hooks"]
    save(target.path, new)
    return True


def mcp_path(runtime: str, scope: str, workdir: Path, home: Path) -> Path | None:
    """Where the MCP server is registered for this runtime and scope, if we can write it."""
    if runtime == "claude" and scope == "project":
        return workdir / ".mcp.json"
    if runtime == "gemini":
        return settings_path(runtime, scope, workdir, home)
    return None


def register_mcp(path: Path, *, remove: bool = False) -> bool:
    data = load(path)
    servers = data.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise UsageError(f"{path}: 'mcpServers' is not an object", "fix it, then run again")
    if remove:
        if MCP_NAME not in servers:
            return False
        servers = {k: v for k, v in servers.items() if k != MCP_NAME}
    else:
        if servers.get(MCP_NAME) == MCP_ENTRY:
            return False
        servers = {**servers, MCP_NAME: MCP_ENTRY}
    new = {**data, "mcpServers": servers}
    if remove and not servers:
        del new["mcpServers"]
    save(path, new)
    return True


def is_mcp_registered(path: Path | None) -> bool:
    if path is None or not path.exists():
        return False
    try:
        servers = load(path).get("mcpServers", {})
    except UsageError:
        return False
    return isinstance(servers, dict) and servers.get(MCP_NAME) == MCP_ENTRY
