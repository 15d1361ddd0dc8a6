"""The JSON contract: every command has --json, every --json output (success and failure)
validates against its schema in docs/schemas/, and failures keep their exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import click
import jsonschema
from referencing import Registry, Resource

from codev_git.cli import cli
from tests.helpers import Result, Sandbox, git

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
BASE = "https://codev-git.invalid/schemas/"
CONSULT = '#!/bin/sh\necho consult ran with "$@"\nexit 0\n'


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def valid(name: str, data: Any) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, registry=REGISTRY)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def with_json(args: tuple[str, ...]) -> list[str]:
    """``--json`` among the command's own options: before a ``--`` that starts ARGS."""
    cut = args.index("--") if "--" in args else len(args)
    return [*args[:cut], "--json", *args[cut:]]


def ok_json(box: Sandbox, schema: str, *args: str, stderr: str = "", **kwargs: Any) -> Any:
    result = box.run(*with_json(args), **kwargs)
    assert result.code == 0, f"{args}: {result.code} {result.out} {result.err}"
    assert result.err == stderr, f"{args}: stray stderr under --json: {result.err}"
    data = json.loads(result.out)
    valid(schema, data)
    return data


def fails_json(box: Sandbox, code: int, *args: str, **kwargs: Any) -> dict[str, Any]:
    result: Result = box.run(*with_json(args), **kwargs)
    assert result.code == code, f"{args}: {result.code} {result.out} {result.err}"
    assert result.err == "", f"{args}: stray stderr under --json: {result.err}"
    data = json.loads(result.out)
    valid("error", data)
    error: dict[str, Any] = data["error"]
    return error


def leaf_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None
            if isinstance(cmd, click.Group):
                walk(cmd, f"{prefix}{name} ")
            else:
                found.append((f"{prefix}{name}", cmd))

    walk(cli, "")
    return found


# these speak another program's protocol on stdout, which is already JSON or afx's own text:
# the runtime's hook protocol, afx's send (the shim), the MCP server's JSON-RPC
OTHER_PROTOCOLS = {"agent hook", "agent afx-send", "mcp"}


def test_every_command_has_json() -> None:
    missing = [
        name
        for name, cmd in leaf_commands()
        if name not in OTHER_PROTOCOLS
        and not any("--json" in p.opts for p in cmd.params if isinstance(p, click.Option))
    ]
    assert missing == []


def test_every_schema_file_is_a_valid_schema() -> None:
    for path in SCHEMAS.glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_every_command_json_validates(sandbox: Sandbox, tmp_path: Path) -> None:
    box = sandbox
    (box.root / "codev").mkdir()
    # a bare remote, so that sync and send --push have somewhere to go
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    box.git("remote", "add", "origin", str(remote))
    box.git("push", "-q", "origin", "main")

    ok_json(box, "init", "init")
    ok_json(box, "architect-add", "architect", "add", "payments")
    ok_json(box, "architect-add", "architect", "add", "--auto")
    ok_json(box, "whoami", "whoami", as_="main")
    ok_json(box, "thread-new", "thread", "new", "alpha", "--headline", "A", as_="main")
    spawned = ok_json(box, "spawn", "spawn", "1487", "--protocol", "spir", as_="main")
    builder = Path(spawned["worktree"])
    ok_json(box, "whoami", "whoami", cwd=builder)
    box.git("branch", "builder/air-9")
    ok_json(box, "adopt", "adopt", "builder/air-9", as_="main")
    ok_json(box, "reassign", "reassign", "9", "--to", "payments", as_="main")
    ok_json(box, "release", "release", "9", as_="payments")
    sent = ok_json(box, "send", "send", "architect", "hello", cwd=builder)
    ok_json(box, "send", "send", "architect:payments", "hi", "--push", as_="main")
    ok_json(box, "inbox", "inbox", "--peek", as_="main")
    ok_json(box, "reply", "reply", sent["id"], "thanks", as_="main")
    asked = ok_json(box, "send", "send", "1487", "merge?", "--ack", "--urgent", as_="main")
    assert asked["ack"] == "requested" and asked["importance"] == "urgent"
    ok_json(box, "status", "status")  # with a pending ack
    ok_json(box, "prime", "prime", "--peek", cwd=builder)
    ok_json(box, "prime", "prime", "--peek", as_="main")
    ok_json(box, "ack", "ack", asked["id"], cwd=builder)
    ok_json(box, "agent-install", "agent", "install", "claude", "--scope", "local")
    ok_json(box, "agent-status", "agent", "status", as_="main")
    ok_json(box, "agent-uninstall", "agent", "uninstall", "claude", "--scope", "local")
    ok_json(box, "inbox", "inbox", cwd=builder)
    ok_json(box, "log", "log")
    ok_json(box, "status", "status")
    ok_json(box, "status", "status", "--architect", "payments")
    ok_json(box, "status-by-architect", "status", "--by-architect")
    ok_json(box, "issues-owned", "issues-owned")
    ok_json(box, "architect-list", "architect", "list")
    ok_json(box, "thread-list", "thread", "list", "--all")
    ok_json(box, "thread-show", "thread", "show", "alpha")
    ok_json(box, "thread-show", "thread", "show", "alpha", "--brief")
    ok_json(box, "thread-refresh", "thread", "refresh", "alpha", as_="main")
    ok_json(box, "context", "context", cwd=builder)
    ok_json(box, "sync", "sync")
    ok_json(box, "hooks-status", "hooks", "status")
    ok_json(box, "hooks-uninstall", "hooks", "uninstall")
    ok_json(box, "hooks-install", "hooks", "install")
    ok_json(box, "help", "help")
    ok_json(box, "help", "help", "thread")
    ok_json(box, "completion", "completion", "bash")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "consult").write_text(CONSULT)
    (bindir / "consult").chmod(0o755)
    path = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    ran = ok_json(
        box,
        "consult",
        "consult",
        "--",
        "-m",
        "x",
        cwd=builder,
        env=path,
        stderr="consult ran with -m x --project-id 1487\n",  # consult's own output
    )
    assert ran["issueNumber"] == 1487 and ran["exitCode"] == 0
    assert ran["argv"][-2:] == ["--project-id", "1487"]
    farm = tmp_path / "farm"
    farm.mkdir()
    db = sqlite3.connect(farm / "global.db")
    db.execute("create table builders (workspace_path, id, branch, spawned_by_architect)")
    db.commit()
    db.close()
    ok_json(box, "adopt-from-afx", "adopt", "--from-afx", env={"CODEV_AGENT_FARM_DIR": str(farm)})
    ok_json(box, "architect-remove", "architect", "remove", "architect-1", as_="main")
    archived = ok_json(box, "thread-archive", "thread", "archive", "alpha", "--force", as_="main")
    assert archived["commit"] == box.git("rev-parse", "HEAD").strip()


