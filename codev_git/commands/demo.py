"""``git codev demo``: play the sibling-architect story in a scratch repository."""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click

from codev_git.commands.common import json_option
from codev_git.errors import OperationalError
from codev_git.layout import SHARED_PREFIXES
from codev_git.messaging.render import style
from codev_git.store.porcelain import capture_program, run_git


@dataclass(frozen=True)
class Step:
    say: str
    args: list[str]
    architect: str | None = None
    where: str = "."  # relative to the repository root
    env: dict[str, str] = field(default_factory=dict)
    git: bool = False  # a plain git command rather than git codev
    stdin: str = ""  # piped in (shown as echo '...' |)


def story() -> list[Step]:
    spir1487, spir1481 = ".builders/spir-1487", ".builders/spir-1481"
    return [
        Step("Configure the repository once (no identity needed)", ["init"]),
        Step(
            "Architect 'payments' starts an initiative (a thread file on main)",
            ["thread", "new", "checkout-v2", "--headline", "Rebuild checkout"],
            "payments",
        ),
        Step("Architect 'main' spawns a builder", ["spawn", "1487", "--protocol", "spir"], "main"),
        Step(
            "Architect 'payments' spawns two builders into its thread",
            ["spawn", "1481", "--protocol", "spir", "--thread", "checkout-v2"],
            "payments",
        ),
        Step("", ["spawn", "1482", "--protocol", "bugfix", "--thread", "checkout-v2"], "payments"),
        Step(
            "Inside a builder's worktree you are that builder, whatever the terminal says",
            ["whoami"],
            "payments",
            spir1487,
        ),
        Step(
            "Builder 1487 reports to its architect",
            ["send", "architect", "spec ready"],
            None,
            spir1487,
        ),
        Step(
            "Builder 1481 reports to its architect",
            ["send", "architect", "plan approved?"],
            None,
            spir1481,
        ),
        Step(
            "A builder may not write to a sibling architect (refused, exit 2)",
            ["send", "architect:payments", "psst"],
            None,
            spir1487,
        ),
        Step(
            "An architect nobody registered is no address (refused, exit 2: no stray inbox)",
            ["send", "architect:ghost", "hello?"],
            "main",
        ),
        Step("The architects of this repository", ["architect", "list"]),
        Step("'main' sees only its own builder's message", ["inbox"], "main"),
        Step("'payments' sees only its own", ["inbox"], "payments"),
        Step("'payments' answers its builder", ["send", "1481", "yes, go ahead"], "payments"),
        Step("The builder reads the instruction", ["inbox"], None, spir1481),
        Step("Status, filtered to one architect", ["status", "--architect", "payments"]),
        Step(
            "One issue, one builder: a second builder for 1487 is refused, naming the first",
            ["spawn", "1487", "--protocol", "bugfix"],
            "payments",
        ),
        Step(
            "The board: threads, builders, unread, answers owed, by architect",
            ["status", "--by-architect"],
        ),
        Step("Which architect owns which issue", ["issues-owned"]),
        Step(
            "What a sibling's thread stands at, read-only, from any architect",
            ["thread", "show", "checkout-v2", "--brief"],
            "main",
        ),
        Step(
            "'payments' writes its live roster into the thread file",
            ["thread", "refresh", "checkout-v2"],
            "payments",
        ),
        Step("Every architect's threads", ["thread", "list"]),
        Step(
            "A sibling may not archive it (refused, exit 2)",
            ["thread", "archive", "checkout-v2"],
            "main",
        ),
        Step(
            "The owner archives it; its builders are still open, hence --force",
            ["thread", "archive", "checkout-v2", "--force"],
            "payments",
        ),
        Step(
            "The file's history follows the move",
            ["log", "--follow", "--oneline", "--", "codev/archive/checkout-v2-thread.md"],
            git=True,
        ),
        Step("What this directory belongs to", ["context"], None, spir1481),
        Step(
            "Across machines: publish to a remote every architect can reach",
            ["init", "-q", "--bare", "-b", "main", "../remote.git"],
            git=True,
        ),
        Step("", ["remote", "add", "origin", "../remote.git"], git=True),
        Step("", ["push", "-q", "origin", "main", "refs/heads/builder/*"], git=True),
        Step("A plain push carries no codev refs; sync does", ["sync"], "main"),
        Step(
            "A second machine clones the repository",
            ["clone", "-q", "remote.git", "laptop"],
            git=True,
            where="..",
        ),
        Step("", ["init"], None, "../laptop"),
        Step("It takes in ownership and messages", ["sync"], "payments", "../laptop"),
        Step(
            "'payments' on the laptop sees the builders spawned on the first machine",
            ["status", "--architect", "payments"],
            "payments",
            "../laptop",
        ),
        Step(
            "'payments' writes to 'main' from the laptop and publishes it",
            ["send", "architect:main", "checkout-v2 ships tomorrow", "--push"],
            "payments",
            "../laptop",
        ),
        Step(
            "'main', on the first machine, fetches its inbox and reads it",
            ["inbox", "--fetch"],
            "main",
        ),
        *delivery_steps(spir1487),
        Step(
            "Everything lives in git refs",
            ["for-each-ref", *(p.rstrip("/") for p in SHARED_PREFIXES)],
            git=True,
        ),
    ]


