"""Ahead/behind for many branches in one walk agrees with `git rev-list --left-right --count`
for each branch: merges, criss-cross histories, shallow clones, unrelated histories; whether
the walk is read in-process (a small history) or by git (a larger one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codev_git.errors import OperationalError
from codev_git.store import Store
from codev_git.store.graph import SMALL_WALK
from tests.helpers import Sandbox, git


@pytest.fixture(params=[SMALL_WALK, 0], ids=["in-process", "git"])
def small_walk(request: pytest.FixtureRequest) -> int:
    """How many commits may be read in-process: every test runs with both walks (0 hands
    every walk to git at once)."""
    limit: int = request.param
    return limit


def commit(root: Path, name: str, *parents: str) -> str:
    """A commit on no branch, with a file of its own, whose parents are ``parents``."""
    (root / f"{name}.txt").write_text(name + "\n")
    git(root, "add", f"{name}.txt")
    tree = git(root, "write-tree").strip()
    args = ["commit-tree", tree, "-m", name]
    for parent in parents:
        args += ["-p", parent]
    return git(root, *args).strip()


def expected(root: Path, base: str, tip: str) -> tuple[int, int]:
    """(ahead, behind) of ``tip`` against ``base``, as git itself counts them."""
    behind, ahead = git(root, "rev-list", "--left-right", "--count", f"{base}...{tip}").split()
    return int(ahead), int(behind)


def assert_agrees(
    root: Path, base: str, tips: list[str], small_walk: int
) -> dict[str, tuple[int, int]]:
    got = Store.discover(root).ahead_behind(base, tips, small_walk=small_walk)
    assert got == {tip: expected(root, base, tip) for tip in tips}
    return got


def history(root: Path) -> dict[str, str]:
    """A main line with merges, a criss-cross pair of branches, and side branches.

    c0 - c1 - c2 ---- m1 - c4 - c5 (base)
          \\          /
           s1 - s2 -+- s3 (tip "side")
    criss-cross: x1 and y1 from c2; x2 merges y1 into x1, y2 merges x1 into y1.
    """
    c = {"c0": git(root, "rev-parse", "HEAD").strip()}
    c["c1"] = commit(root, "c1", c["c0"])
    c["c2"] = commit(root, "c2", c["c1"])
    c["s1"] = commit(root, "s1", c["c1"])
    c["s2"] = commit(root, "s2", c["s1"])
    c["m1"] = commit(root, "m1", c["c2"], c["s2"])
    c["s3"] = commit(root, "s3", c["s2"])
    c["c4"] = commit(root, "c4", c["m1"])
    c["c5"] = commit(root, "c5", c["c4"])
    c["x1"] = commit(root, "x1", c["c2"])
    c["y1"] = commit(root, "y1", c["c2"])
    c["x2"] = commit(root, "x2", c["x1"], c["y1"])
    c["y2"] = commit(root, "y2", c["y1"], c["x1"])
    c["x3"] = commit(root, "x3", c["x2"], c["s3"])  # merges the side line back in
    return c


def test_merges_and_criss_cross_agree_with_rev_list(sandbox: Sandbox, small_walk: int) -> None:
    c = history(sandbox.root)
    tips = [c[name] for name in ("c0", "c2", "s2", "s3", "m1", "c5", "x2", "y2", "x3")]
    for base in (c["c5"], c["x2"], c["y2"], c["s3"], c["c0"]):
        got = assert_agrees(sandbox.root, base, tips, small_walk)
        assert got[base] == (0, 0)
    # a criss-cross merge has two merge bases: both sides are one merge ahead of each other
    assert assert_agrees(sandbox.root, c["x2"], [c["y2"]], small_walk)[c["y2"]] == (1, 1)


def test_branches_without_a_common_base_count_their_whole_histories(
    sandbox: Sandbox, small_walk: int
) -> None:
    c = history(sandbox.root)
    lone1 = commit(sandbox.root, "lone1")
    lone2 = commit(sandbox.root, "lone2", lone1)
    lone3 = commit(sandbox.root, "lone3", lone1)
    got = assert_agrees(sandbox.root, c["c5"], [lone2, lone3, c["x3"], c["s1"]], small_walk)
    assert got[lone2] == (2, 8)  # its own two; all 8 commits of the base's history
    assert assert_agrees(sandbox.root, lone2, [lone3, c["c5"]], small_walk)[lone3] == (1, 1)


def test_shallow_clone_counts_what_the_clone_holds(
    sandbox: Sandbox, tmp_path: Path, small_walk: int
) -> None:
    c = history(sandbox.root)
    for name in ("c5", "x3", "y2", "s2"):
        git(sandbox.root, "update-ref", f"refs/heads/t-{name}", c[name])
    clone = tmp_path / "shallow"
    source = sandbox.root.as_uri()
    git(
        tmp_path,
        "clone",
        "-q",
        "--no-local",
        "--depth",
        "2",
        "--no-single-branch",
        source,
        str(clone),
    )
    assert (clone / ".git" / "shallow").is_file()
    tips = [git(clone, "rev-parse", f"origin/t-{n}").strip() for n in ("x3", "y2", "s2")]
    base = git(clone, "rev-parse", "origin/t-c5").strip()
    assert_agrees(clone, base, tips, small_walk)


def test_replaced_and_grafted_commits_count_as_git_sees_them(
    sandbox: Sandbox, small_walk: int
) -> None:
    """``git replace --graft`` and ``info/grafts`` change parents for git; libgit2 does not
    honour them, so such a repository is walked by git."""
    c = history(sandbox.root)
    git(sandbox.root, "replace", "--graft", c["c4"], c["x1"])  # c4 now sits on x1
    assert_agrees(sandbox.root, c["c5"], [c["x3"], c["s3"]], small_walk)
    git(sandbox.root, "replace", "-d", c["c4"])
    grafts = sandbox.root / ".git" / "info" / "grafts"
    grafts.parent.mkdir(exist_ok=True)
    grafts.write_text(f"{c['c4']} {c['y1']}\n")
    assert_agrees(sandbox.root, c["c5"], [c["x3"], c["s3"], c["y2"]], small_walk)


def test_replace_refs_under_another_base_count_as_git_sees_them(
    sandbox: Sandbox, small_walk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GIT_REPLACE_REF_BASE`` tells git where replace refs live; such a walk is git's."""
    c = history(sandbox.root)
    git(sandbox.root, "replace", "--graft", c["c4"], c["x1"])
    made = git(sandbox.root, "rev-parse", f"refs/replace/{c['c4']}").strip()
    git(sandbox.root, "update-ref", f"refs/other-replace/{c['c4']}", made)
    git(sandbox.root, "update-ref", "-d", f"refs/replace/{c['c4']}")
    monkeypatch.setenv("GIT_REPLACE_REF_BASE", "refs/other-replace/")
    assert_agrees(sandbox.root, c["c5"], [c["x3"], c["s3"]], small_walk)


