"""Acknowledgements: send --ack/--urgent, ack, reply, and what the sender sees waiting."""

from __future__ import annotations

import json

from tests.helpers import Sandbox


def test_ack_requested_shows_in_status_until_acknowledged(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    sent = json.loads(
        sandbox.ok("send", "architect", "may I merge?", "--ack", "--urgent", "--json", cwd=b).out
    )
    assert sent["ack"] == "requested" and sent["importance"] == "urgent"
    raw = sandbox.git("cat-file", "commit", sent["id"])
    assert "Codev-Ack: requested\n" in raw and "Codev-Importance: urgent\n" in raw

    status = json.loads(sandbox.ok("status", "--json").out)
    [waiting] = status["pendingAcks"]
    assert waiting["id"] == sent["id"]
    assert waiting["awaiting"] == "architect:main"
    assert waiting["from"] == "builder-spir-1487"
    assert isinstance(waiting["ageSeconds"], int)
    assert "awaiting answers:" in sandbox.ok("status").out
    inbox = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert inbox[0]["ack"] == "requested" and inbox[0]["importance"] == "urgent"

    acked = json.loads(sandbox.ok("ack", sent["id"][:10], "--json", as_="main").out)
    assert acked["replyTo"] == sent["id"] and acked["to"] == "builder-spir-1487"
    raw = sandbox.git("cat-file", "commit", acked["id"])
    assert f"Codev-Reply-To: {sent['id']}\n" in raw and "Codev-Kind: ack\n" in raw
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []


def test_a_reply_acknowledges_but_a_reply_from_someone_else_does_not(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    asked = json.loads(
        sandbox.ok("send", "1487", "ready to merge?", "--ack", "--json", as_="main").out
    )
    # another architect answering does not count: only the recipient's answer does
    sandbox.ok("architect", "add", "payments")
    sandbox.ok("send", "architect:payments", "hello", as_="main")
    status = json.loads(sandbox.ok("status", "--json", "--architect", "main").out)
    assert [a["id"] for a in status["pendingAcks"]] == [asked["id"]]
    sandbox.ok("reply", asked["id"], "yes, merged", cwd=b)
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []


def test_ack_refuses_what_is_not_a_message(sandbox: Sandbox) -> None:
    result = sandbox.run("ack", "zz", as_="main")
    assert result.code == 2 and "not a message id" in result.err
