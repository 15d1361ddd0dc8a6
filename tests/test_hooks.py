"""The post-checkout hook, installed for real and fired by real `git checkout` / `worktree add`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from codev_git.store import Store
from codev_git.worktree.hook_install import install
from codev_git.worktree.tag import MARKER
from tests.helpers import Sandbox, git, run_inprocess, run_subprocess


def checkout(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real `git checkout` (or other command) whose exit code and stderr we inspect."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def thread_lines(worktree: Path) -> list[str]:
    return (worktree / ".thread").read_text().splitlines()


def hook_status(box: Sandbox) -> dict[str, object]:
    data: dict[str, object] = json.loads(box.ok("hooks", "status", "--json").out)
    return data


def start_thread(box: Sandbox, name: str) -> None:
    (box.root / "codev").mkdir(exist_ok=True)
    box.ok("thread", "new", name, as_="main")


FOREIGN = '#!/bin/sh\necho "foreign $*" >> "$(git rev-parse --git-common-dir)/foreign.log"\n'


def with_foreign_hook(tmp_path: Path, body: str = FOREIGN) -> tuple[Sandbox, Path]:
    """A repository with a foreign post-checkout hook, before `git codev init`."""
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "commit", "-q", "--allow-empty", "-m", "initial")
    hook = root / ".git" / "hooks" / "post-checkout"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(body)
    hook.chmod(0o755)
    return Sandbox(root), hook


# -- install ---------------------------------------------------------------------------------
def test_init_installs_the_hook_once_with_this_interpreter(sandbox: Sandbox) -> None:
    state = hook_status(sandbox)
    assert state["installed"] and state["current"] and state["interpreterFound"]
    assert state["interpreter"] == sys.executable and state["chained"] is None
    hook = sandbox.root / ".git" / "hooks" / "post-checkout"
    assert state["path"] == str(hook) and os.access(hook, os.X_OK)
    before = hook.read_text()
    assert sandbox.ok("init").out.strip() == "already initialised; nothing changed"
    assert "nothing changed" in sandbox.ok("hooks", "install").out
    assert hook.read_text() == before
    assert [p.name for p in hook.parent.glob("post-checkout*")] == ["post-checkout"]


def test_spawn_and_worktree_add_tag_linked_worktrees(sandbox: Sandbox) -> None:
    start_thread(sandbox, "alpha")
    sandbox.ok("spawn", "1487", "--protocol", "spir", "--thread", "alpha", as_="main")
    assert thread_lines(sandbox.builder_dir("spir-1487")) == [
        "alpha",
        "architect: main",
        "builder: builder-spir-1487",
        "branch: builder/spir-1487",
        MARKER,
    ]
    # a builder without a thread: empty first line; added with plain `git worktree add`
    sandbox.ok("spawn", "7", "--protocol", "bugfix", "--no-worktree", as_="payments")
    wt = sandbox.root.parent / "bugfix-wt"
    sandbox.git("worktree", "add", "-q", str(wt), "builder/bugfix-7")
    assert thread_lines(wt)[:3] == ["", "architect: payments", "builder: builder-bugfix-7"]
    # .thread is excluded from commits
    assert sandbox.git("status", "--porcelain", cwd=wt) == ""
    # leaving the branch in that linked worktree removes the file we wrote
    assert checkout(wt, "checkout", "-q", "-b", "scratch").returncode == 0
    assert not (wt / ".thread").exists()
    assert checkout(wt, "checkout", "-q", "builder/bugfix-7").returncode == 0
    assert (wt / ".thread").exists()


def test_checkout_in_main_worktree_writes_then_removes(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "5", "--protocol", "air", "--no-worktree", as_="main")
    done = checkout(sandbox.root, "checkout", "-q", "builder/air-5")
    assert done.returncode == 0 and done.stderr == ""
    assert thread_lines(sandbox.root)[1:3] == ["architect: main", "builder: builder-air-5"]
    # a file checkout (flag 0) leaves it alone
    (sandbox.root / "README").write_text("changed\n")
    assert checkout(sandbox.root, "checkout", "--", "README").returncode == 0
    assert (sandbox.root / ".thread").exists()
    assert checkout(sandbox.root, "checkout", "-q", "main").returncode == 0
    assert not (sandbox.root / ".thread").exists()


def test_a_hand_written_thread_file_is_never_replaced_or_removed(sandbox: Sandbox) -> None:
    start_thread(sandbox, "alpha")
    sandbox.ok("spawn", "5", "--protocol", "air", "--thread", "alpha", "--no-worktree", as_="main")
    mine = sandbox.root / ".thread"
    mine.write_text("beta\n")
    done = checkout(sandbox.root, "checkout", "-q", "builder/air-5")
    assert done.returncode == 0 and mine.read_text() == "beta\n"
    assert len(done.stderr.splitlines()) == 1 and "not written by git codev" in done.stderr
    assert checkout(sandbox.root, "checkout", "-q", "main").returncode == 0
    assert mine.read_text() == "beta\n"


def test_core_hooks_path_is_where_the_hook_goes(sandbox: Sandbox, tmp_path: Path) -> None:
    assert sandbox.ok("hooks", "uninstall").out.startswith("removed ")
    shared = tmp_path / "shared-hooks"
    sandbox.git("config", "core.hooksPath", str(shared))
    out = sandbox.ok("hooks", "install").out
    assert str(shared / "post-checkout") in out and "core.hooksPath" in out
    assert not (sandbox.root / ".git" / "hooks" / "post-checkout").exists()
    start_thread(sandbox, "alpha")
    sandbox.ok("spawn", "9", "--protocol", "spir", "--thread", "alpha", as_="main")
    assert thread_lines(sandbox.builder_dir("spir-9"))[0] == "alpha"
    state = hook_status(sandbox)
    assert state["source"] == "core.hooksPath" and state["installed"]


def test_foreign_hook_is_chained_both_run_and_uninstall_restores_it(tmp_path: Path) -> None:
    box, hook = with_foreign_hook(tmp_path)
    original = hook.read_text()
    out = box.ok("init").out
    chained = hook.with_name("post-checkout.codev-chained")
    assert f"kept the existing hook as {chained}" in out and chained.read_text() == original
    box.ok("spawn", "3", "--protocol", "spir", "--no-worktree", as_="main")
    done = checkout(box.root, "checkout", "-q", "builder/spir-3")
    assert done.returncode == 0 and done.stderr == ""
    log = box.root / ".git" / "foreign.log"
    assert log.read_text().split()[-1] == "1"  # the foreign hook ran, with git's arguments
    assert thread_lines(box.root)[2] == "builder: builder-spir-3"  # ...and so did ours
    # installing again keeps the chained hook as it is
    assert "nothing changed" in box.ok("hooks", "install").out
    assert chained.read_text() == original
    # uninstall: the foreign hook is back, byte for byte, and ours no longer runs
    assert box.ok("hooks", "uninstall").out.splitlines() == [
        f"removed {hook}",
        f"restored the earlier hook {hook}",
    ]
    assert hook.read_text() == original and not chained.exists() and os.access(hook, os.X_OK)
    assert checkout(box.root, "checkout", "-q", "main").returncode == 0
    assert (box.root / ".thread").exists()  # nobody removed it: our hook is gone
    assert len(log.read_text().splitlines()) == 2
    assert "nothing changed" in box.ok("hooks", "uninstall").out


def test_foreign_hook_keeps_its_own_exit_status(tmp_path: Path) -> None:
    box, _ = with_foreign_hook(tmp_path, "#!/bin/sh\nexit 3\n")
    box.ok("init")
    box.ok("spawn", "3", "--protocol", "spir", "--no-worktree", as_="main")
    done = checkout(box.root, "checkout", "-q", "builder/spir-3")
    assert done.returncode != 0  # as it would without git codev
    assert (box.root / ".thread").exists()  # our part still did its work


def test_install_refuses_to_clobber_two_foreign_hooks(sandbox: Sandbox) -> None:
    hooks = sandbox.root / ".git" / "hooks"
    sandbox.ok("hooks", "uninstall")
    (hooks / "post-checkout").write_text("#!/bin/sh\n")
    (hooks / "post-checkout.codev-chained").write_text("#!/bin/sh\n")
    status = sandbox.ok("hooks", "status").out
    assert "not installed (another hook is there" in status
    result = sandbox.run("hooks", "install")
    assert result.code == 1 and "merge the two hooks by hand" in result.err
    assert (hooks / "post-checkout").read_text() == "#!/bin/sh\n"


# -- never failing a checkout ----------------------------------------------------------------
def one_warning(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("git-codev: warning:"), done.stderr
    return lines[0]


def test_missing_interpreter_warns_once_and_checkout_succeeds(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "4", "--protocol", "spir", "--no-worktree", as_="main")
    install(Store.discover(sandbox.root), python=str(sandbox.root / "gone" / "python"))
    assert hook_status(sandbox)["interpreterFound"] is False
    assert "MISSING" in sandbox.ok("hooks", "status").out
    line = one_warning(checkout(sandbox.root, "checkout", "-q", "builder/spir-4"))
    assert "is missing" in line and "git codev hooks uninstall" in line
    assert sandbox.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "builder/spir-4"
    # worktree add too
    added = checkout(sandbox.root, "worktree", "add", "-q", "../wt", "main")
    assert "is missing" in one_warning(added)


def test_uninstalled_package_warns_once_and_checkout_succeeds(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # the interpreter is still there but no longer has git-codev (as after pip uninstall):
    # -S skips site-packages, where the package is installed
    python = tmp_path / "python-without-codev"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    install(Store.discover(sandbox.root), python=str(python))
    sandbox.ok("spawn", "4", "--protocol", "spir", "--no-worktree", as_="main")
    line = one_warning(checkout(sandbox.root, "checkout", "-q", "builder/spir-4"))
    assert "cannot be imported" in line and "ModuleNotFoundError" in line
    assert not (sandbox.root / ".thread").exists()


def test_anything_breaking_inside_the_hook_is_one_warning(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "4", "--protocol", "spir", "--no-worktree", as_="main")
    (sandbox.root / ".thread").mkdir()  # the hook cannot write its file
    line = one_warning(checkout(sandbox.root, "checkout", "-q", "builder/spir-4"))
    assert "left .thread as it was" in line and "the checkout itself is fine" in line


def test_hook_ignores_git_environment_of_the_caller(sandbox: Sandbox, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", "-b", "main", str(other))
    sandbox.ok("spawn", "4", "--protocol", "spir", "--no-worktree", as_="main")
    env = {**os.environ, "GIT_DIR": str(sandbox.root / ".git"), "GIT_WORK_TREE": str(sandbox.root)}
    done = subprocess.run(
        ["git", "checkout", "-q", "builder/spir-4"],
        cwd=other,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert thread_lines(sandbox.root)[2] == "builder: builder-spir-4"
    assert not (other / ".thread").exists()


# -- the commands as a user runs them ----------------------------------------------------------
def test_hooks_commands_through_the_real_entry_point(sandbox: Sandbox) -> None:
    gone = run_subprocess(sandbox.root, ["hooks", "uninstall"])
    assert gone.code == 0 and "removed" in gone.out
    state = json.loads(run_subprocess(sandbox.root, ["hooks", "status", "--json"]).out)
    assert state["installed"] is False and state["foreign"] is False
    again = run_subprocess(sandbox.root, ["hooks", "install"])
    assert again.code == 0 and "installed" in again.out
    assert json.loads(run_subprocess(sandbox.root, ["hooks", "status", "--json"]).out)["current"]


def test_hooks_outside_a_repository_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_inprocess(tmp_path, ["hooks", "install"])
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