def test_many_tips_and_duplicates_in_one_call(sandbox: Sandbox, small_walk: int) -> None:
    c = history(sandbox.root)
    tips = list(c.values()) * 2  # every commit, twice
    got = assert_agrees(sandbox.root, c["c5"], tips, small_walk)
    assert len(got) == len(c)
    assert Store.discover(sandbox.root).ahead_behind(c["c5"], [], small_walk=small_walk) == {}


def test_status_and_thread_show_report_the_walked_counts(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    (sandbox.root / "codev" / "README.md").write_text("codev state\n")
    sandbox.git("add", "codev")
    sandbox.git("commit", "-q", "-m", "codev dir")
    sandbox.ok("spawn", "2", "--protocol", "spir", "--no-worktree", as_="main")  # no thread
    sandbox.ok("thread", "new", "checkout-v2", "--headline", "Rebuild checkout", as_="main")
    sandbox.ok("spawn", "1", "--protocol", "spir", "--thread", "checkout-v2", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    for n in range(3):
        (worktree / f"w{n}.txt").write_text(f"{n}\n")
        git(worktree, "add", f"w{n}.txt")
        git(worktree, "commit", "-q", "-m", f"work {n}")
    (sandbox.root / "later.txt").write_text("later\n")
    git(sandbox.root, "add", "later.txt")
    git(sandbox.root, "commit", "-q", "-m", "main moves on")
    rows = {b["id"]: b for b in json.loads(sandbox.ok("status", "--json").out)["builders"]}
    one = expected(sandbox.root, "main", "builder/spir-1")
    two = expected(sandbox.root, "main", "builder/spir-2")
    assert one[0] == 3 and one[1] >= 1
    assert (rows["builder-spir-1"]["ahead"], rows["builder-spir-1"]["behind"]) == one
    assert (rows["builder-spir-2"]["ahead"], rows["builder-spir-2"]["behind"]) == two
    shown = json.loads(sandbox.ok("thread", "show", "checkout-v2", "--json").out)
    listed = shown["live"]["builders"]
    assert [(b["id"], b["ahead"], b["behind"]) for b in listed] == [("builder-spir-1", *one)]


def test_a_walk_past_its_bound_is_handed_to_git(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process walk reads at most its bound: one commit more and it stops mid-walk
    and git answers, with the same counts. Without git on PATH only the in-process walk can."""
    c = history(sandbox.root)
    base, tips = c["c5"], [c["x3"], c["y2"], c["s3"], c["c0"]]
    reach = int(git(sandbox.root, "rev-list", "--count", base, *tips).strip())
    assert reach > 10
    want = {tip: expected(sandbox.root, base, tip) for tip in tips}
    assert assert_agrees(sandbox.root, base, tips, reach - 1) == want  # git, after a partial read
    store = Store.discover(sandbox.root)
    no_git = tmp_path / "no-git"
    no_git.mkdir()
    monkeypatch.setenv("PATH", str(no_git))
    assert store.ahead_behind(base, tips, small_walk=reach) == want  # read whole, in-process
    assert store.ahead_behind(base, tips) == want
    with pytest.raises(OperationalError, match="cannot run git"):
        store.ahead_behind(base, tips, small_walk=reach - 1)
    with pytest.raises(OperationalError, match="cannot run git"):
        store.ahead_behind(base, tips, small_walk=3)


def test_a_tip_that_is_not_a_commit_is_an_error_either_way(
    sandbox: Sandbox, small_walk: int
) -> None:
    c = history(sandbox.root)
    tree = git(sandbox.root, "rev-parse", f"{c['c5']}^{{tree}}").strip()
    store = Store.discover(sandbox.root)
    for tip in (tree, "0" * 40, "not-a-commit-id"):
        with pytest.raises(OperationalError, match="git merge-base failed"):
            store.ahead_behind(c["c5"], [tip], small_walk=small_walk)
