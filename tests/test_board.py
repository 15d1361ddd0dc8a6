"""The board (status --by-architect), the issue ledger, stale bases, thread history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import Sandbox, git


def commit_work(worktree: Path, name: str = "work.txt") -> None:
    (worktree / name).write_text("work\n")
    git(worktree, "add", name)
    git(worktree, "commit", "-q", "-m", f"add {name}")


def architects(box: Sandbox) -> dict[str, Any]:
    data = json.loads(box.ok("status", "--by-architect", "--json").out)
    return {a["name"]: a for a in data["architects"]}


def test_board_groups_everything_by_architect(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("spawn", "1481", "--protocol", "spir", "--architect", "payments", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "plain note", cwd=b)
    sent = sandbox.ok("send", "architect", "may I merge?", "--ack", "--json", cwd=b).out
    asked = json.loads(sent)["id"]
    sent = sandbox.ok("send", "1481", "confirm the plan", "--ack", "--json", as_="main").out
    mine = json.loads(sent)["id"]
    board = architects(sandbox)
    assert set(board) == {"main", "payments"}
    main, pay = board["main"], board["payments"]
    assert [x["id"] for x in main["builders"]] == ["builder-spir-1487"]
    assert [x["id"] for x in pay["builders"]] == ["builder-spir-1481"]
    assert main["builders"][0]["branchState"] == "new" and main["builders"][0]["phase"] is None
    project = b / "codev" / "projects" / "1487-checkout"
    project.mkdir(parents=True)
    (project / "status.yaml").write_text("id: 1487\ntitle: x\nprotocol: spir\nphase: implement\n")
    assert architects(sandbox)["main"]["builders"][0]["phase"] == "implement"
    assert main["unread"] == 2
    assert [a["id"] for a in main["owes"]] == [asked]
    assert [a["id"] for a in main["owed"]] == [mine]
    assert main["owed"][0]["awaiting"] == "builder-spir-1481"
    assert main["lastActivity"].endswith("Z")
    sandbox.ok("reply", asked, "yes", as_="main")  # an answer from the recipient
    assert architects(sandbox)["main"]["owes"] == []
    text = sandbox.ok("status", "--by-architect").out
    assert "architect main" in text and "architect payments" in text
    assert "builder-spir-1481" in text.split("architect payments")[1]
    refused = sandbox.run("status", "--by-architect", "--mine", as_="main")
    assert refused.code == 2


def test_issue_ledger_lists_live_and_merged_builders(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "7", "--protocol", "spir", as_="main")
    commit_work(sandbox.builder_dir("spir-7"))
    sandbox.git("merge", "-q", "builder/spir-7")
    sandbox.ok("spawn", "7", "--protocol", "bugfix", as_="payments")
    sandbox.ok("spawn", "9", "--protocol", "air", "--no-worktree", as_="ops")
    sandbox.ok("spawn", "--task", "tidy", "--no-worktree", as_="ops")
    data = json.loads(sandbox.ok("issues-owned", "--json").out)["issues"]
    ledger = {
        e["issueNumber"]: [
            (b["id"], b["spawnedByArchitect"], b["branchState"]) for b in e["builders"]
        ]
        for e in data
    }
    assert ledger == {
        7: [("builder-bugfix-7", "payments", "new"), ("builder-spir-7", "main", "merged")],
        9: [("builder-air-9", "ops", "new")],
    }
    text = sandbox.ok("issues-owned").out
    assert "builder-spir-7" in text and "merged" in text


def test_status_flags_builders_far_behind_the_base(sandbox: Sandbox) -> None:
    sandbox.git("config", "codev.staleBaseCommits", "2")
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    for n in range(3):
        commit_work(sandbox.root, f"main-{n}.txt")
    row = json.loads(sandbox.ok("status", "--json").out)["builders"][0]
    assert row["behind"] == 3 and row["staleBase"] is True
    assert "STALE" in sandbox.ok("status").out
    sandbox.git("config", "codev.staleBaseCommits", "5")
    assert json.loads(sandbox.ok("status", "--json").out)["builders"][0]["staleBase"] is False


def test_thread_refresh_keeps_old_builders_in_a_collapsed_history(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    (sandbox.root / "codev" / "README.md").write_text("codev state\n")
    sandbox.git("add", "codev")
    sandbox.git("commit", "-q", "-m", "codev dir")
    sandbox.ok("thread", "new", "long", "--headline", "A long one", as_="main")
    sandbox.git("config", "codev.threadHistory", "1")
    for n in (1, 2, 3):
        sandbox.ok("spawn", str(n), "--protocol", "spir", "--thread", "long", as_="main")
        commit_work(sandbox.builder_dir(f"spir-{n}"), f"w{n}.txt")
        sandbox.git("merge", "-q", "--no-edit", f"builder/spir-{n}")
    sandbox.ok("spawn", "4", "--protocol", "spir", "--thread", "long", as_="main")
    sandbox.ok("thread", "refresh", "long", as_="main")
    text = (sandbox.root / "codev" / "long-thread.md").read_text()
    roster = text.split("<!-- codev:roster:begin -->")[1].split("<!-- codev:roster:end -->")[0]
    table, history = roster.split("<details>")
    assert "| builder-spir-4 |" in table and "| builder-spir-3 |" in table
    assert "builder-spir-1" not in table and "builder-spir-2" not in table
    assert "<summary>History: 2 earlier builders</summary>" in history
    assert "(builder-spir-1): merged" in history and "(builder-spir-2): merged" in history
    merges = text.split("<!-- codev:merges:begin -->")[1].split("<!-- codev:merges:end -->")[0]
    assert "builder-spir-1" not in merges and "builder-spir-4" in merges
