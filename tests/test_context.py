"""`git codev context` and thread-aware `consult`, with a real stand-in consult on PATH."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Result, Sandbox, run_subprocess

STAND_IN = """#!/bin/sh
# records how it was called: working directory, then one argument per line
{ pwd; for arg in "$@"; do printf '%s\\n' "$arg"; done; } > "$CONSULT_LOG"
exit 7
"""


@pytest.fixture
def consult_bin(tmp_path: Path) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "consult"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    return bindir


def new_thread(box: Sandbox, name: str, architect: str) -> None:
    (box.root / "codev").mkdir(exist_ok=True)  # as in a Codev project
    box.ok("thread", "new", name, as_=architect)


def two_architects(box: Sandbox) -> None:
    """main runs thread alpha with project 1487; payments runs beta with project 1481."""
    new_thread(box, "alpha", "main")
    new_thread(box, "beta", "payments")
    box.ok("spawn", "1487", "--protocol", "spir", "--thread", "alpha", as_="main")
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", "beta", as_="payments")


def consult(
    box: Sandbox, bindir: Path, *args: str, cwd: Path | None = None, as_: str | None = None
) -> tuple[Result, list[str]]:
    """Run `git codev consult ARGS`; returns the result and what the stand-in recorded."""
    log = bindir / "consult.log"
    log.unlink(missing_ok=True)
    env: dict[str, str | None] = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "CONSULT_LOG": str(log),
    }
    result = box.run("consult", *args, cwd=cwd, as_=as_, env=env)
    return result, (log.read_text().splitlines() if log.exists() else [])


def context(
    box: Sandbox, *args: str, cwd: Path | None = None, as_: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(box.ok("context", "--json", *args, cwd=cwd, as_=as_).out)
    return data


# -- the must-show: two architects in one workspace ---------------------------------------------
def test_plain_consult_is_ambiguous_between_two_architects(
    sandbox: Sandbox, consult_bin: Path
) -> None:
    two_architects(sandbox)
    result, called = consult(sandbox, consult_bin, "--", "-m", "gemini")
    assert result.code == 2 and called == []
    line = result.err.strip()
    assert len(line.splitlines()) == 1
    assert "1487 (builder-spir-1487, architect main, thread alpha)" in line
    assert "1481 (builder-spir-1481, architect payments, thread beta)" in line
    assert "--thread" in line


def test_thread_flag_picks_the_project_and_its_worktree(
    sandbox: Sandbox, consult_bin: Path
) -> None:
    two_architects(sandbox)
    result, called = consult(sandbox, consult_bin, "--thread", "beta", "--", "-m", "gemini")
    assert result.code == 7  # consult's own exit code
    assert called == [str(sandbox.builder_dir("spir-1481")), "-m", "gemini", "--project-id", "1481"]
    assert "project 1481" in result.err


def test_thread_file_picks_the_project(sandbox: Sandbox, consult_bin: Path) -> None:
    two_architects(sandbox)
    (sandbox.root / ".thread").write_text("alpha\n")
    result, called = consult(sandbox, consult_bin, "--type", "spec")
    assert result.code == 7
    assert called == [
        str(sandbox.builder_dir("spir-1487")),
        "--type",
        "spec",
        "--project-id",
        "1487",
    ]
    # --thread still wins over .thread
    _, called = consult(sandbox, consult_bin, "--thread", "beta")
    assert called[-1] == "1481"


def test_builder_worktree_uses_the_hook_written_thread_file(
    sandbox: Sandbox, consult_bin: Path
) -> None:
    two_architects(sandbox)
    here = sandbox.builder_dir("spir-1481")
    assert (here / ".thread").read_text().startswith("beta\n")
    result, called = consult(sandbox, consult_bin, cwd=here)
    assert result.code == 7 and called == [str(here), "--project-id", "1481"]
    data = context(sandbox, cwd=here)
    assert data["builder"] == "builder-spir-1481"
    assert "written by the post-checkout hook" in data["sources"]["thread"]
    # without the file (hook not installed), the branch's ownership record says the same
    (here / ".thread").unlink()
    data = context(sandbox, cwd=here)
    assert data["thread"] == "beta"
    assert data["sources"]["thread"] == "the ownership record of branch builder/spir-1481"


def test_architect_identity_picks_its_only_thread(sandbox: Sandbox, consult_bin: Path) -> None:
    two_architects(sandbox)
    _, called = consult(sandbox, consult_bin, as_="payments")
    assert called[-2:] == ["--project-id", "1481"]
    data = context(sandbox, as_="main")
    assert data["thread"] == "alpha"
    assert "the only active thread of architect main" in data["sources"]["thread"]
    assert data["issueNumber"] == 1487
    # a second thread makes it ambiguous: both listed, and the flag to use
    new_thread(sandbox, "gamma", "main")
    result = sandbox.run("context", as_="main")
    assert result.code == 2 and "(alpha, gamma)" in result.err and "--thread" in result.err


def test_a_thread_with_two_live_builders_is_ambiguous(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    sandbox.ok("spawn", "1500", "--protocol", "spir", "--thread", "alpha", as_="main")
    result = sandbox.run("context", "--thread", "alpha")
    assert result.code == 2
    assert "1487 (builder-spir-1487" in result.err and "1500 (builder-spir-1500" in result.err
    # the builder's own worktree is not ambiguous
    data = context(sandbox, "--thread", "alpha", cwd=sandbox.builder_dir("spir-1500"))
    assert data["issueNumber"] == 1500


def test_merged_builders_are_not_live(sandbox: Sandbox, consult_bin: Path) -> None:
    two_architects(sandbox)
    wt = sandbox.builder_dir("spir-1481")
    (wt / "work.txt").write_text("done\n")
    sandbox.git("add", "work.txt", cwd=wt)
    sandbox.git("commit", "-q", "-m", "work", cwd=wt)
    sandbox.git("merge", "-q", "--ff-only", "builder/spir-1481")
    _, called = consult(sandbox, consult_bin)
    assert called[-1] == "1487"


# -- context output ----------------------------------------------------------------------------
def test_context_json_says_how_each_value_was_found(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    porch = sandbox.builder_dir("spir-1481") / "codev" / "projects" / "1481-refunds"
    porch.mkdir(parents=True)
    (porch / "status.yaml").write_text("id: 1481\n")
    data = context(sandbox, "--thread", "beta")
    assert data["thread"] == "beta"
    assert data["sources"]["thread"] == "--thread on the command line"
    assert data["architect"] == "payments"
    assert data["sources"]["architect"] == "the ownership record of builder builder-spir-1481"
    assert data["builder"] == "builder-spir-1481"
    assert data["issueNumber"] == 1481 and data["projectDir"] == str(porch)
    assert data["worktree"] == str(sandbox.builder_dir("spir-1481"))
    text = sandbox.ok("context", "--thread", "beta").out
    assert "thread:    beta  (--thread on the command line)" in text


def test_context_with_nothing_to_go_on(sandbox: Sandbox) -> None:
    data = context(sandbox)
    assert data["architect"] is None and data["issueNumber"] is None
    assert data["sources"]["issueNumber"] == "no live builder and no porch project here"


def test_only_porch_project_is_used_like_consult_does(sandbox: Sandbox) -> None:
    (sandbox.root / "codev" / "projects" / "0042-search").mkdir(parents=True)
    assert context(sandbox)["issueNumber"] == 42
    (sandbox.root / "codev" / "projects" / "43-other").mkdir()
    result = sandbox.run("context")
    assert result.code == 2 and "0042-search, 43-other" in result.err


def test_unknown_or_invalid_threads_are_refused(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    unknown = sandbox.run("context", "--thread", "nope")
    assert unknown.code == 2 and "known threads: alpha, beta" in unknown.err
    assert sandbox.run("context", "--thread", "../x").code == 2
    (sandbox.root / ".thread").write_text("Not A Name\n")
    bad = sandbox.run("context")
    assert bad.code == 2 and "fix or remove the file" in bad.err
    (sandbox.root / ".thread").write_text("alpha\narchitect: Bad Name\n")
    bad = sandbox.run("context")
    assert bad.code == 2 and "invalid architect name" in bad.err


# -- consult plumbing --------------------------------------------------------------------------
def test_consult_missing_command_is_exit_1(sandbox: Sandbox, consult_bin: Path) -> None:
    two_architects(sandbox)
    sandbox.git("config", "codev.consultCommand", "no-such-consult --fast")
    result, called = consult(sandbox, consult_bin, "--thread", "alpha")
    assert result.code == 1 and called == []
    assert "'no-such-consult' was not found on PATH" in result.err
    assert "codev.consultCommand" in result.err and len(result.err.strip().splitlines()) == 1
    sandbox.git("config", "codev.consultCommand", "true")  # a consult that succeeds: exit 0
    assert consult(sandbox, consult_bin, "--thread", "alpha")[0].code == 0


def test_consult_command_from_config_and_explicit_project_id(
    sandbox: Sandbox, consult_bin: Path
) -> None:
    two_architects(sandbox)
    sandbox.git("config", "codev.consultCommand", "consult general")
    _, called = consult(sandbox, consult_bin, "--thread", "alpha", "--", "-m", "x", "--", "pos")
    assert called[1:] == ["general", "-m", "x", "--project-id", "1487", "--", "pos"]
    # --project-id in ARGS: nothing to resolve, so no ambiguity, run here as given
    result, called = consult(sandbox, consult_bin, "--project-id", "99")
    assert result.code == 7 and called == [str(sandbox.root), "general", "--project-id", "99"]


def test_consult_through_the_real_entry_point(sandbox: Sandbox, consult_bin: Path) -> None:
    two_architects(sandbox)
    log = consult_bin / "consult.log"
    env = {"PATH": f"{consult_bin}{os.pathsep}{os.environ['PATH']}", "CONSULT_LOG": str(log)}
    result = run_subprocess(sandbox.root, ["consult", "--thread", "alpha", "--", "-m", "g"], env)
    assert result.code == 7
    assert log.read_text().splitlines()[1:] == ["-m", "g", "--project-id", "1487"]
    plain = run_subprocess(sandbox.root, ["consult"], env)
    assert plain.code == 2 and "--thread" in plain.err


def test_consult_refusals_list_each_project_once_and_never_ask_for_what_was_given(
    sandbox: Sandbox, consult_bin: Path
) -> None:
    two_architects(sandbox)
    for protocol in ("bugfix", "air"):  # two more builders for issue 1487
        sandbox.ok("spawn", "1487", "-p", protocol, "--force", "--no-worktree", as_="main")
    result = sandbox.run("consult", "--json", env={"CODEV_ARCHITECT_NAME": None})
    error = json.loads(result.out)["error"]
    assert error["code"] == "ambiguous"
    assert sorted(error["candidates"]) == ["1481", "1487"]  # each project once
    new_thread(sandbox, "gamma", "main")  # a thread with no builder yet
    empty, called = consult(sandbox, consult_bin, "--thread", "gamma", "--", "-m", "x")
    assert empty.code == 2 and called == [] and "gamma" in empty.err
    assert "pass --thread" not in empty.err, empty.err  # it was passed


def test_an_unreadable_thread_file_is_bad_input_not_a_crash(
    sandbox: Sandbox, consult_bin: Path
) -> None:
    """A hand-made .thread that cannot be read (here a symlink to itself) is named, exit 2."""
    two_architects(sandbox)
    here = sandbox.builder_dir("spir-1481")
    (here / ".thread").unlink()
    os.symlink(".thread", here / ".thread")
    for result in (
        sandbox.run("context", cwd=here),
        sandbox.run("context", "--json", cwd=here),
        consult(sandbox, consult_bin, cwd=here)[0],
    ):
        assert result.code == 2, result.err + result.out
        said = result.err + result.out
        assert "internal" not in said and "cannot read" in said and ".thread" in said
    assert json.loads(sandbox.run("context", "--json", cwd=here).out)["error"]["code"] != "internal"
    data = context(sandbox, "--thread", "beta", cwd=here)  # the flag wins over the file
    assert data["thread"] == "beta"


def test_a_thread_file_naming_an_invalid_builder_is_refused_not_echoed(sandbox: Sandbox) -> None:
    """.thread can arrive from elsewhere (committed with -f on a branch): its builder line is
    checked like its thread and architect lines, never printed as it is."""
    new_thread(sandbox, "gamma", "main")
    (sandbox.root / ".thread").write_text("gamma\nbuilder: x\x1b]0;owned\x07\n")
    for args in (("context",), ("context", "--json")):
        result = sandbox.run(*args)
        assert result.code == 2, result.out + result.err
        said = result.out + result.err
        assert "\x1b" not in said and "\x07" not in said and "invalid builder" in said


def test_a_thread_file_that_never_ends_is_read_only_so_far(sandbox: Sandbox) -> None:
    """A .thread committed elsewhere as a symlink to /dev/zero: the hook on checkout and
    context read a bounded prefix (memory is capped here so the old behaviour fails fast)."""
    import resource
    import subprocess

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    sandbox.git("checkout", "-q", "-b", "elsewhere")
    os.symlink("/dev/zero", sandbox.root / ".thread")
    sandbox.git("add", "-f", ".thread")
    sandbox.git("commit", "-q", "-m", "a .thread that never ends")
    sandbox.git("checkout", "-q", "-")
    env = {**os.environ, "CODEV_ARCHITECT_NAME": "main"}
    checkout = subprocess.run(
        ["git", "checkout", "-q", "elsewhere"],
        cwd=sandbox.root,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=cap,
    )
    assert checkout.returncode == 0 and "MemoryError" not in checkout.stderr, checkout.stderr
    context = subprocess.run(
        ["git", "codev", "context"],
        cwd=sandbox.root,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=cap,
    )
    assert context.returncode == 2, context.stderr
    assert "invalid thread" in context.stderr and "internal" not in context.stderr


def test_a_porch_status_file_that_never_ends_is_read_only_so_far(sandbox: Sandbox) -> None:
    """codev/projects/<id>-<slug>/status.yaml committed as a symlink to /dev/zero: status
    reads a bounded prefix (memory is capped here so reading it whole fails fast)."""
    import resource
    import subprocess

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    sandbox.ok("spawn", "1481", "--protocol", "spir", "--no-worktree", as_="main")
    project = sandbox.root / "codev" / "projects" / "1481-checkout"
    project.mkdir(parents=True)
    os.symlink("/dev/zero", project / "status.yaml")
    proc = subprocess.run(
        ["git", "codev", "status", "--json"],
        cwd=sandbox.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        capture_output=True,
        text=True,
        preexec_fn=cap,
    )
    assert proc.returncode == 0, proc.stderr
    assert "builder-spir-1481" in proc.stdout