def test_failures_under_json_are_one_error_object(sandbox: Sandbox) -> None:
    box = sandbox
    (box.root / "codev").mkdir()
    box.ok("spawn", "1487", "--protocol", "spir", as_="main")
    box.ok("spawn", "1488", "--protocol", "spir", as_="main")
    # no identity: bad input, exit 2
    assert fails_json(box, 2, "whoami")["code"] == "no-identity"
    # an unknown architect: the known ones are the candidates
    error = fails_json(box, 2, "send", "architect:ghost", "x", as_="main")
    assert error["code"] == "unknown-architect" and error["candidates"] == ["main"]
    assert "git codev architect add ghost" in error["hint"]
    # an unknown builder, then an ambiguous tail: the builders it matches
    assert fails_json(box, 2, "send", "148", "x", as_="main")["code"] == "unknown-builder"
    box.ok("spawn", "148", "--protocol", "air", "--no-worktree", as_="main")
    box.ok("spawn", "0148", "-p", "bugfix", "--no-worktree", "--force", "--reason", "x", as_="main")
    error = fails_json(box, 2, "send", "0148", "x", as_="main")
    assert error["code"] == "ambiguous"
    assert error["candidates"] == ["builder-air-148", "builder-bugfix-148"]
    # click's own usage errors, and an unknown option
    assert fails_json(box, 2, "spawn", as_="main")["code"] == "bad-input"
    assert fails_json(box, 2, "status", "--bogus")["code"] == "bad-input"
    # operational failure: exit 1 (a lock nobody releases)
    lock = box.root / ".git" / "refs" / "codev" / "broadcast.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    assert fails_json(box, 1, "send", "broadcast", "x", as_="main")["code"] == "failed"
    lock.unlink()
    # one issue, one builder: spawn and adopt refuse a second live builder alike (exit 2)
    before = box.snapshot()
    box.git("branch", "builder/bugfix-1487")
    for args in (("spawn", "1487", "-p", "air"), ("adopt", "builder/bugfix-1487")):
        error = fails_json(box, 2, *args, as_="payments")
        assert error["code"] == "refused" and error["candidates"] == ["builder-spir-1487"]
        live = "issue 1487 already has a live builder: builder-spir-1487 of main"
        assert error["message"] == live
        assert "--force --reason TEXT" in error["hint"]
    box.git("branch", "-D", "builder/bugfix-1487")
    assert box.snapshot() == before
    assert fails_json(box, 2, "thread", "archive", "nope", as_="main")["message"]
    # ambiguity in context: several projects
    (box.root / "codev" / "projects" / "0042-a").mkdir(parents=True)
    (box.root / "codev" / "projects" / "43-b").mkdir()
    for cmd in ("context", "consult"):
        error = fails_json(box, 2, cmd, env={"CODEV_ARCHITECT_NAME": None})
        assert error["code"] == "ambiguous" and "1487" in error["candidates"]


def test_follow_json_lines_validate_and_stderr_is_json_too(sandbox: Sandbox) -> None:
    from tests.test_follow import read_lines, start_follower, stop

    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("send", "architect", "first", cwd=sandbox.builder_dir("spir-1487"))
    follower = start_follower(sandbox, "--json")
    lines = read_lines(follower, 2)
    code, rest, err = stop(follower)
    events = [json.loads(line) for line in [*lines, *rest.splitlines()] if line.strip()]
    assert code == 0 and [e["event"] for e in events] == ["ready", "message"]
    for event in events:
        valid("inbox-follow", event)
    for line in err.splitlines():  # notes under --json: JSON lines, never prose
        assert set(json.loads(line)) <= {"note", "warning"}
