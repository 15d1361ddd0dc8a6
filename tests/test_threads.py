"""Threads: template, commit isolation, list/show at any ref, refresh, archive, owner checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Sandbox, git, run_subprocess

T = "checkout-v2"
PATH = f"codev/{T}-thread.md"
ARCHIVED = f"codev/archive/{T}-thread.md"


@pytest.fixture
def box(sandbox: Sandbox) -> Sandbox:
    """The sandbox with a committed codev/ directory, as in a Codev project."""
    (sandbox.root / "codev").mkdir()
    (sandbox.root / "codev" / "README.md").write_text("codev state\n")
    sandbox.git("add", "codev")
    sandbox.git("commit", "-q", "-m", "codev dir")
    return sandbox


def new_thread(box: Sandbox, name: str = T, as_: str = "payments", *extra: str) -> None:
    box.ok("thread", "new", name, "--headline", "Rebuild checkout", *extra, as_=as_)


def head_files(box: Sandbox, rev: str = "HEAD") -> list[str]:
    return box.git("show", "--name-only", "--format=", rev).split()


def commit_work(worktree: Path, name: str = "work.txt") -> None:
    (worktree / name).write_text("work\n")
    git(worktree, "add", name)
    git(worktree, "commit", "-q", "-m", f"add {name}")


def stage_unrelated(box: Sandbox) -> None:
    (box.root / "unrelated.txt").write_text("staged, not for the thread\n")
    box.git("add", "unrelated.txt")


def staged(box: Sandbox) -> list[str]:
    return box.git("diff", "--cached", "--name-only").split()


def block(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"<!-- codev:{name}:begin -->")
    return lines[start + 1 : lines.index(f"<!-- codev:{name}:end -->")]


def one_line_failure(result_code: int, err: str, code: int) -> None:
    assert result_code == code, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


# -- new: template and commit isolation ----------------------------------------------------------
def test_new_renders_template_and_commits_only_the_thread_file(box: Sandbox) -> None:
    stage_unrelated(box)
    before_head = box.git("rev-parse", "HEAD").strip()
    new_thread(box)
    assert head_files(box) == [PATH]
    assert box.git("rev-parse", "HEAD~1").strip() == before_head
    assert staged(box) == ["unrelated.txt"]  # still staged, not committed
    assert box.git("status", "--porcelain").splitlines() == ["A  unrelated.txt"]
    text = (box.root / PATH).read_text()
    front = f"---\nthread: {T}\narchitect: payments\nstatus: active\ncreated: 20"
    assert text.startswith(front), text
    assert 'headline: "Rebuild checkout"\n---\n' in text
    for section in (
        "## Headline / current status",
        "## Active builder roster",
        "## PR list with merge state",
        "## Pending decisions",
        "## Pickup checklist",
        "## Cross-architect coordination rules",
    ):
        assert section in text
    assert block(text, "roster") and block(text, "merges")
    assert "{{" not in text and "{%" not in text
    message = box.git("log", "-1", "--format=%B")
    assert message.startswith(f"codev: start thread {T} (architect payments)")
    assert f"Codev-Thread: {T}" in message


def test_repository_template_overrides_the_packaged_one(box: Sandbox) -> None:
    templates = box.root / "codev" / "templates"
    templates.mkdir()
    (templates / "THREAD.md.j2").write_text(
        "---\nthread: {{ thread }}\narchitect: {{ architect }}\nstatus: {{ status }}\n---\n"
        "# OUR HOUSE STYLE {{ headline | upper }}\n"
        "<!-- codev:roster:begin -->\n{{ roster }}\n<!-- codev:roster:end -->\n"
    )
    new_thread(box, "billing", "main", "--no-commit")
    text = (box.root / "codev" / "billing-thread.md").read_text()
    assert "# OUR HOUSE STYLE REBUILD CHECKOUT" in text
    assert "## Pending decisions" not in text
    # --no-commit: written, neither committed nor staged
    assert "?? codev/billing-thread.md" in box.git("status", "--porcelain", "-uall")
    assert box.git("log", "-1", "--format=%s").strip() == "codev dir"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("---\nthread: {{ thread }\n---\n", "line 2"),  # syntax error
        ("{% if %}\n", "line 1"),
        ("---\nthread: {{ thread }}\narchitect: {{ nobody }}\n---\n", "nobody"),  # undefined
        ("# no front matter {{ thread }}\n", "front matter"),
    ],
)
def test_broken_template_writes_nothing(box: Sandbox, template: str, words: str) -> None:
    templates = box.root / "codev" / "templates"
    templates.mkdir()
    (templates / "THREAD.md.j2").write_text(template)
    before = box.snapshot()
    result = box.run("thread", "new", T, as_="payments")
    one_line_failure(result.code, result.err, 1)
    assert "codev/templates/THREAD.md.j2" in result.err and words in result.err
    assert box.snapshot() == before
    assert not (box.root / PATH).exists()


def test_failed_commit_leaves_nothing_behind(box: Sandbox) -> None:
    hook = box.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    stage_unrelated(box)
    before = box.snapshot()
    result = box.run("thread", "new", T, as_="payments")
    one_line_failure(result.code, result.err, 1)
    assert "git commit failed" in result.err
    assert box.snapshot() == before and staged(box) == ["unrelated.txt"]


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["../x", "Bad", "a/b", "", "-x", "x" * 65, "a b", "x\x1b"])
def test_bad_thread_names_are_refused_everywhere(box: Sandbox, bad: str) -> None:
    new_thread(box)
    before = box.snapshot()
    for args in (
        ["thread", "new", bad],
        ["thread", "show", bad],
        ["thread", "refresh", bad],
        ["thread", "archive", bad],
        ["spawn", "9", "--protocol", "spir", "--thread", bad],
    ):
        result = box.run(*args, as_="payments")
        one_line_failure(result.code, result.err, 2)
    assert box.snapshot() == before


def test_bad_input_is_one_line_and_writes_nothing(box: Sandbox) -> None:
    new_thread(box)
    box.git("branch", "later")
    before = box.snapshot()
    cases: list[tuple[list[str], int, str]] = [
        (["thread", "show", "nope"], 2, f"active threads at HEAD: {T}"),
        (["thread", "refresh", "nope"], 2, "no thread 'nope' at HEAD"),
        (["thread", "archive", "nope"], 2, "no thread 'nope'"),
        (["thread", "show", T, "--ref", "no-such-branch"], 2, "unknown revision"),
        (["thread", "list", "--ref", "../x"], 2, "unknown revision"),
        (["thread", "new", T], 1, "already exists"),
        (["thread", "new", "other", "--headline", "two\nlines"], 2, "one line"),
        (["thread", "new", "other", "--headline", "x" * 201], 2, "characters long"),
        (["thread", "new", "other", "--architect", "Not-Valid"], 2, "invalid architect"),
        (["spawn", "9", "--protocol", "spir", "--thread", "nope"], 2, f"active threads: {T}"),
    ]
    for args, code, words in cases:
        result = box.run(*args, as_="payments")
        one_line_failure(result.code, result.err, code)
        assert words in result.err, (args, result.err)
    no_identity = box.run("thread", "new", "other")
    one_line_failure(no_identity.code, no_identity.err, 2)
    assert box.snapshot() == before


def test_missing_codev_directory_is_refused(sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    result = sandbox.run("thread", "new", T, as_="payments")
    one_line_failure(result.code, result.err, 2)
    assert "codev/" in result.err and "mkdir codev" in result.err
    assert sandbox.snapshot() == before
    listed = sandbox.run("thread", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out)["threads"] == []


# -- list / show at any ref, from any worktree ---------------------------------------------------
def test_list_and_show_from_head_another_ref_and_a_linked_worktree(box: Sandbox) -> None:
    new_thread(box)
    first = box.git("rev-parse", "HEAD").strip()
    other = box.root.parent / "payments-wt"
    box.git("worktree", "add", "-q", "-b", "billing-work", str(other))
    box.ok("thread", "new", "billing", "--headline", "Invoices", as_="main", cwd=other)
    (box.root / "codev" / "README.md").write_text("moved on\n")
    box.git("commit", "-q", "-am", "main moves on")

    at_head = json.loads(box.ok("thread", "list", "--json").out)
    assert [t["name"] for t in at_head["threads"]] == [T]
    on_branch = json.loads(box.ok("thread", "list", "--ref", "billing-work", "--json").out)
    assert {t["name"]: t["architect"] for t in on_branch["threads"]} == {
        "billing": "main",
        T: "payments",
    }
    assert on_branch["commit"] == box.git("rev-parse", "billing-work").strip()

    before = box.snapshot(), git(other, "status", "--porcelain", "--ignored")
    missing = box.run("thread", "show", "billing")
    one_line_failure(missing.code, missing.err, 2)
    shown = box.ok("thread", "show", "billing", "--ref", "billing-work", as_="payments").out
    assert "architect: main" in shown and "Invoices" in shown and "==> live" in shown
    by_commit = json.loads(box.ok("thread", "show", T, "--ref", first, "--json").out)
    assert by_commit["commit"] == first and by_commit["text"] == (box.root / PATH).read_text()
    # from the linked worktree: its own HEAD, and main without a checkout
    here = json.loads(box.ok("thread", "show", "billing", "--json", cwd=other).out)
    assert here["architect"] == "main" and here["path"] == "codev/billing-thread.md"
    there = box.ok("thread", "list", "--ref", "main", cwd=other).out
    assert T in there and "billing" not in there
    assert json.loads(box.ok("thread", "show", T, "--ref", "main", "--json", cwd=other).out)[
        "lastChange"
    ]["subject"].startswith("codev: start thread")
    assert (box.snapshot(), git(other, "status", "--porcelain", "--ignored")) == before


def test_show_reads_an_older_commit_and_a_bare_clone(box: Sandbox, tmp_path: Path) -> None:
    new_thread(box)
    old = box.git("rev-parse", "HEAD").strip()
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, as_="payments")
    box.ok("thread", "refresh", T, as_="payments")
    then = json.loads(box.ok("thread", "show", T, "--ref", old, "--json").out)["text"]
    now = json.loads(box.ok("thread", "show", T, "--json").out)["text"]
    assert "builder-spir-1481" not in "\n".join(block(then, "roster"))
    assert "builder-spir-1481" in "\n".join(block(now, "roster"))
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(box.root), str(bare))
    from_bare = json.loads(box.ok("thread", "show", T, "--json", cwd=bare).out)
    assert from_bare["text"] == now and from_bare["live"]["builders"] == []
    refused = box.run("thread", "refresh", T, as_="payments", cwd=bare)
    one_line_failure(refused.code, refused.err, 2)


# -- spawn / adopt pick the thread ---------------------------------------------------------------
def test_spawn_validates_thread_and_defaults_to_the_only_one(box: Sandbox) -> None:
    new_thread(box)
    alone = box.run("spawn", "1481", "--protocol", "spir", "--no-worktree", as_="payments")
    assert alone.code == 0 and f"note: thread {T} chosen" in alone.err
    assert len(alone.err.strip().splitlines()) == 1
    other = box.run("spawn", "7", "--protocol", "spir", "--no-worktree", as_="main")
    assert other.code == 0 and "thread" not in other.err
    box.git("branch", "builder/air-3")
    box.ok("adopt", "builder/air-3", as_="payments")
    new_thread(box, "second")
    two = box.run("spawn", "1482", "--protocol", "spir", "--no-worktree", as_="payments")
    assert two.code == 0 and "thread" not in two.err
    rows = json.loads(box.ok("status", "--json").out)["builders"]
    assert {r["id"]: r.get("thread") for r in rows} == {
        "builder-spir-1481": T,
        "builder-spir-7": None,
        "builder-air-3": T,
        "builder-spir-1482": None,
    }
    # re-adopting an owned builder stays a no-op even though a default thread exists
    box.ok("thread", "archive", "second", "--force", as_="payments")
    assert "nothing changed" in box.ok("adopt", "builder/air-3", as_="payments").out
    before = box.snapshot()
    gone = box.run("spawn", "5", "--protocol", "spir", "--thread", "second", as_="payments")
    one_line_failure(gone.code, gone.err, 2)
    assert "thread second is archived" in gone.err and f"active threads: {T}" in gone.err
    assert box.snapshot() == before


# -- live roster ---------------------------------------------------------------------------------
def owners_in_thread(box: Sandbox, thread: str) -> set[str]:
    """Builders whose latest ownership note line names ``thread``, read with plain git."""
    out = set()
    listing = box.git("notes", "--ref", "codev/owners", "list").split()
    for note_blob in listing[0::2]:
        last = json.loads(box.git("cat-file", "-p", note_blob).strip().splitlines()[-1])
        if last.get("thread") == thread:
            out.add(last["builder"])
    return out


def test_refresh_regenerates_roster_from_ownership_notes(box: Sandbox) -> None:
    new_thread(box)
    new_thread(box, "other-work", "main")
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, as_="payments")
    box.ok("spawn", "1482", "--protocol", "bugfix", "--thread", T, as_="payments")
    box.ok("spawn", "7", "--protocol", "spir", "--thread", "other-work", as_="main")
    commit_work(box.builder_dir("spir-1481"))
    path = box.root / PATH
    path.write_text(path.read_text().replace("- Phase: starting", "- Phase: implement"))
    box.git("commit", "-q", "-am", "owner edits the thread by hand")
    stage_unrelated(box)
    out = box.ok("thread", "refresh", T, as_="payments").out
    assert "committed as" in out and head_files(box) == [PATH]
    assert staged(box) == ["unrelated.txt"]
    text = path.read_text()
    assert "- Phase: implement" in text  # hand edits outside the markers are kept
    roster = [ln for ln in block(text, "roster") if ln.startswith("| builder-")]
    in_file = {ln.split("|")[1].strip() for ln in roster}
    assert in_file == owners_in_thread(box, T) == {"builder-spir-1481", "builder-bugfix-1482"}
    live = json.loads(box.ok("thread", "show", T, "--json").out)["live"]
    assert {b["id"] for b in live["builders"]} == in_file
    assert live["liveBuilderCount"] == 2 and live["architect"] == "payments"
    assert "| builder-spir-1481 | `builder/spir-1481` | spir #1481 | active | 1 |" in text
    assert "- [ ] `builder/spir-1481` (builder-spir-1481): open, 1 ahead of `main`" in text
    # nothing new: no commit
    head = box.git("rev-parse", "HEAD").strip()
    assert "up to date" in box.ok("thread", "refresh", T, as_="payments").out
    assert box.git("rev-parse", "HEAD").strip() == head
    # merged into main: the merge state follows
    box.git("stash", "-q")
    box.git("merge", "-q", "--no-edit", "builder/spir-1481")
    box.ok("thread", "refresh", T, as_="payments")
    merges = "\n".join(block(path.read_text(), "merges"))
    assert "- [x] `builder/spir-1481` (builder-spir-1481): merged into `main`" in merges
    assert "- [ ] `builder/bugfix-1482`" in merges


def test_refresh_is_the_owners_and_needs_a_clean_file(box: Sandbox) -> None:
    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, as_="payments")
    before = box.snapshot()
    other = box.run("thread", "refresh", T, as_="main")
    one_line_failure(other.code, other.err, 2)
    assert "belongs to payments" in other.err
    builder = box.run("thread", "refresh", T, cwd=box.builder_dir("spir-1481"))
    one_line_failure(builder.code, builder.err, 2)
    assert box.snapshot() == before
    path = box.root / PATH
    path.write_text(path.read_text() + "\nunsaved note\n")
    dirty = box.snapshot()
    refused = box.run("thread", "refresh", T, as_="payments")
    one_line_failure(refused.code, refused.err, 1)
    assert "uncommitted changes" in refused.err and box.snapshot() == dirty
    box.ok("thread", "refresh", T, "--no-commit", as_="payments")
    assert "builder-spir-1481" in path.read_text() and "unsaved note" in path.read_text()
    assert box.refs() == before[0]


def test_refresh_without_markers_says_where_they_go(box: Sandbox) -> None:
    new_thread(box)
    path = box.root / PATH
    path.write_text(path.read_text().replace("<!-- codev:", "<!-- gone:"))
    box.git("commit", "-q", "-am", "markers removed")
    before = box.snapshot()
    result = box.run("thread", "refresh", T, as_="payments")
    one_line_failure(result.code, result.err, 1)
    assert "<!-- codev:roster:begin -->" in result.err and box.snapshot() == before


# -- archive -------------------------------------------------------------------------------------
def test_archive_moves_with_git_mv_and_keeps_history(box: Sandbox) -> None:
    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, as_="payments")
    commit_work(box.builder_dir("spir-1481"))
    before = box.snapshot()
    not_owner = box.run("thread", "archive", T, as_="main")
    one_line_failure(not_owner.code, not_owner.err, 2)
    assert "belongs to payments" in not_owner.err and "--force" in not_owner.err
    unmerged = box.run("thread", "archive", T, as_="payments")
    one_line_failure(unmerged.code, unmerged.err, 2)
    assert "builder-spir-1481" in unmerged.err and "--force" in unmerged.err
    assert box.snapshot() == before
    box.git("merge", "-q", "--no-edit", "builder/spir-1481")
    stage_unrelated(box)
    box.ok("thread", "archive", T, as_="payments")
    assert box.git("show", "--name-status", "--format=", "-M", "HEAD").split() == [
        "R100",
        PATH,
        ARCHIVED,
    ]
    assert staged(box) == ["unrelated.txt"]
    assert not (box.root / PATH).exists() and (box.root / ARCHIVED).is_file()
    history = box.git("log", "--follow", "--format=%s", "--", ARCHIVED).splitlines()
    assert history[0] == f"codev: archive thread {T}"
    assert history[-1].startswith(f"codev: start thread {T}")
    assert json.loads(box.ok("thread", "list", "--json").out)["threads"] == []
    every = json.loads(box.ok("thread", "list", "--all", "--json").out)["threads"]
    assert [(t["name"], t["status"], t["path"]) for t in every] == [(T, "archived", ARCHIVED)]
    shown = json.loads(box.ok("thread", "show", T, "--json", as_="main").out)
    assert shown["status"] == "archived" and shown["path"] == ARCHIVED
    assert shown["frontMatter"]["status"] == "active"  # the file itself is moved, not edited
    brief = box.ok("thread", "show", T, "--brief", as_="main").out
    assert "status:      archived" in brief and "owner:       payments" in brief
    assert "## Pending decisions" not in brief and "builder-spir-1481" in brief
    after = box.snapshot()
    twice = box.run("thread", "archive", T, as_="payments")
    one_line_failure(twice.code, twice.err, 1)  # like a name already taken
    assert "already archived" in twice.err
    reuse = box.run("thread", "new", T, as_="payments")
    one_line_failure(reuse.code, reuse.err, 1)
    assert "archived thread" in reuse.err
    assert box.snapshot() == after


def test_archive_force_overrides_owner_and_unmerged(box: Sandbox) -> None:
    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, "--no-worktree", as_="payments")
    forced = box.ok("thread", "archive", T, "--force", as_="main")
    assert "builder-spir-1481" in forced.err
    body = box.git("log", "-1", "--format=%B")
    assert "Archived by main with --force (owner: payments)" in body
    assert "Unmerged builders at archive time: builder-spir-1481" in body


# -- JSON schemas --------------------------------------------------------------------------------
SUMMARY_KEYS = {
    "name",
    "architect",
    "status",
    "created",
    "headline",
    "path",
    "builderCount",
    "liveBuilderCount",
    "lastChange",
}
SHOW_KEYS = (SUMMARY_KEYS - {"builderCount", "liveBuilderCount"}) | {
    "ref",
    "commit",
    "frontMatter",
    "text",
    "live",
}


def test_json_schemas(box: Sandbox) -> None:
    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, as_="payments")
    box.ok("send", "architect", "plan ready", cwd=box.builder_dir("spir-1481"))
    listed = json.loads(box.ok("thread", "list", "--json").out)
    assert set(listed) == {"ref", "commit", "threads"} and listed["ref"] == "HEAD"
    (summary,) = listed["threads"]
    assert set(summary) == SUMMARY_KEYS
    assert summary["builderCount"] == 1 and summary["liveBuilderCount"] == 1
    assert summary["headline"] == "Rebuild checkout" and summary["status"] == "active"
    assert set(summary["lastChange"]) == {"commit", "time", "subject", "author"}
    shown = json.loads(box.ok("thread", "show", T, "--json").out)
    assert set(shown) == SHOW_KEYS
    assert shown["frontMatter"]["architect"] == "payments" and shown["created"].endswith("Z")
    live = shown["live"]
    assert set(live) == {
        "architect",
        "baseBranch",
        "builders",
        "builderCount",
        "liveBuilderCount",
        "unread",
    }
    assert live["unread"] == {
        "architect": 1,
        "architectInThread": 1,
        "builders": 1,
    }  # its spawn notice
    brief = json.loads(box.ok("thread", "show", T, "--brief", "--json").out)
    assert "text" not in brief and "frontMatter" not in brief and "builders" not in brief["live"]
    assert len(box.ok("thread", "show", T, "--brief", "--json").out) < len(
        box.ok("thread", "show", T, "--json").out
    )
    status_row = json.loads(box.ok("status", "--json").out)["builders"][0]
    assert live["builders"] == [status_row]  # same fields and values as `status --json`


# -- the installed entry point, and what the read paths import -----------------------------------
def test_thread_lifecycle_through_git_codev(box: Sandbox) -> None:
    env = {"CODEV_ARCHITECT_NAME": "payments"}
    made = run_subprocess(box.root, ["thread", "new", T, "--headline", "Rebuild checkout"], env)
    assert made.code == 0, made.err
    listed = run_subprocess(box.root, ["thread", "list"], {"CODEV_ARCHITECT_NAME": "main"})
    assert listed.code == 0 and T in listed.out and "payments" in listed.out
    shown = run_subprocess(box.root, ["thread", "show", T], {"CODEV_ARCHITECT_NAME": "main"})
    assert shown.code == 0 and "# Thread `checkout-v2`: Rebuild checkout" in shown.out
    gone = run_subprocess(box.root, ["thread", "archive", T], env)
    assert gone.code == 0, gone.err
    for args in (["thread", "--help"], ["thread"]):
        helped = run_subprocess(box.root, args, env)
        assert helped.code == 0 and "thread new" in helped.out and "archive" in helped.out


def test_shell_completion_offers_active_thread_names(box: Sandbox) -> None:
    new_thread(box)
    new_thread(box, "billing", "main")
    box.ok("thread", "archive", "billing", as_="main")
    script = box.ok("completion", "bash").out

    def complete(*words: str) -> list[str]:
        quoted = " ".join(f'"{w}"' for w in ("git", "codev", *words))
        text = script + (
            f"\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) + 1}; _git_codev; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        run = subprocess.run(["bash", "-c", text], cwd=box.root, capture_output=True, text=True)
        return run.stdout.split()

    assert complete("thread", "show", "") == [T]
    assert complete("spawn", "1", "--thread", "che") == [T]


def test_reading_threads_imports_neither_jinja2_nor_gitpython() -> None:
    code = (
        "import sys, codev_git.threads.model, codev_git.threads.choose\n"
        "import codev_git.commands.messaging\n"
        "bad = {'jinja2', 'git'} & set(sys.modules)\n"
        "sys.exit(f'imported {bad}' if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_status_of_a_thread_nobody_knows_is_refused(box: Sandbox) -> None:
    """`status --thread` with a name no thread file (active or archived) and no builder has
    is a typo: refused with the threads there are, as `log --architect` refuses a name no
    architect has; a thread with no builders yet just has none to show."""
    new_thread(box)
    quiet = box.ok("status", "--thread", T)
    assert "no builders match" in quiet.err
    typo = box.run("status", "--thread", "chekout-v2")
    assert typo.code == 2 and len(typo.err.strip().splitlines()) == 1, typo.err
    assert "no thread 'chekout-v2' at HEAD" in typo.err and T in typo.err
    error = json.loads(box.run("status", "--thread", "chekout-v2", "--json").out)["error"]
    assert error["code"] == "bad-input"


def commit_many(box: Sandbox, count: int) -> None:
    """``count`` commits on the current branch that touch work.txt only (git fast-import)."""
    branch = box.git("symbolic-ref", "HEAD").strip()
    start = box.git("rev-parse", "HEAD").strip()
    stream = [f"reset {branch}\nfrom {start}\n\n"]
    for i in range(count):
        stream.append(
            f"commit {branch}\ncommitter A <a@example.com> {1_700_000_000 + i} +0000\n"
            f"data 5\nwork\nM 644 inline work.txt\ndata {len(str(i)) + 1}\n{i}\n\n"
        )
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=box.root,
        input="".join(stream).encode(),
        check=True,
        capture_output=True,
    )
    box.git("reset", "-q", "--hard")


def test_last_change_of_a_thread_untouched_for_thousands_of_commits(box: Sandbox) -> None:
    """Past the walk's bound the answer is still the commit that changed the file, never an
    unrelated commit where the walk happened to stop."""
    new_thread(box)
    started = box.git("rev-parse", "HEAD").strip()
    commit_many(box, 2100)
    listed = json.loads(box.ok("thread", "list", "--json").out)["threads"][0]["lastChange"]
    shown = json.loads(box.ok("thread", "show", T, "--json").out)["lastChange"]
    for change in (listed, shown):
        assert change["commit"] == started
        assert change["subject"] == f"codev: start thread {T} (architect payments)"


def test_failed_refresh_keeps_an_edit_made_while_it_committed(box: Sandbox) -> None:
    """Undoing a refresh whose commit failed must not overwrite the file if someone wrote it
    meanwhile (here the pre-commit hook plays the editor that saved the file)."""
    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, "--no-worktree", as_="payments")
    hook = box.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\necho 'saved by the editor' >> {PATH}\nexit 1\n")
    hook.chmod(0o755)
    result = box.run("thread", "refresh", T, as_="payments")
    one_line_failure(result.code, result.err, 1)
    text = (box.root / PATH).read_text()
    assert text.endswith("saved by the editor\n") and "builder-spir-1481" in text
    # with nobody writing meanwhile, a failed commit still leaves the file as it was
    box.git("checkout", "--", PATH)
    committed = (box.root / PATH).read_bytes()
    hook.write_text("#!/bin/sh\nexit 1\n")
    again = box.run("thread", "refresh", T, as_="payments")
    one_line_failure(again.code, again.err, 1)
    assert (box.root / PATH).read_bytes() == committed


def test_a_thread_saved_with_crlf_and_a_byte_order_mark_keeps_its_owner(box: Sandbox) -> None:
    """What a Windows editor saves: CRLF line ends and a UTF-8 byte order mark."""
    new_thread(box)
    path = box.root / PATH
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    box.git("commit", "-qam", "saved by a Windows editor")
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, "--no-worktree", as_="payments")
    shown = json.loads(box.ok("thread", "show", T, "--json").out)
    assert shown["architect"] == "payments" and shown["headline"] == "Rebuild checkout"
    listed = json.loads(box.ok("thread", "list", "--json").out)["threads"]
    assert [t["architect"] for t in listed] == ["payments"]
    box.ok("thread", "refresh", T, as_="payments")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n") and b"builder-spir-1481" in data
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line end is still CRLF


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_archive_into_an_archive_that_is_not_a_directory_is_refused(
    box: Sandbox, tmp_path: Path, kind: str
) -> None:
    """A file, or a symlink (perhaps committed in another clone), where codev/archive/ goes:
    one line, nothing moved; never the thread moved out of the working tree."""
    new_thread(box)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    archive = box.root / "codev" / "archive"
    if kind == "file":
        archive.write_text("not a directory\n")
    else:
        archive.symlink_to(outside)
    before = box.snapshot()
    result = box.run("thread", "archive", T, as_="payments")
    one_line_failure(result.code, result.err, 1)
    assert "codev/archive is not a directory" in result.err
    assert box.snapshot() == before and (box.root / PATH).is_file()
    assert list(outside.iterdir()) == []


def test_a_repository_template_cannot_run_code(box: Sandbox, tmp_path: Path) -> None:
    """The override is a committed file (another clone may have written it): rendering it
    must not reach Python's internals, e.g. to run a shell command."""
    mark = tmp_path / "ran"
    templates = box.root / "codev" / "templates"
    templates.mkdir()
    (templates / "THREAD.md.j2").write_text(
        "---\nthread: {{ thread }}\narchitect: {{ architect }}\n---\n"
        f"{{{{ cycler.__init__.__globals__.os.system('touch {mark}') }}}}\n"
    )
    box.git("add", "codev/templates")
    box.git("commit", "-q", "-m", "a template from elsewhere")
    before = box.snapshot()
    result = box.run("thread", "new", T, as_="payments")
    one_line_failure(result.code, result.err, 1)
    assert "codev/templates/THREAD.md.j2" in result.err
    assert not mark.exists()
    assert box.snapshot() == before and not (box.root / PATH).exists()


