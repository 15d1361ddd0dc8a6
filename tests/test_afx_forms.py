"""afx's own forms, written from afx's documented behaviour (shared/CODEV.md): what a Codev
user's muscle memory and Codev's own skills expect from `git codev`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Sandbox, new_sandbox

FOOTER = "#" * 31


def spawn(box: Sandbox, number: str, architect: str = "main", protocol: str = "spir") -> Path:
    box.ok("spawn", number, "--protocol", protocol, as_=architect)
    return box.builder_dir(f"{protocol}-{number}")


# -- whoami --------------------------------------------------------------------------------------
def test_whoami_prints_afx_lines_that_arch_init_parses(sandbox: Sandbox) -> None:
    out = sandbox.ok("whoami", as_="main").out.splitlines()
    assert "type: architect" in out and "name: main" in out
    assert any(line.startswith("decided by: ") for line in out)  # how, as an extra line
    b = spawn(sandbox, "109")
    lines = sandbox.ok("whoami", cwd=b).out.splitlines()
    assert lines[:4] == [
        "workspace: repo",
        "type: builder",
        "name: builder-spir-109",
        "architect: main",
    ]


def test_whoami_workspace_is_a_name_with_the_path_apart(sandbox: Sandbox) -> None:
    data = json.loads(sandbox.ok("whoami", "--json", as_="main").out)
    assert data["workspace"] == "repo" and data["workspacePath"] == str(sandbox.root)
    sandbox.git("config", "codev.workspaceName", "shop")
    assert json.loads(sandbox.ok("whoami", "--json", as_="main").out)["workspace"] == "shop"


def test_whoami_json_failure_is_an_error_object_on_stdout(sandbox: Sandbox) -> None:
    result = sandbox.run("whoami", "--json")
    assert result.code == 2 and result.err == ""
    assert json.loads(result.out)["error"]["code"] == "no-identity"


def test_architect_name_from_the_environment_is_trimmed(sandbox: Sandbox) -> None:
    data = json.loads(sandbox.ok("whoami", "--json", as_="  main \n").out)
    assert data["name"] == "main"
    blank = sandbox.run("whoami", as_="   ")
    assert blank.code == 2 and "cannot tell which architect" in blank.err


# -- status --------------------------------------------------------------------------------------
def test_status_sorted_by_owner_then_id_with_owner_filter_and_phase(sandbox: Sandbox) -> None:
    spawn(sandbox, "30", "zed")
    spawn(sandbox, "20", "alpha")
    spawn(sandbox, "10", "zed")
    b = spawn(sandbox, "5", "alpha")
    porch = b / "codev" / "projects" / "5-login"
    porch.mkdir(parents=True)
    (porch / "status.yaml").write_text("id: 5\ntitle: login\nprotocol: spir\nphase: implement\n")
    data = json.loads(sandbox.ok("status", "--json").out)
    rows = [(r["spawnedByArchitect"], r["id"]) for r in data["builders"]]
    assert rows == sorted(rows) and rows[0] == ("alpha", "builder-spir-20")
    assert data["ownerFilter"] is None
    phases = {r["id"]: r["phase"] for r in data["builders"]}
    assert phases["builder-spir-5"] == "implement" and phases["builder-spir-10"] is None
    text = sandbox.ok("status").out.splitlines()[1:5]
    assert [line.split()[1] for line in text] == ["alpha", "alpha", "zed", "zed"]
    only = json.loads(sandbox.ok("status", "--architect", "zed", "--json").out)
    assert only["ownerFilter"] == "zed" and {r["spawnedByArchitect"] for r in only["builders"]} == {
        "zed"
    }


def test_status_fields_keep_afx_meanings(sandbox: Sandbox) -> None:
    spawn(sandbox, "1")
    row = json.loads(sandbox.ok("status", "--json").out)["builders"][0]
    # afx's status/running/heldCount mean other things: ours have our own names
    assert not {"status", "running", "heldCount"} & set(row)
    assert row["branchState"] == "new" and row["unread"] == 1  # its spawn notice


def test_status_empty_filter_says_no_builders_owned_by(sandbox: Sandbox) -> None:
    spawn(sandbox, "1")
    sandbox.ok("architect", "add", "payments")
    result = sandbox.ok("status", "--architect", "payments")
    assert "no builders owned by payments" in result.err
    mine = sandbox.ok("status", "--mine", as_="payments")
    assert "no builders owned by payments" in mine.err


# -- send ----------------------------------------------------------------------------------------
def inbox(box: Sandbox, **kwargs: object) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = json.loads(box.ok("inbox", "--json", **kwargs).out)[
        "messages"
    ]
    # leave out the ownership announcements (spawn notices) a builder starts with
    return [m for m in messages if not str(m["message"]).startswith("ownership: ")]


def test_send_all_is_broadcast(sandbox: Sandbox) -> None:
    b = spawn(sandbox, "1")
    sent = json.loads(sandbox.ok("send", "--all", "freeze", "--json", as_="main").out)
    assert sent["to"] == "broadcast"
    assert [m["message"] for m in inbox(sandbox, cwd=b)] == ["freeze"]


def test_arch_is_short_for_architect_and_targets_ignore_case(sandbox: Sandbox) -> None:
    b = spawn(sandbox, "109")
    sandbox.ok("send", "arch", "one", cwd=b)
    sandbox.ok("send", "ARCHITECT", "two", cwd=b)
    sandbox.ok("send", "Builder-SPIR-109", "three", as_="main")
    assert [m["message"] for m in inbox(sandbox, as_="main")] == ["one", "two"]
    assert [m["message"] for m in inbox(sandbox, cwd=b)] == ["three"]


def test_numeric_tail_ignores_leading_zeros(sandbox: Sandbox) -> None:
    b = spawn(sandbox, "109")
    sent = json.loads(sandbox.ok("send", "0109", "hello", "--json", as_="main").out)
    assert sent["to"] == "builder-spir-109"
    assert [m["message"] for m in inbox(sandbox, cwd=b)] == ["hello"]


def test_builder_may_name_its_own_architect(sandbox: Sandbox) -> None:
    sandbox.ok("architect", "add", "payments")
    b = spawn(sandbox, "1", "payments")
    sandbox.ok("send", "architect:payments", "mine", cwd=b)
    assert [m["message"] for m in inbox(sandbox, as_="payments")] == ["mine"]
    spoof = sandbox.run("send", "architect:main", "not mine", cwd=b)
    assert spoof.code == 2 and "only write to its own architect" in spoof.err


def test_file_with_a_message_is_attached_below_it(sandbox: Sandbox, tmp_path: Path) -> None:
    b = spawn(sandbox, "1")
    notes = tmp_path / "notes.md"
    notes.write_text("line one\nline two\n")
    sandbox.ok("send", "architect", "please review", "--file", str(notes), cwd=b)
    (msg,) = inbox(sandbox, as_="main")
    assert msg["message"] == "please review\n\nline one\nline two\n"


def test_afx_delivery_flags_are_accepted_and_said_to_be_ignored(sandbox: Sandbox) -> None:
    b = spawn(sandbox, "1")
    for flags in (["--raw"], ["--no-enter"], ["--interrupt"], ["--delay", "500"]):
        result = sandbox.ok("send", "architect", "x", *flags, cwd=b)
        assert flags[0] in result.err and "git codev" in result.err
    assert len(inbox(sandbox, as_="main")) == 4


def test_framed_text_ends_with_afx_footer(sandbox: Sandbox) -> None:
    b = spawn(sandbox, "1")
    sandbox.ok("send", "architect", "spec ready", cwd=b)
    out = sandbox.ok("inbox", as_="main").out
    lines = out.rstrip("\n").splitlines()
    assert lines[0].startswith("### [BUILDER builder-spir-1 MESSAGE | ")
    assert lines[1] == "spec ready" and lines[2] == FOOTER


def test_cross_workspace_addressing(sandbox: Sandbox, tmp_path: Path) -> None:
    other = tmp_path / "billing"
    box = new_sandbox(other, "x\n")
    unknown = sandbox.run("send", "billing:architect:main", "x", as_="main")
    assert unknown.code == 2 and "git config codev.workspace.billing.path" in unknown.err
    sandbox.git("config", "codev.workspace.billing.path", str(other))
    sent = json.loads(
        sandbox.ok("send", "billing:architect:main", "schema lands today", "--json", as_="main").out
    )
    assert sent["to"] == "billing:architect:main"
    (msg,) = inbox(box, as_="main")
    assert msg["message"] == "schema lands today" and msg["fromWorkspace"] == "repo"
    assert msg["from"] == "architect:main"
    sandbox.ok("send", "billing:architect:main", "again", as_="main")
    assert "from workspace repo" in box.ok("inbox", as_="main").out
    ghost = sandbox.run("send", "billing:architect:ghost", "x", as_="main")
    assert ghost.code == 2 and "no architect named ghost" in ghost.err
    b = spawn(sandbox, "1")
    refused = sandbox.run("send", "billing:architect:main", "x", cwd=b)
    assert refused.code == 2
