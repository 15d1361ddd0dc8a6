"""Agent runtime hooks, driven the way Claude Code / Gemini CLI drive them: the command from
the installed settings file, run by a shell, the runtime's JSON on stdin, one JSON answer."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import Sandbox

LIMIT = 10_000


class Runtime:
    """A stand-in for an agent runtime: reads the hooks it was configured with and runs them."""

    def __init__(self, box: Sandbox, settings: Path, env: dict[str, str]) -> None:
        self.box = box
        self.settings = json.loads(settings.read_text())
        self.env = env
        self.session = "0b5e2c7e-session"

    def commands(self, event: str) -> list[str]:
        return [
            hook["command"]
            for group in self.settings["hooks"].get(event, [])
            for hook in group["hooks"]
        ]

    def fire(self, event: str, cwd: Path | None = None, **fields: Any) -> dict[str, Any]:
        where = cwd or self.box.root
        payload = {
            "session_id": self.session,
            "transcript_path": "/tmp/transcript.jsonl",
            "cwd": str(where),
            "permission_mode": "default",
            "hook_event_name": event,
            **fields,
        }
        [command] = [
            c for c in self.commands(event) if c.startswith("git codev") and "--wait" not in c
        ]
        proc = subprocess.run(
            command,
            shell=True,
            cwd=where,
            input=json.dumps(payload).encode(),
            env={**os.environ, **self.env},
            capture_output=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        out = proc.stdout.decode()
        answer = json.loads(out)  # exactly one JSON document, nothing else on stdout
        assert isinstance(answer, dict)
        return answer


def claude(box: Sandbox, env: dict[str, str] | None = None) -> Runtime:
    box.ok("agent", "install", "claude", as_="main")
    return Runtime(
        box, box.root / ".claude" / "settings.json", env or {"CODEV_ARCHITECT_NAME": "main"}
    )


def unread(box: Sandbox) -> list[str]:
    out = json.loads(box.ok("inbox", "--peek", "--json", as_="main").out)
    return [m["message"] for m in out["messages"]]


def test_session_start_primes_and_prompts_get_what_arrived_since(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "spec ready for review", cwd=b)
    agent = claude(sandbox)

    started = agent.fire("SessionStart", source="startup")
    assert set(started) == {"hookSpecificOutput"}
    out = started["hookSpecificOutput"]
    assert out["hookEventName"] == "SessionStart"
    text = out["additionalContext"]
    assert "you are architect:main" in text
    assert "builder-spir-1487" in text and "spec ready for review" in text
    assert unread(sandbox) == []  # handed over, so read

    assert agent.fire("UserPromptSubmit", prompt="carry on") == {}
    sandbox.ok("send", "architect", "tests pass", cwd=b)
    after_tool = agent.fire(
        "PostToolUse",
        tool_name="Bash",
        tool_input={"command": "ls"},
        tool_response={"stdout": "", "stderr": "", "interrupted": False},
        tool_use_id="toolu_01",
    )
    assert after_tool["hookSpecificOutput"]["hookEventName"] == "PostToolUse"
    assert "tests pass" in after_tool["hookSpecificOutput"]["additionalContext"]
    assert unread(sandbox) == []


def test_context_limit_hands_over_what_fits_and_says_how_many_remain(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sent = [f"report {n}: " + "x" * 2000 for n in range(12)]
    for text in sent:
        sandbox.ok("send", "architect", text, cwd=b)
    agent = claude(sandbox)
    seen: list[str] = []
    rounds = 0
    while unread(sandbox):
        rounds += 1
        assert rounds < 10
        context = agent.fire("UserPromptSubmit", prompt="next")["hookSpecificOutput"][
            "additionalContext"
        ]
        assert len(context) <= LIMIT
        got = [text for text in sent if text in context]
        assert got, context[:300]
        seen += got
        left = len(unread(sandbox))
        if left:
            assert f"({left} more unread did not fit here" in context
    assert seen == sent  # each exactly once, in order
    assert rounds >= 3


def test_stop_blocks_once_while_a_message_asks_for_an_answer(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    agent = claude(sandbox)
    assert agent.fire("Stop", stop_hook_active=False) == {}
    sandbox.ok("send", "architect", "no answer needed", cwd=b)
    assert agent.fire("Stop", stop_hook_active=False) == {}  # nothing asks for an answer
    sent = json.loads(sandbox.ok("send", "architect", "may I merge?", "--ack", "--json", cwd=b).out)
    # the runtime is already continuing because of a stop hook: never block again
    assert agent.fire("Stop", stop_hook_active=True) == {}
    blocked = agent.fire("Stop", stop_hook_active=False)
    assert set(blocked) == {"decision", "reason"} and blocked["decision"] == "block"
    assert "may I merge?" in blocked["reason"] and sent["id"][:12] in blocked["reason"]
    assert "git codev reply" in blocked["reason"]
    assert unread(sandbox) == []
    assert agent.fire("Stop", stop_hook_active=True) == {}
    assert agent.fire("Stop", stop_hook_active=False) == {}  # handed over: no loop
    # still awaiting an answer: the architect's next session is told so
    assert (
        "awaiting YOUR answer"
        in agent.fire("SessionStart", source="compact")["hookSpecificOutput"]["additionalContext"]
    )


def test_gemini_events_and_answers(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("agent", "install", "gemini", as_="main")
    settings = sandbox.root / ".gemini" / "settings.json"
    agent = Runtime(sandbox, settings, {"CODEV_ARCHITECT_NAME": "main"})
    assert set(agent.settings["hooks"]) == {
        "SessionStart",
        "BeforeAgent",
        "AfterTool",
        "AfterAgent",
    }
    assert agent.settings["mcpServers"]["codev"] == {"command": "git", "args": ["codev", "mcp"]}
    sandbox.ok("send", "architect", "hello gemini", cwd=b)
    before = agent.fire("BeforeAgent", prompt="hi", timestamp="2026-11-25T10:00:00Z")
    assert before["hookSpecificOutput"]["hookEventName"] == "BeforeAgent"
    assert "hello gemini" in before["hookSpecificOutput"]["additionalContext"]
    sandbox.ok("send", "architect", "answer me", "--ack", cwd=b)
    denied = agent.fire("AfterAgent", prompt="hi", prompt_response="done", stop_hook_active=False)
    assert denied["decision"] == "deny" and "answer me" in denied["reason"]


def test_without_an_identity_hooks_stay_quiet_but_say_why(sandbox: Sandbox) -> None:
    agent = claude(sandbox, env={})
    env_free = {k: v for k, v in os.environ.items() if k != "CODEV_ARCHITECT_NAME"}
    agent.env = {}
    os_environ = os.environ.copy()
    try:
        os.environ.clear()
        os.environ.update(env_free)
        started = agent.fire("SessionStart", source="startup")
        assert "cannot tell who you are" in started["hookSpecificOutput"]["additionalContext"]
        assert agent.fire("UserPromptSubmit", prompt="hi") == {}
    finally:
        os.environ.clear()
        os.environ.update(os_environ)


def test_install_merges_is_idempotent_and_uninstall_removes_only_ours(sandbox: Sandbox) -> None:
    settings = sandbox.root / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine: dict[str, Any] = {
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {
            "PostToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "fmt"}]}]
        },
    }
    settings.write_text(json.dumps(mine))
    first = sandbox.ok("agent", "install", "claude", as_="main")
    assert "installed: hooks in" in first.out
    data = json.loads(settings.read_text())
    assert data["permissions"] == mine["permissions"]
    assert set(data["hooks"]) == {"SessionStart", "UserPromptSubmit", "PostToolUse", "Stop"}
    assert data["hooks"]["PostToolUse"][0] == mine["hooks"]["PostToolUse"][0]
    before = settings.read_bytes()
    again = sandbox.ok("agent", "install", "claude", as_="main")
    assert "already installed" in again.out and settings.read_bytes() == before
    mcp = json.loads((sandbox.root / ".mcp.json").read_text())
    assert mcp["mcpServers"]["codev"] == {"command": "git", "args": ["codev", "mcp"]}
    status = json.loads(sandbox.ok("agent", "status", "--json", as_="main").out)
    [row] = [r for r in status["runtimes"] if r["runtime"] == "claude" and r["scope"] == "project"]
    assert row["events"] == ["PostToolUse", "SessionStart", "Stop", "UserPromptSubmit"]
    assert row["mcp"] is True
    sandbox.ok("agent", "uninstall", "claude")
    assert json.loads(settings.read_text()) == mine
    assert "codev" not in json.loads((sandbox.root / ".mcp.json").read_text()).get("mcpServers", {})
    local = sandbox.ok("agent", "install", "claude", "--scope", "local", "--no-mcp", as_="main")
    assert ".claude/settings.local.json" in local.out
    assert "settings.local.json" not in sandbox.git("status", "--porcelain", "--untracked=all")
    bad = sandbox.run("agent", "install", "codex", "--scope", "local")
    assert bad.code == 2 and "no 'local' scope" in bad.err


def test_prime_marks_read_only_after_writing_and_peek_leaves_them(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "first news", cwd=b)
    peeked = json.loads(sandbox.ok("prime", "--peek", "--json", as_="main").out)
    assert peeked["unread"] == 1 and peeked["markedRead"] == 0
    assert peeked["identity"]["address"] == "architect:main"
    assert [x["id"] for x in peeked["builders"]] == ["builder-spir-1487"]
    assert [m["message"] for m in peeked["messages"]] == ["first news"]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            ["git", "codev", "prime"],
            cwd=sandbox.root,
            env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert proc.returncode == 1 and b"nothing was marked read" in proc.stderr
    assert unread(sandbox) == ["first news"]
    text = sandbox.ok("prime", as_="main").out
    assert "role: architect main" in text and "first news" in text
    assert unread(sandbox) == []
    builder = sandbox.ok("prime", cwd=b).out
    assert "you are builder-spir-1487" in builder and "working for architect main" in builder


def test_a_running_follower_delivers_and_hooks_hand_nothing_twice(sandbox: Sandbox) -> None:
    from tests.test_follow import read_lines, start_follower, stop

    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    agent = claude(sandbox)
    follower = start_follower(sandbox, "--json")
    try:
        assert json.loads(read_lines(follower, 1)[0])["event"] == "ready"
        sandbox.ok("send", "architect", "for the follower", cwd=b)
        assert json.loads(read_lines(follower, 1)[0])["message"] == "for the follower"
        sandbox.ok("send", "architect", "second", cwd=b)
        # the hook does not wait for the follower's lease, and hands nothing over itself
        assert agent.fire("UserPromptSubmit", prompt="hi") == {}
        started = agent.fire("SessionStart", source="resume")
        assert "delivered by inbox --follow" in started["hookSpecificOutput"]["additionalContext"]
        assert json.loads(read_lines(follower, 1)[0])["message"] == "second"
    finally:
        stop(follower)


def test_the_waiting_hook_wakes_an_idle_session_once_per_message(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    agent = claude(sandbox)
    [waiter] = [
        h for g in agent.settings["hooks"]["Stop"] for h in g["hooks"] if "--wait" in h["command"]
    ]
    assert waiter["asyncRewake"] is True
    payload = json.dumps(
        {
            "session_id": "s",
            "cwd": str(sandbox.root),
            "hook_event_name": "Stop",
            "stop_hook_active": False,
        }
    ).encode()

    def arm() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            waiter["command"],
            shell=True,
            cwd=sandbox.root,
            env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdin is not None
        proc.stdin.write(payload)
        proc.stdin.close()
        return proc

    first, second = arm(), arm()
    try:
        # only one waiter stays armed: the other exits 0 at once, saying nothing
        done = None
        while done is None:
            done = next((p for p in (first, second) if p.poll() is not None), None)
        armed = second if done is first else first
        assert done.wait() == 0 and done.stdout is not None and done.stdout.read() == b""
        sandbox.ok("send", "architect", "wake up, tests are red", cwd=b)
        assert armed.wait(timeout=60) == 2
        assert armed.stderr is not None
        woke = armed.stderr.read().decode()
        assert "wake up, tests are red" in woke and "arrived while you were idle" in woke
        assert unread(sandbox) == []
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_hook_with_nothing_unread_answers_at_once_and_else_the_full_hook_reads_its_input(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Prompt and tool-use hooks run all the time: with nothing unread the answer is {}
    without click or pygit2 (as the full hook answers); with something unread, the full
    hook gets the runtime's JSON intact (here the payload's cwd names the repository)."""
    import sys

    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("inbox", as_="main")
    payload = json.dumps({"cwd": str(sandbox.root), "hook_event_name": "PostToolUse"})
    env = {**os.environ, "CODEV_ARCHITECT_NAME": "main"}
    probe = (
        "import sys; from codev_git.fastpath import attempt; "
        "code = attempt(sys.argv[1:]); "
        "print(code, 'click' in sys.modules, 'pygit2' in sys.modules)"
    )

    def hook(*args: str, fast: bool = True) -> str:
        done = subprocess.run(
            ["git-codev", "agent", "hook", *args],
            cwd=tmp_path,  # not a repository: only the payload's cwd leads there
            input=payload.encode(),
            env=env if fast else {**env, "CODEV_NO_FAST_PATH": "1"},
            capture_output=True,
            check=True,
        )
        return done.stdout.decode()

    def fast_only(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, "agent", "hook", *args],
            cwd=tmp_path,
            input=payload.encode(),
            env=env,
            capture_output=True,
            check=True,
        )
        return done.stdout.decode().splitlines()[-1]

    for args in (["PostToolUse"], ["--runtime", "gemini", "AfterTool"], ["Stop"]):
        assert hook(*args) == hook(*args, fast=False) == "{}\n"
        assert fast_only(*args) == "0 False False"
    assert fast_only("SessionStart") == "None False False"  # prime: the full hook
    assert fast_only("PostToolUse", "--wait") == "None False False"

    sandbox.ok("send", "architect", "arrived", cwd=sandbox.builder_dir("spir-1487"))
    assert fast_only("PostToolUse") == "None False False"
    told = json.loads(hook("PostToolUse"))["hookSpecificOutput"]["additionalContext"]
    assert "arrived" in told and unread(sandbox) == []
