"""Delivery at its edges: answers that must reach the right architect, acknowledgements only
a recipient can give, feeds that stop or hand over to a command, and text that must not pass
for a header."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Sandbox, git


def other_workspace(tmp_path: Path, name: str) -> Sandbox:
    """A second repository, initialised like the ``sandbox`` fixture's."""
    root = tmp_path / name
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    (root / "README").write_text("other\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "initial")
    box = Sandbox(root)
    box.ok("init")
    return box


def bodies(box: Sandbox, who: str) -> list[str]:
    found = json.loads(box.ok("inbox", "--peek", "--json", as_=who).out)["messages"]
    return [m["message"] for m in found if not m["message"].startswith("ownership: ")]


def test_an_answer_to_another_workspace_goes_back_to_that_workspace(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # two workspaces, each with an architect "main"
    billing = other_workspace(tmp_path, "billing")
    billing.ok("architect", "add", "ops")
    sandbox.git("config", "codev.workspace.billing.path", str(billing.root))
    billing.git("config", "codev.workspace.repo.path", str(sandbox.root))
    asked = json.loads(
        sandbox.ok(
            "send", "billing:architect:ops", "schema change today?", "--ack", "--json", as_="main"
        ).out
    )
    [got] = json.loads(billing.ok("inbox", "--json", as_="ops").out)["messages"]
    assert got["fromWorkspace"] == "repo"

    billing.ok("reply", asked["id"], "fine by me", as_="ops")
    billing.ok("ack", asked["id"], as_="ops")
    # the answers reach the architect who asked, in its workspace, and nobody else
    assert bodies(sandbox, "main") == ["fine by me", "ack"]
    assert bodies(billing, "main") == []
    [ack] = [
        m
        for m in json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
        if m["message"] == "ack"
    ]
    assert ack["kind"] == "ack" and ack["replyTo"] == asked["id"]
    assert ack["fromWorkspace"] == "billing"


def test_a_builder_cannot_answer_another_workspace_through_its_own_architect(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    billing = other_workspace(tmp_path, "billing")
    billing.ok("spawn", "7", "--protocol", "spir", as_="main")
    sandbox.git("config", "codev.workspace.billing.path", str(billing.root))
    asked = json.loads(sandbox.ok("send", "billing:7", "which schema?", "--json", as_="main").out)
    before = billing.refs("refs/codev/inbox/")
    refused = billing.run("reply", asked["id"], "v2", cwd=billing.builder_dir("spir-7"))
    assert refused.code == 2 and "workspace repo" in refused.err
    assert billing.refs("refs/codev/inbox/") == before  # nothing for billing's own main


def test_only_the_recipient_can_acknowledge_a_message(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("architect", "add", "payments")
    b = sandbox.builder_dir("spir-1487")
    asked = json.loads(
        sandbox.ok("send", "architect", "may I merge?", "--ack", "--json", cwd=b).out
    )
    before = sandbox.refs("refs/codev/")
    refused = sandbox.run("ack", asked["id"], as_="payments")
    assert refused.code == 2, refused.err
    assert "sent to architect:main, not to you" in refused.err
    assert sandbox.refs("refs/codev/") == before  # nothing written
    assert [a["id"] for a in json.loads(sandbox.ok("status", "--json").out)["pendingAcks"]] == [
        asked["id"]
    ]
    # nor can a sender acknowledge its own broadcast; anyone else can
    shout = json.loads(
        sandbox.ok("send", "broadcast", "freeze?", "--ack", "--json", as_="main").out
    )
    assert sandbox.run("ack", shout["id"], as_="main").code == 2
    sandbox.ok("ack", shout["id"], as_="payments")
    sandbox.ok("ack", asked["id"], as_="main")
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []
