"""Identity, spawn/adopt/reassign, send/inbox routing and status on real repositories."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Sandbox, git, run_inprocess, run_subprocess


def two_architects(box: Sandbox) -> None:
    box.ok("spawn", "1487", "--protocol", "spir", as_="main")
    box.ok("spawn", "1481", "--protocol", "spir", "--architect", "payments", as_="payments")


def note_of(box: Sandbox, branch: str) -> list[dict[str, object]]:
    blob = box.git("rev-parse", f"refs/notes/codev/owners:{box.anchor(branch)}").strip()
    text = box.git("cat-file", "-p", blob)
    return [json.loads(line) for line in text.splitlines()]


# -- init ----------------------------------------------------------------------------------------
def test_init_is_idempotent_and_says_what_changed(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main", "r")
    root = tmp_path / "r"
    git(root, "commit", "-q", "--allow-empty", "-m", "first")
    git(root, "config", "core.logAllRefUpdates", "always")  # as an older init set it
    first = run_inprocess(root, ["init"])
    assert first.code == 0 and "core.logAllRefUpdates=true" in first.out
    assert "wrote the commit-graph" in first.out
    assert (root / ".git" / "objects" / "info" / "commit-graph").is_file()
    second = run_inprocess(root, ["init"])
    assert second.code == 0 and "nothing changed" in second.out
    exclude = (root / ".git" / "info" / "exclude").read_text().splitlines()
    assert exclude.count(".builders/") == 1 and exclude.count(".thread") == 1
    assert git(root, "config", "core.logAllRefUpdates").strip() == "true"


def test_message_chains_keep_no_reflog_but_branches_and_notes_do(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    for n in range(3):
        sandbox.ok("send", "architect", f"m{n}", cwd=sandbox.builder_dir("spir-1"))
    sandbox.ok("inbox", as_="main")
    logs = sandbox.root / ".git" / "logs"
    assert not (logs / "refs" / "codev").exists()
    assert (logs / "refs" / "heads" / "builder" / "spir-1").is_file()
    assert (logs / "refs" / "notes" / "codev" / "owners").is_file()
    assert sandbox.git("rev-list", "--count", "refs/codev/inbox/main").strip() == "3"


# -- identity ------------------------------------------------------------------------------------
def test_whoami_reports_source_of_identity(sandbox: Sandbox) -> None:
    env = sandbox.ok("whoami", "--json", as_="main")
    data = json.loads(env.out)
    assert data["type"] == "architect" and data["name"] == "main"
    assert "CODEV_ARCHITECT_NAME" in data["source"]
    sandbox.ok("architect", "add", "payments")
    flag = json.loads(sandbox.ok("whoami", "--json", "--as", "payments", as_="main").out)
    assert flag["name"] == "payments" and "--as" in flag["source"]


def test_whoami_without_identity_never_defaults(sandbox: Sandbox) -> None:
    result = sandbox.run("whoami")
    assert result.code == 2
    assert "CODEV_ARCHITECT_NAME" in result.err and len(result.err.strip().splitlines()) == 1
    assert "main" not in result.out


def test_worktree_config_names_the_architect(sandbox: Sandbox) -> None:
    other = sandbox.root.parent / "payments-wt"
    sandbox.git("worktree", "add", "-q", "-b", "payments-work", str(other))
    sandbox.git("config", "--worktree", "codev.architect", "payments", cwd=other)
    data = json.loads(sandbox.ok("whoami", "--json", cwd=other).out)
    assert data["name"] == "payments" and "git config" in data["source"]
    # the main worktree is not affected
    assert sandbox.run("whoami").code == 2


def test_builder_worktree_is_the_builder_even_with_env_set(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    data = json.loads(
        sandbox.ok("whoami", "--json", as_="payments", cwd=sandbox.builder_dir("spir-1487")).out
    )
    assert data["type"] == "builder" and data["name"] == "builder-spir-1487"
    assert data["architect"] == "main"
    refused = sandbox.run("whoami", "--as", "payments", cwd=sandbox.builder_dir("spir-1487"))
    assert refused.code == 2 and "builder-spir-1487" in refused.err


@pytest.mark.parametrize("bad", ["Main", "../x", "a b", "", "x" * 65, "-x", "ma\x1bin"])
def test_invalid_architect_names_are_refused(sandbox: Sandbox, bad: str) -> None:
    before = sandbox.snapshot()
    result = sandbox.run("spawn", "1", "--protocol", "spir", "--architect", bad, as_="main")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert sandbox.snapshot() == before


# -- spawn / adopt / reassign --------------------------------------------------------------------
def test_spawn_creates_branch_worktree_and_readable_note(sandbox: Sandbox) -> None:
    out = sandbox.ok("spawn", "01487", "--protocol", "spir", as_="main").out
    assert "builder-spir-1487" in out
    wt = sandbox.builder_dir("spir-1487")
    assert wt.is_dir()
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "builder/spir-1487"
    shown = sandbox.git(
        "notes", "--ref", "codev/owners", "show", sandbox.anchor("refs/heads/builder/spir-1487")
    )
    record = json.loads(shown.strip().splitlines()[-1])
    assert record["architect"] == "main" and record["builder"] == "builder-spir-1487"
    assert record["issue"] == 1487 and record["protocol"] == "spir" and record["event"] == "spawn"
    # gc and notes prune keep the record: the anchor blob is reachable
    sandbox.git("notes", "--ref", "codev/owners", "prune")
    sandbox.git("gc", "-q", "--prune=now")
    assert json.loads(sandbox.ok("whoami", "--json", cwd=wt).out)["type"] == "builder"
    assert "builder/" not in sandbox.git("status", "--porcelain")


def test_spawn_refuses_existing_branch_and_bad_input(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "7", "--protocol", "bugfix", as_="main")
    again = sandbox.run("spawn", "7", "--protocol", "bugfix", as_="main")
    assert again.code == 1 and "already exists" in again.err and "yours already" in again.err
    before = sandbox.snapshot()
    for args in (
        ["spawn", "0", "--protocol", "spir"],
        ["spawn", "-3", "--protocol", "spir"],
        ["spawn", "12", "--protocol", "SPIR"],
        ["spawn", "12"],
        ["spawn", "12", "--protocol", "spir", "--thread", "../x"],
        ["spawn"],
    ):
        result = sandbox.run(*args, as_="main")
        assert result.code == 2, (args, result)
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert sandbox.snapshot() == before


def test_spawn_task_and_no_worktree(sandbox: Sandbox) -> None:
    data = json.loads(
        sandbox.ok("spawn", "--task", "tidy ci", "--no-worktree", "--json", as_="main").out
    )
    assert data["id"].startswith("builder-task-") and len(data["id"]) == len("builder-task-abcd")
    assert data["worktree"] is None
    assert sandbox.refs("refs/heads/builder/")


def test_adopt_and_reassign_keep_history(sandbox: Sandbox) -> None:
    sandbox.git("branch", "builder/air-9")
    sandbox.ok("adopt", "builder/air-9", "--architect", "main", as_="main")
    again = sandbox.ok("adopt", "builder/air-9", "--architect", "main", as_="main")
    assert "nothing changed" in again.out
    sandbox.ok("architect", "add", "payments")
    sandbox.ok("reassign", "9", "--to", "payments", as_="main")
    records = note_of(sandbox, "refs/heads/builder/air-9")
    assert [r["event"] for r in records] == ["adopt", "reassign"]
    assert [r["architect"] for r in records] == ["main", "payments"]
    taken = sandbox.run("adopt", "builder/air-9", "--architect", "main", as_="main")
    assert taken.code == 1 and "reassign" in taken.err


def test_adopt_refuses_a_second_live_builder_for_an_issue_like_spawn(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "42", "--protocol", "spir", as_="main")
    sandbox.git("branch", "builder/bugfix-42")
    before = sandbox.snapshot()
    dup = sandbox.run("adopt", "builder/bugfix-42", as_="payments")
    assert dup.code == 2 and len(dup.err.strip().splitlines()) == 1, dup.err
    assert "issue 42 already has a live builder: builder-spir-42 of main" in dup.err
    assert "reassign builder-spir-42 --to payments" in dup.err
    assert "adopt it anyway with --force --reason TEXT" in dup.err
    assert sandbox.snapshot() == before  # nothing written, not even the architect registry
    assert sandbox.run("adopt", "builder/bugfix-42", "--reason", "x", as_="payments").code == 2
    forced = sandbox.ok(
        "adopt", "builder/bugfix-42", "--force", "--reason", "hotfix first", "--json",
        as_="payments",
    )  # fmt: skip
    data = json.loads(forced.out)
    assert data["changed"] is True and data["forced"] is True
    assert data["reason"] == "hotfix first; overrides builder-spir-42 of main"
    last = note_of(sandbox, "refs/heads/builder/bugfix-42")[-1]
    assert last["event"] == "adopt" and last["force"] is True and last["reason"] == data["reason"]
    # a released builder does not count: its issue may be adopted again
    sandbox.ok("release", "bugfix-42", as_="payments")
    sandbox.ok("release", "spir-42", as_="main")
    sandbox.ok("adopt", "builder/bugfix-42", as_="payments")


def test_adopts_and_spawns_racing_for_one_issue_record_one_builder(sandbox: Sandbox) -> None:
    """The check runs inside the compare-and-swap that writes the record, for adopt as for
    spawn: of adopts of eight branches and spawns racing for issue 600, exactly one wins."""
    protocols = ("air", "pir", "bugfix", "spike", "tick", "maint", "exp", "doc")
    for proto in protocols:
        sandbox.git("branch", f"builder/{proto}-600")
    calls = [["adopt", f"builder/{proto}-600"] for proto in protocols]
    calls += [["spawn", "600", "--protocol", "spir", "--no-worktree"] for _ in range(4)]
    procs = [
        subprocess.Popen(
            ["git", "codev", *args],
            cwd=sandbox.root,
            env={**os.environ, "CODEV_ARCHITECT_NAME": "main" if n % 2 else "payments"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n, args in enumerate(calls)
    ]
    won = 0
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        if proc.returncode == 0:
            won += 1
        else:
            # a refusal (exit 2) or, for a builder made a moment before, "already exists"
            duplicate = b"issue 600 already has a live builder" in err
            assert duplicate or b"already exists" in err, err
            assert proc.returncode == (2 if duplicate else 1), err
    rows = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert [r["issueNumber"] for r in rows] == [600]
    assert won == 1


def test_unowned_builder_worktree_fails_loudly_or_uses_configured_default(
    sandbox: Sandbox,
) -> None:
    wt = sandbox.root / ".builders" / "spir-5"
    sandbox.git("worktree", "add", "-q", "-b", "builder/spir-5", str(wt))
    result = sandbox.run("send", "architect", "hello", cwd=wt, as_="main")
    assert result.code == 2 and "git codev adopt builder/spir-5" in result.err
    assert not sandbox.refs("refs/codev/")
    sandbox.git("config", "codev.defaultArchitect", "payments")
    sent = sandbox.run("send", "architect", "hello", cwd=wt)
    assert sent.code == 0 and "codev.defaultArchitect" in sent.err
    assert "refs/codev/inbox/payments" in sandbox.refs("refs/codev/")


# -- send / inbox --------------------------------------------------------------------------------
def test_messages_reach_only_the_spawning_architect(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b1487 = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "spec ready for review", cwd=b1487)
    main = sandbox.ok("inbox", as_="main").out
    assert "### [BUILDER builder-spir-1487 MESSAGE |" in main
    assert "spec ready for review" in main
    payments = sandbox.ok("inbox", "--json", as_="payments").out
    assert json.loads(payments)["messages"] == []
    # read now: a second look shows nothing new, --all shows it again
    assert "no unread" in sandbox.ok("inbox", as_="main").out
    assert "spec ready" in sandbox.ok("inbox", "--all", as_="main").out


def test_peek_limit_and_order(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1481")
    for n in range(5):
        sandbox.ok("send", "architect", f"m{n}", cwd=b)
    peek = json.loads(sandbox.ok("inbox", "--peek", "--json", as_="payments").out)
    assert [m["message"] for m in peek["messages"]] == [f"m{n}" for n in range(5)]
    assert peek["markedRead"] == 0
    first = json.loads(sandbox.ok("inbox", "--limit", "2", "--json", as_="payments").out)
    assert [m["message"] for m in first["messages"]] == ["m0", "m1"]
    rest = json.loads(sandbox.ok("inbox", "--json", as_="payments").out)
    assert [m["message"] for m in rest["messages"]] == ["m2", "m3", "m4"]


def test_architect_to_builder_and_broadcast(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    sandbox.ok("send", "1487", "please rebase", as_="main")
    sandbox.ok("send", "broadcast", "freeze at 5pm", as_="payments")
    b = sandbox.builder_dir("spir-1487")
    text = sandbox.ok("inbox", cwd=b).out
    assert "### [ARCHITECT INSTRUCTION |" in text and "please rebase" in text
    assert "### [BROADCAST FROM architect:payments |" in text
    main = sandbox.ok("inbox", as_="main").out
    assert "freeze at 5pm" in main and "please rebase" not in main


def test_routing_refusals_write_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    before = sandbox.snapshot()
    cases = [
        (b, ["send", "architect:payments", "psst"]),  # a builder naming another architect
        (sandbox.root, ["send", "architect", "hi"]),  # an architect using the builder form
        (sandbox.root, ["send", "9999", "hi"]),  # unknown builder
        (sandbox.root, ["send", "architect:../x", "hi"]),
        (b, ["send", "architect", ""]),
        (b, ["send", "architect", "   \n"]),
        (b, ["send", "architect"]),
    ]
    for cwd, args in cases:
        result = sandbox.run(*args, cwd=cwd, as_="main")
        assert result.code == 2, (args, result)
        assert len(result.err.strip().splitlines()) == 1, result.err
    big = sandbox.run("send", "architect", "x" * (64 * 1024 + 1), cwd=b)
    assert big.code == 2 and "limit" in big.err
    outside = run_inprocess(tmp_path, ["send", "architect", "hi"], {"CODEV_ARCHITECT_NAME": "main"})
    assert outside.code == 2 and "not inside a git repository" in outside.err
    assert sandbox.snapshot() == before


def test_message_from_stdin_and_file_stored_exactly(sandbox: Sandbox, tmp_path: Path) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    payload = b"line one\r\n\x1b[2J\x00nul and \xff bad utf8\n\n"
    sandbox.ok("send", "architect", "-", cwd=b, stdin=payload)
    f = tmp_path / "msg.txt"
    f.write_bytes(b"from a file\n")
    sandbox.ok("send", "architect", "--file", str(f), cwd=b)
    data = json.loads(sandbox.ok("inbox", "--peek", "--json", as_="main").out)
    import base64

    assert base64.b64decode(data["messages"][0]["messageBase64"]) == payload
    assert data["messages"][1]["message"] == "from a file\n"
    text = sandbox.ok("inbox", as_="main").out
    assert "\x1b" not in text and "\\e[2J" in text and "\\r" in text and "\\x00" in text


def test_rebased_builder_still_routes(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    (b / "work.txt").write_text("one\n")
    git(b, "add", "work.txt")
    git(b, "commit", "-q", "-m", "work")
    (sandbox.root / "other.txt").write_text("main moved\n")
    sandbox.git("add", "other.txt")
    sandbox.git("commit", "-q", "-m", "main moves on")
    git(b, "rebase", "-q", "main")
    git(b, "commit", "-q", "--amend", "-m", "work, amended")
    sandbox.ok("send", "architect", "rebased and still mine", cwd=b)
    assert "rebased and still mine" in sandbox.ok("inbox", as_="main").out
    assert "rebased" not in sandbox.ok("inbox", as_="payments").out


def test_reassigned_builder_routes_to_new_owner_and_old_messages_verify(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "before", cwd=b)
    sandbox.ok("reassign", "builder-spir-1487", "--to", "payments", as_="main")
    sandbox.ok("send", "architect", "after", cwd=b)
    main = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    pay = json.loads(sandbox.ok("inbox", "--json", as_="payments").out)["messages"]
    assert [m["message"] for m in main] == ["before"] and main[0]["verified"] is True
    assert [m["message"] for m in pay] == [
        "ownership: builder-spir-1487 now belongs to payments (was main); reassigned by main",
        "after",
    ]
    assert all(m["verified"] for m in pay)


# -- status --------------------------------------------------------------------------------------
def test_status_filters_and_json_fields(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1481")
    (b / "f.txt").write_text("x\n")
    git(b, "add", "f.txt")
    git(b, "commit", "-q", "-m", "work")
    sandbox.ok("send", "architect", "hello", cwd=b)
    data = json.loads(sandbox.ok("status", "--architect", "payments", "--json").out)
    assert [x["id"] for x in data["builders"]] == ["builder-spir-1481"]
    row = data["builders"][0]
    assert row["spawnedByArchitect"] == "payments" and row["protocolName"] == "spir"
    assert row["issueNumber"] == 1481 and row["branch"] == "builder/spir-1481"
    assert row["worktree"] == str(b) and row["ahead"] == 1 and row["branchState"] == "active"
    archs = {a["name"]: a["unread"] for a in data["architects"]}
    assert archs == {"main": 0, "payments": 1}
    every = json.loads(sandbox.ok("status", "--json").out)
    assert len(every["builders"]) == 2
    mine = json.loads(sandbox.ok("status", "--mine", "--json", as_="main").out)
    assert [x["id"] for x in mine["builders"]] == ["builder-spir-1487"]
    sandbox.git("merge", "-q", "builder/spir-1481")
    merged = json.loads(sandbox.ok("status", "--architect", "payments", "--json").out)
    assert merged["builders"][0]["branchState"] == "merged"


# -- the installed entry point -------------------------------------------------------------------
def test_git_codev_entry_point_end_to_end(sandbox: Sandbox) -> None:
    env = {"CODEV_ARCHITECT_NAME": "main"}
    assert run_subprocess(sandbox.root, ["spawn", "3", "--protocol", "air"], env).code == 0
    b = sandbox.builder_dir("air-3")
    sent = run_subprocess(b, ["send", "architect", "via git"], env)
    assert sent.code == 0, sent.err
    inbox = run_subprocess(sandbox.root, ["inbox"], env)
    assert "via git" in inbox.out and "builder-air-3" in inbox.out
    bad = run_subprocess(sandbox.root, ["send"], env)
    assert bad.code == 2 and "Traceback" not in bad.err
    assert len(bad.err.strip().splitlines()) == 1
    module = run_subprocess(sandbox.root, ["--version"], env)
    assert module.code == 0 and "git-codev" in module.out


def test_porcelain_ignores_git_dir_from_the_environment(sandbox: Sandbox, tmp_path: Path) -> None:
    """A hook runs with GIT_DIR set; git's own CLI must still act on the right repository."""
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    env: dict[str, str | None] = {
        "GIT_DIR": str(other / ".git"),
        "GIT_INDEX_FILE": str(other / ".git" / "index"),
    }
    result = sandbox.run("spawn", "5", "--protocol", "spir", as_="main", env=env)
    assert result.code == 0, result.err
    assert sandbox.builder_dir("spir-5").is_dir()
    assert "spir-5" not in git(other, "worktree", "list")