def test_a_forced_archive_finished_after_a_kill_still_records_why(box: Sandbox) -> None:
    """The commit that finishes an interrupted archive says what a whole one says: who
    forced it over whom, and which builders were still unmerged."""
    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, "--no-worktree", as_="payments")
    (box.root / "codev" / "archive").mkdir()
    box.git("mv", PATH, ARCHIVED)  # what a kill -9 between `git mv` and the commit leaves
    box.ok("thread", "archive", T, "--force", as_="main")
    body = box.git("log", "-1", "--format=%B")
    assert "Finished an interrupted archive." in body
    assert "Archived by main with --force (owner: payments)" in body
    assert "Unmerged builders at archive time: builder-spir-1481" in body
    assert box.git("status", "--porcelain") == ""


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_headline_cannot_split_the_front_matter(box: Sandbox, separator: str) -> None:
    """Unicode line separators end a line for Python's splitlines: refused in a new headline,
    and in a file that holds one (written by hand or in another clone) they are not line
    ends of the front matter."""
    before = box.snapshot()
    refused = box.run(
        "thread", "new", T, "--headline", f"Rebuild{separator}status: done", as_="payments"
    )
    one_line_failure(refused.code, refused.err, 2)
    assert box.snapshot() == before
    new_thread(box)
    path = box.root / PATH
    path.write_text(
        path.read_text().replace(
            'headline: "Rebuild checkout"', f'headline: "Rebuild{separator}status: done"'
        )
    )
    box.git("commit", "-qam", "a headline written elsewhere")
    shown = json.loads(box.ok("thread", "show", T, "--json").out)
    assert shown["status"] == "active"
    assert shown["headline"] == f"Rebuild{separator}status: done"


def test_refreshes_at_once_in_one_worktree_take_turns(box: Sandbox) -> None:
    """Several `thread refresh` at once (hooks, agents): one commits the new roster, the
    others wait their turn and find it current; none is refused as modified, none leaves
    the file looking modified."""
    import os

    new_thread(box)
    box.ok("spawn", "1481", "--protocol", "spir", "--thread", T, as_="payments")
    head = box.git("rev-parse", "HEAD").strip()
    env = {**os.environ, "CODEV_ARCHITECT_NAME": "payments"}
    runs = [
        subprocess.Popen(
            ["git", "codev", "thread", "refresh", T],
            cwd=box.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    said: list[tuple[int, str, str]] = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        said.append((run.returncode, out.decode(), err.decode()))
    assert [code for code, _, _ in said] == [0, 0, 0, 0], said
    outs = [out for _, out, _ in said]
    assert sum("committed as" in out for out in outs) == 1, outs
    assert sum("up to date" in out for out in outs) == 3, outs
    assert box.git("rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert box.git("status", "--porcelain", "--", PATH) == ""
