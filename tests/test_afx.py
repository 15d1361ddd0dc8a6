"""adopt --from-afx against real SQLite files made with afx's schemas."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from tests.helpers import Sandbox

GLOBAL_SCHEMA = """
CREATE TABLE builders (
  workspace_path TEXT NOT NULL, id TEXT NOT NULL, name TEXT, status TEXT, phase TEXT,
  worktree TEXT, branch TEXT, type TEXT, task_text TEXT, protocol_name TEXT,
  issue_number INTEGER, spawned_by_architect TEXT, started_at TEXT, updated_at TEXT,
  PRIMARY KEY (workspace_path, id));
CREATE TABLE architect (workspace_path TEXT, id TEXT);
"""
OLD_SCHEMA = """
CREATE TABLE builders (
  id TEXT PRIMARY KEY, name TEXT, status TEXT, phase TEXT, worktree TEXT, branch TEXT,
  type TEXT, task_text TEXT, protocol_name TEXT, issue_number INTEGER,
  started_at TEXT, updated_at TEXT);
"""


def make_db(path: Path, schema: str, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    for row in rows:
        keys = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO builders ({keys}) VALUES ({marks})", list(row.values()))
    conn.commit()
    conn.close()


def test_adopt_from_global_db_picks_this_workspace_only(sandbox: Sandbox, tmp_path: Path) -> None:
    for name in ("builder/spir-1487", "builder/spir-1481", "builder/bugfix-7"):
        sandbox.git("branch", name)
    farm = tmp_path / "farm"
    ws = os.path.realpath(sandbox.root)
    make_db(
        farm / "global.db",
        GLOBAL_SCHEMA,
        [
            {
                "workspace_path": ws,
                "id": "builder-spir-1487",
                "branch": "builder/spir-1487",
                "protocol_name": "spir",
                "issue_number": 1487,
                "spawned_by_architect": "main",
            },
            {
                "workspace_path": ws,
                "id": "builder-spir-1481",
                "branch": "builder/spir-1481",
                "protocol_name": "spir",
                "issue_number": 1481,
                "spawned_by_architect": "payments",
            },
            {
                "workspace_path": ws,
                "id": "builder-bugfix-7",
                "branch": "builder/bugfix-7",
                "protocol_name": "bugfix",
                "issue_number": 7,
                "spawned_by_architect": None,
            },
            {
                "workspace_path": ws,
                "id": "builder-spir-9",
                "branch": "builder/spir-9",
                "spawned_by_architect": "main",
            },
            {
                "workspace_path": "/elsewhere",
                "id": "builder-x-1",
                "branch": "builder/spir-1487",
                "spawned_by_architect": "other",
            },
        ],
    )
    before = (farm / "global.db").read_bytes()
    env = {"CODEV_AGENT_FARM_DIR": str(farm)}
    out = json.loads(sandbox.ok("adopt", "--from-afx", "--json", env=env).out)
    result = {b["id"]: (b["changed"], b["why"]) for b in out["builders"]}
    assert result["builder-spir-1487"][0] and result["builder-spir-1481"][0]
    assert not result["builder-bugfix-7"][0] and "--architect" in result["builder-bugfix-7"][1]
    assert not result["builder-spir-9"][0] and "does not exist" in result["builder-spir-9"][1]
    assert "builder-x-1" not in result
    assert (farm / "global.db").read_bytes() == before  # read-only
    status = json.loads(sandbox.ok("status", "--json").out)["builders"]
    owners = {b["id"]: (b["spawnedByArchitect"], b["issueNumber"]) for b in status}
    assert owners == {"builder-spir-1487": ("main", 1487), "builder-spir-1481": ("payments", 1481)}
    again = sandbox.ok("adopt", "--from-afx", env=env).out
    assert "0 adopted" in again and "already recorded" in again
    fallback = sandbox.ok("adopt", "--from-afx", "--architect", "main", env=env).out
    assert "adopted builder-bugfix-7" in fallback


def test_adopt_from_old_per_repo_db(sandbox: Sandbox) -> None:
    sandbox.git("branch", "builder/air-3")
    make_db(
        sandbox.root / ".agent-farm" / "state.db",
        OLD_SCHEMA,
        [
            {
                "id": "builder-air-3",
                "branch": "builder/air-3",
                "protocol_name": "air",
                "issue_number": 3,
            }
        ],
    )
    missing = sandbox.run("adopt", "--from-afx")
    assert missing.code == 0 and "pass --architect" in missing.out
    done = sandbox.ok("adopt", "--from-afx", "--architect", "payments")
    assert "adopted builder-air-3" in done.out
    assert "state.db" in done.out


def test_adopt_from_afx_errors(sandbox: Sandbox, tmp_path: Path) -> None:
    nowhere = sandbox.run("adopt", "--from-afx", env={"CODEV_AGENT_FARM_DIR": str(tmp_path)})
    assert nowhere.code == 1 and "--db" in nowhere.err
    typo = sandbox.run("adopt", "--from-afx", "--db", str(tmp_path / "glbal.db"))
    assert typo.code == 2 and len(typo.err.strip().splitlines()) == 1  # a path given: bad input
    assert "no afx database at" in typo.err and "check the --db path" in typo.err
    bad = tmp_path / "not.db"
    bad.write_text("not sqlite")
    result = sandbox.run("adopt", "--from-afx", "--db", str(bad))
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    both = sandbox.run("adopt", "builder/x", "--from-afx")
    assert both.code == 2


def test_untrusted_rows_are_skipped_not_fatal(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.git("branch", "builder/air-5")
    ws = os.path.realpath(sandbox.root)
    schema = GLOBAL_SCHEMA.replace("workspace_path TEXT NOT NULL", "workspace_path TEXT").replace(
        "PRIMARY KEY (workspace_path, id)", "PRIMARY KEY (id)"
    )
    make_db(
        tmp_path / "global.db",
        schema,
        [
            {
                "workspace_path": None,
                "id": "builder-orphan",
                "branch": "builder/air-5",
                "spawned_by_architect": "main",
            },
            {
                "workspace_path": ws,
                "id": "builder-x\x1b[2J",
                "branch": "../../x",
                "spawned_by_architect": "main",
            },
            {
                "workspace_path": ws,
                "id": "builder-tag",
                "branch": "refs/tags/v1",
                "spawned_by_architect": "main",
            },
            {
                "workspace_path": ws,
                "id": "builder-air-5",
                "branch": "builder/air-5",
                "protocol_name": "A\x1bB",
                "spawned_by_architect": "payments",
            },
        ],
    )
    result = sandbox.run("adopt", "--from-afx", "--db", str(tmp_path / "global.db"))
    assert result.code == 0, result.err
    assert "\x1b" not in result.out
    assert result.out.count("invalid branch") == 2 and "1 adopted" in result.out
    rows = json.loads(sandbox.ok("status", "--json").out)["builders"]
    assert [(r["id"], r["spawnedByArchitect"], r["protocolName"]) for r in rows] == [
        ("builder-air-5", "payments", None)
    ]


def test_an_afx_row_for_the_base_branch_is_refused_like_adopt_main(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """afx once recorded a builder on `main`: adopting it would make every architect working in
    the main worktree that builder. `adopt --from-afx` refuses it exactly as `adopt main` does."""
    plain = sandbox.run("adopt", "main", "--as", "main")
    assert plain.code == 2 and "refusing to adopt main" in plain.err
    ws = os.path.realpath(sandbox.root)
    row = {"workspace_path": ws, "id": "builder-main", "branch": "main"}
    make_db(tmp_path / "global.db", GLOBAL_SCHEMA, [{**row, "spawned_by_architect": "main"}])
    result = sandbox.ok("adopt", "--from-afx", "--db", str(tmp_path / "global.db"), "--json")
    (outcome,) = json.loads(result.out)["builders"]
    assert outcome["changed"] is False and "refusing to adopt main" in outcome["why"]
    who = sandbox.ok("whoami", env={"CODEV_ARCHITECT_NAME": "main"}).out
    assert "type: architect\nname: main\n" in who, who  # not `builder builder-main`


def test_adopt_from_afx_tags_existing_worktrees_and_reruns_safely(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    wt = sandbox.root / ".builders" / "spir-55"
    sandbox.git("worktree", "add", "-q", "-b", "builder/spir-55", str(wt))
    assert not (wt / ".thread").exists()  # no record yet when afx made it
    farm = tmp_path / "farm"
    row = {
        "workspace_path": os.path.realpath(sandbox.root),
        "id": "builder-spir-55",
        "branch": "builder/spir-55",
        "protocol_name": "spir",
        "issue_number": 55,
        "spawned_by_architect": "payments",
    }
    make_db(farm / "global.db", GLOBAL_SCHEMA, [row])
    env = {"CODEV_AGENT_FARM_DIR": str(farm)}
    first = sandbox.ok("adopt", "--from-afx", env=env).out
    assert "tagged" in first
    tag = (wt / ".thread").read_text()
    assert "architect: payments" in tag and "builder: builder-spir-55" in tag
    again = sandbox.ok("adopt", "--from-afx", env=env).out
    assert "0 adopted" in again and "already right in 1 worktree" in again
    assert (wt / ".thread").read_text() == tag
    assert json.loads(sandbox.ok("whoami", "--json", cwd=wt).out)["architect"] == "payments"


def test_adopt_from_afx_skips_a_second_live_builder_for_an_issue(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """One issue, one builder, as for spawn and adopt BRANCH: a row whose issue already has a
    live builder (recorded in git, another live afx row, or a row adopted earlier in the same
    run) is skipped with why, like any other row that cannot be adopted; the rest are adopted."""
    sandbox.ok("spawn", "42", "--protocol", "spir", "--no-worktree", as_="main")
    for name in ("bugfix-42", "air-7", "pir-7", "air-9", "pir-9", "spir-8"):
        sandbox.git("branch", f"builder/{name}")
    ws = os.path.realpath(sandbox.root)

    def row(name: str, issue: int, status: str = "implementing") -> dict[str, object]:
        proto = name.split("-")[0]
        return {
            "workspace_path": ws,
            "id": f"builder-{name}",
            "branch": f"builder/{name}",
            "protocol_name": proto,
            "issue_number": issue,
            "spawned_by_architect": "payments",
            "status": status,
        }

    rows = [row("bugfix-42", 42), row("air-7", 7), row("pir-7", 7), row("spir-8", 8)]
    rows += [row("air-9", 9, "complete"), row("pir-9", 9, "complete")]
    make_db(tmp_path / "global.db", GLOBAL_SCHEMA, rows)
    db = str(tmp_path / "global.db")
    before = sandbox.snapshot()
    result = sandbox.run("adopt", "--from-afx", "--db", db, "--json")
    assert result.code == 0 and result.err == "", result.err
    out = {b["id"]: (b["changed"], b["why"]) for b in json.loads(result.out)["builders"]}
    assert out["builder-bugfix-42"] == (
        False,
        "issue 42 already has a live builder: builder-spir-42 of main",
    )
    assert out["builder-air-7"] == (
        False,
        "issue 7 already has a live builder: builder-pir-7 of payments (known to afx)",
    )
    assert out["builder-pir-7"] == (
        False,
        "issue 7 already has a live builder: builder-air-7 of payments (known to afx)",
    )
    assert out["builder-spir-8"][0] is True
    # afx calls both finished, yet neither branch is merged: the first is adopted, not both
    nine = sorted((out["builder-air-9"], out["builder-pir-9"]), key=lambda o: not o[0])
    assert nine[0][0] is True and nine[1][0] is False
    assert nine[1][1].startswith("issue 9 already has a live builder: builder-")
    live = json.loads(sandbox.ok("status", "--json").out)["builders"]
    per_issue = sorted(b["issueNumber"] for b in live)
    assert per_issue == [8, 9, 42]
    assert sandbox.snapshot() != before
    text = sandbox.ok("adopt", "--from-afx", "--db", db).out
    assert "skipped builder-bugfix-42: issue 42 already has a live builder" in text
    assert "0 adopted, 6 skipped" in text
    # --force is for one branch at a time, by name
    forced = sandbox.run("adopt", "--from-afx", "--db", db, "--force")
    assert forced.code == 2 and "adopt BRANCH --force" in forced.err
    sandbox.ok("adopt", "builder/air-7", "--force", "--reason", "afx had two", as_="payments")
