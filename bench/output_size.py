"""Output size: bytes per message and per builder that an agent reads into its context window.

Builds one small repository (BUILDERS builders in a thread, MESSAGES messages to their
architect) and measures what `inbox --peek`, `status` and `thread show` print, as text and as
``--json`` (stdout is a pipe, as it is for an agent). ``BEFORE`` holds the same measurement
taken on the code before the JSON contract (commit 3355feb), so the report shows both; to
measure another tree run ``python bench/output_size.py --pythonpath /path/to/checkout``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

BUILDERS = 10
MESSAGES = 20

# measured with --pythonpath on commit 3355feb (indented JSON, author/channel on every message,
# afx names duplicated: name/running/heldCount, epoch times)
BEFORE: dict[str, float] = {
    "message text": 162.0,
    "message json": 463.0,
    "builder text": 89.0,
    "builder json": 700.0,
    "thread show json": 9859.0,
    "thread show --brief json": 9859.0,
}


def _run(cwd: Path, args: list[str], env: dict[str, str]) -> bytes:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def measure(root: Path, pythonpath: str | None = None, *, smoke: bool = False) -> dict[str, float]:
    """Bytes per message / per builder / per thread document, keyed as in :data:`BEFORE`
    (``smoke``: 2 builders and 3 messages, to check that it runs)."""
    builders, messages = (2, 3) if smoke else (BUILDERS, MESSAGES)
    env = {"CODEV_ARCHITECT_NAME": "main", "NO_COLOR": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    repo = root / "repo"
    repo.mkdir(parents=True)
    _run(repo, ["init", "-q", "-b", "main"], env)
    (repo / "codev").mkdir()
    (repo / "README").write_text("x\n")
    _run(repo, ["add", "README"], env)
    _run(repo, ["commit", "-q", "-m", "initial"], env)
    _run(repo, ["codev", "init"], env)
    _run(repo, ["codev", "thread", "new", "checkout", "--headline", "Rebuild checkout"], env)
    for n in range(builders):
        _run(repo, ["codev", "spawn", str(1000 + n), "-p", "spir", "--thread", "checkout"], env)
    for n in range(messages):
        builder = repo / ".builders" / f"spir-{1000 + n % builders}"
        text = f"step {n} done: tests green, ready for review of the next part"
        _run(builder, ["codev", "send", "architect", text], env)

    def size(*args: str) -> int:
        return len(_run(repo, ["codev", *args], env))

    return {
        "message text": size("inbox", "--peek") / messages,
        "message json": size("inbox", "--peek", "--json") / messages,
        "builder text": size("status") / builders,
        "builder json": size("status", "--json") / builders,
        "thread show json": float(size("thread", "show", "checkout", "--json")),
        "thread show --brief json": float(size("thread", "show", "checkout", "--brief", "--json")),
    }


def markdown(after: dict[str, float]) -> str:
    """The output-size section of the benchmark report."""
    lines = [
        "",
        f"### Output size ({MESSAGES} messages, {BUILDERS} builders; bytes on a pipe)",
        "",
        "| output | before | now | change |",
        "|---|---:|---:|---:|",
    ]
    for key, now in after.items():
        before = BEFORE.get(key)
        change = f"{(now - before) / before:+.0%}" if before else "-"
        shown = f"{before:.0f}" if before else "-"
        lines.append(f"| {key} | {shown} | {now:.0f} | {change} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    pythonpath = None
    if argv[:1] == ["--pythonpath"] and len(argv) > 1:
        pythonpath = argv[1]
    with tempfile.TemporaryDirectory(prefix="codev-output-size-") as tmp:
        print(markdown(measure(Path(tmp), pythonpath)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.env import seal

    seal(Path(tempfile.mkdtemp(prefix="codev-output-size-home-")))
    sys.exit(main(sys.argv[1:]))