def test_status_on_another_clone_reads_remote_tracking_branches(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    (b / "w.txt").write_text("w\n")
    git(b, "add", "w.txt")
    git(b, "commit", "-q", "-m", "work")
    clone = tmp_path / "laptop"
    git(tmp_path, "clone", "-q", str(sandbox.root), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/notes/codev/*:refs/notes/codev/*")
    rows = json.loads(run_inprocess(clone, ["status", "--json"]).out)["builders"]
    assert [(r["id"], r["branchState"], r["ahead"], r["remoteBranch"]) for r in rows] == [
        ("builder-spir-1487", "active", 1, "origin/builder/spir-1487")
    ]
    assert "(from origin/builder/spir-1487)" in run_inprocess(clone, ["status"]).out


def test_message_arriving_during_inbox_stays_unread(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codev_git.messaging.inbox as inbox_module

    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "first", cwd=b)
    real_verify = inbox_module.verify

    def verify_while_a_builder_sends(*args: object, **kwargs: object) -> object:
        run_subprocess(b, ["send", "architect", "arrived during inbox"])
        return real_verify(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox_module, "verify", verify_while_a_builder_sends)
    first = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    monkeypatch.setattr(inbox_module, "verify", real_verify)
    assert [m["message"] for m in first] == ["first"]
    later = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in later] == ["arrived during inbox"]


def test_all_with_limit_marks_nothing_it_did_not_show(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    for n in range(1, 6):
        sandbox.ok("send", "architect", f"m{n}", cwd=b)
    newest = json.loads(sandbox.ok("inbox", "--all", "--limit", "2", "--json", as_="main").out)
    assert [m["message"] for m in newest["messages"]] == ["m4", "m5"]
    rest = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in rest] == ["m1", "m2", "m3", "m4", "m5"]


def test_adopt_refuses_the_main_worktree_branch(sandbox: Sandbox) -> None:
    before = sandbox.snapshot()
    refused = sandbox.run("adopt", "main", "--architect", "main", as_="main")
    assert refused.code == 2 and "--force" in refused.err
    assert sandbox.snapshot() == before
    sandbox.git("checkout", "-q", "-b", "feature")
    mine = sandbox.run("adopt", "feature", "--architect", "main", as_="main")
    assert mine.code == 2 and "main worktree" in mine.err
    sandbox.ok("adopt", "feature", "--architect", "main", "--force", as_="main")
    assert json.loads(sandbox.ok("whoami", "--json").out)["type"] == "builder"


def test_release_undoes_a_mistaken_adopt_and_keeps_history(sandbox: Sandbox) -> None:
    sandbox.ok("adopt", "main", "--architect", "main", "--force", as_="main")
    assert json.loads(sandbox.ok("whoami", "--json", as_="payments").out)["type"] == "builder"
    sandbox.ok("release", "builder-main", as_="main")
    who = json.loads(sandbox.ok("whoami", "--json", as_="payments").out)
    assert who["type"] == "architect" and who["name"] == "payments"
    assert json.loads(sandbox.ok("status", "--json").out)["builders"] == []
    records = note_of(sandbox, "refs/heads/main")
    assert [r["event"] for r in records] == ["adopt", "release"]
    assert sandbox.run("release", "builder-main", as_="main").code == 2  # nothing to release


def test_reassign_moves_a_builder_into_the_new_owners_thread(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "checkout-v2", as_="main")
    sandbox.ok("thread", "new", "refunds", as_="payments")
    sandbox.ok("thread", "new", "ledger", as_="payments")
    sandbox.ok("spawn", "1487", "--protocol", "spir", "--thread", "checkout-v2", as_="main")
    b = sandbox.builder_dir("spir-1487")
    before = sandbox.snapshot()
    refusals = {
        ("--thread", "nope"): "thread nope is not an active thread at HEAD",
        ("--thread", "checkout-v2"): "thread checkout-v2 belongs to main, not payments",
        ("--thread", "refunds", "--no-thread"): "contradict each other",
    }
    for args, said in refusals.items():
        refused = sandbox.run("reassign", "1487", "--to", "payments", *args, as_="main")
        assert refused.code == 2 and said in refused.err, refused.err
        assert len(refused.err.strip().splitlines()) == 1
    assert sandbox.snapshot() == before  # nothing written

    moved = json.loads(
        sandbox.ok(
            "reassign", "1487", "--to", "payments", "--thread", "refunds", "--json", as_="main"
        ).out
    )
    assert moved["thread"] == "refunds" and moved["spawnedByArchitect"] == "payments"
    tag = b / ".thread"  # its first line names the thread
    assert tag.read_text().splitlines()[:2] == ["refunds", "architect: payments"]
    row = json.loads(sandbox.ok("status", "--thread", "refunds", "--json").out)["builders"]
    assert [r["id"] for r in row] == ["builder-spir-1487"]
    told = json.loads(sandbox.ok("inbox", "--json", as_="payments").out)["messages"]
    assert told[-1]["message"].endswith("reassigned by main; thread refunds")

    # the owner moves it between its own threads; then out of any
    sandbox.ok("reassign", "1487", "--to", "payments", "--thread", "ledger", as_="payments")
    assert tag.read_text().splitlines()[0] == "ledger"
    out = json.loads(
        sandbox.ok(
            "reassign", "1487", "--to", "payments", "--no-thread", "--json", as_="payments"
        ).out
    )
    assert "thread" not in out and out["changed"] is True
    assert tag.read_text().splitlines()[0] == ""
    again = sandbox.ok("reassign", "1487", "--to", "payments", "--no-thread", as_="payments")
    assert "nothing changed" in again.out


def test_reassign_without_thread_says_the_builder_stays_in_the_old_one(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "checkout-v2", as_="main")
    sandbox.ok("spawn", "1487", "--protocol", "spir", "--thread", "checkout-v2", as_="main")
    kept = sandbox.ok("reassign", "1487", "--to", "payments", as_="main")
    assert "stays in thread checkout-v2" in kept.err and "--thread" in kept.err
    status = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert status[0]["thread"] == "checkout-v2"