def delivery_steps(builder: str) -> list[Step]:
    """'main' receives its builder's messages through prime and a hook, never running inbox."""
    prompt = '{"hook_event_name":"UserPromptSubmit","prompt":"carry on","session_id":"demo"}'
    return [
        Step(
            "Messages reach the running agent: 'main' installs Claude Code hooks and MCP server",
            ["agent", "install", "claude"],
            "main",
        ),
        Step("Builder 1487 reports again", ["send", "architect", "spec v2 ready"], None, builder),
        Step(
            "A new agent session (or one after compaction) starts with prime: "
            "who, role, builders, and the message itself",
            ["prime"],
            "main",
        ),
        Step(
            "The builder asks for an answer",
            ["send", "architect", "may I merge?", "--ack", "--urgent"],
            None,
            builder,
        ),
        Step(
            "At the next prompt Claude Code runs the hook; the message arrives as context",
            ["agent", "hook", "UserPromptSubmit"],
            "main",
            stdin=prompt,
        ),
        Step("The builder sees its question awaiting an answer", ["status"], None, builder),
    ]


def _codev_argv() -> list[str]:
    if shutil.which("git-codev"):
        return ["git", "codev"]
    return [sys.executable, "-m", "codev_git"]


def _git(cwd: Path, *args: str) -> None:
    run_git(cwd, *args, what=f"git {args[0]}")


def make_scratch(base: Path | None) -> Path:
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix="codev-demo-", dir=base))
    root = parent / "shop"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.name", "Demo Architect")
    _git(root, "config", "user.email", "demo@example.invalid")
    (root / "README.md").write_text("# shop\n")
    (root / "codev").mkdir()
    (root / "codev" / "README.md").write_text("Codev state lives here.\n")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "initial commit")
    return root


def play(root: Path, steps: list[Step], ran: list[dict[str, object]] | None = None) -> int:
    """Run the story; ``ran`` (for --json) collects each step instead of printing it."""
    failures = 0
    say = click.echo if ran is None else (lambda text: None)
    codev = _codev_argv()
    available = _available_commands()
    for step in steps:
        if not step.git and step.args[0] not in available:
            continue
        argv = ["git", *step.args] if step.git else [*codev, *step.args]
        env = {"CODEV_ARCHITECT_NAME": "", **step.env}  # blank: no identity unless the step says
        prefix = ""
        if step.architect:
            env["CODEV_ARCHITECT_NAME"] = step.architect
            prefix = f"CODEV_ARCHITECT_NAME={step.architect} "
        if step.say:
            say(style(f"\n# {step.say}", "cyan"))
        where = f"(cd {step.where} && " if step.where != "." else ""
        shown = "git " + shlex.join(step.args) if step.git else "git codev " + shlex.join(step.args)
        if step.stdin:
            shown = f"echo {shlex.quote(step.stdin)} | {prefix}{shown}"
            prefix = ""
        say(style(f"$ {where}{prefix}{shown}{')' if where else ''}", "bold"))
        proc = capture_program(argv, root / step.where, env=env, stdin=step.stdin.encode())
        text = (proc.out + proc.err).rstrip()
        if text:
            say(text)
        expected_failure = "refused" in step.say
        ok = (proc.code != 0) == expected_failure
        if not ok:
            failures += 1
            say(style(f"(exit {proc.code})", "red"))
        if ran is not None:
            ran.append(
                {
                    "command": f"{where}{prefix}{shown}{')' if where else ''}",
                    "exitCode": proc.code,
                    "asExpected": ok,
                }
            )
    return failures


def _available_commands() -> set[str]:
    from codev_git.cli import cli

    ctx = click.Context(cli)
    return set(cli.list_commands(ctx))


@click.command("demo")
@click.option(
    "--dir",
    "base",
    type=click.Path(file_okay=False, path_type=Path),
    help="Create the scratch repository under this directory (default: temp).",
)
@click.option("--web", is_flag=True, help="Then serve the supervisor's page until Ctrl-C.")
@json_option
def demo_cmd(base: Path | None, web: bool, as_json: bool) -> None:
    """Play the sibling-architect story in a scratch repository and leave it to explore.

    Two architects share one clone; each spawns builders; every builder's message reaches
    only the architect that spawned it. Last, the supervisor's page of the repository is
    served once (with --web, until Ctrl-C). --json: the steps and their exit codes, no
    transcript and no page.

    \b
    Examples:
      git codev demo
      git codev demo --web
    """
    root = make_scratch(base)
    if as_json:
        from codev_git.messaging.render import dump_json

        ran: list[dict[str, object]] = []
        failures = play(root, story(), ran)
        dump_json({"repository": str(root), "steps": ran, "failures": failures})
        if failures:
            raise OperationalError(f"the demo had {failures} unexpected result(s)")
        return
    click.echo(f"scratch repository: {root}")
    failures = play(root, story())
    if "web" in _available_commands() and not show_page(root, _codev_argv(), keep=web):
        failures += 1
    click.echo(style(f"\nDone. Explore it: cd {root} && git codev status", "green"))
    if failures:
        raise OperationalError(f"the demo had {failures} unexpected result(s); see above")


def show_page(root: Path, codev: list[str], *, keep: bool) -> bool:
    """The supervisor's page of the demo repository: with ``keep`` served until Ctrl-C,
    else started, every view loaded once, and stopped. False when it did not serve."""
    from codev_git.store.porcelain import capture_program, run_program

    say = "\n# The supervisor's page: every architect, builder and message, live"
    click.echo(style(say, "cyan"))
    if keep:
        click.echo(style("$ git codev web    (Ctrl-C stops it)", "bold"))
        try:
            return run_program([*codev, "web"], root) == 0
        except KeyboardInterrupt:  # the server had the same Ctrl-C and stopped
            return True
    click.echo(style("$ git codev web --port 0 --check", "bold"))
    outcome = capture_program([*codev, "web", "--port", "0", "--check"], root)
    click.echo((outcome.out + outcome.err).rstrip())
    click.echo(f"keep it running: git codev demo --web, or cd {root} && git codev web")
    return outcome.code == 0
