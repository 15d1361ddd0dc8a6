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


# -- released builders ------------------------------------------------------------------------
def _owes(sandbox: Sandbox, architect: str) -> list[str]:
    """Ids of the questions the board says ``architect`` owes an answer to."""
    board = json.loads(sandbox.ok("status", "--by-architect", "--json").out)
    row = next(a for a in board["architects"] if a["name"] == architect)
    return [m["id"] for m in row["owes"]]


def test_a_released_builders_question_is_still_answered_by_its_architect(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    q1 = json.loads(sandbox.ok("send", "architect", "merge now?", "--ack", "--json", cwd=b).out)
    q2 = json.loads(sandbox.ok("send", "architect", "and tag?", "--ack", "--json", cwd=b).out)
    sandbox.ok("release", "1487", as_="main")  # the builder is done; its questions are not
    pending = json.loads(sandbox.ok("status", "--json").out)["pendingAcks"]
    assert [a["id"] for a in pending] == [q1["id"], q2["id"]]

    acked = json.loads(sandbox.ok("ack", q1["id"][:10], "--json", as_="main").out)
    assert acked["replyTo"] == q1["id"] and acked["to"] == "builder-spir-1487"
    replied = sandbox.ok("reply", q2["id"], "no tag, thanks", as_="main")
    assert "builder-spir-1487" in replied.out

    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []
    primed = json.loads(sandbox.ok("prime", "--peek", "--json", as_="main").out)
    assert primed["awaitingYourAnswer"] == []
    assert _owes(sandbox, "main") == []
    # the answers sit on the builder's own channel, verified under the record the question
    # was sent under: adopted again, the builder reads them as from its architect
    sandbox.ok("adopt", "builder/spir-1487", "--architect", "main", as_="main")
    inbox = json.loads(sandbox.ok("inbox", "--json", cwd=b).out)["messages"]
    answers = {m["replyTo"]: m for m in inbox if m.get("replyTo")}
    assert set(answers) == {q1["id"], q2["id"]}
    assert all(m["verified"] and m["from"] == "architect:main" for m in answers.values())


def test_only_the_asked_architect_answers_a_released_builder_and_only_questions(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("architect", "add", "payments")
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    asked = json.loads(sandbox.ok("send", "architect", "merge?", "--ack", "--json", cwd=b).out)
    told = json.loads(sandbox.ok("send", "architect", "tests pass", "--json", cwd=b).out)
    # reassigned after asking, then released by the new owner: main was asked, main answers
    sandbox.ok("reassign", "1487", "--to", "payments", as_="main")
    sandbox.ok("release", "1487", as_="payments")
    channel = "refs/codev/builders/builder-spir-1487"
    tip = sandbox.git("rev-parse", channel)

    other = sandbox.run("reply", asked["id"], "yes", as_="payments")
    assert other.code == 2 and "released" in other.err and "architect:main" in other.err
    plain = sandbox.run("ack", told["id"], "--json", as_="main")
    assert plain.code == 2 and plain.err == ""
    assert "question" in json.loads(plain.out)["error"]["message"]
    send = sandbox.run("send", "1487", "one more thing", as_="main")
    assert send.code == 2 and "no builder matches" in send.err  # only answers, no new mail
    assert sandbox.git("rev-parse", channel) == tip  # nothing written
    assert [a["id"] for a in json.loads(sandbox.ok("status", "--json").out)["pendingAcks"]] == [
        asked["id"]
    ]

    sandbox.ok("ack", asked["id"], as_="main")
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []
    sandbox.ok("adopt", "builder/spir-1487", "--architect", "main", as_="main")
    [answer] = [
        m
        for m in json.loads(sandbox.ok("inbox", "--json", cwd=b).out)["messages"]
        if m.get("replyTo") == asked["id"]
    ]
    assert answer["verified"], answer


def test_a_question_to_a_released_builder_stops_awaiting(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    asked = json.loads(sandbox.ok("send", "1487", "done?", "--ack", "--json", as_="main").out)
    pending = json.loads(sandbox.ok("status", "--json").out)["pendingAcks"]
    assert [a["id"] for a in pending] == [asked["id"]]
    sandbox.ok("release", "1487", as_="main")  # nobody can answer for it any more
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []
    primed = json.loads(sandbox.ok("prime", "--peek", "--json", as_="main").out)
    assert primed["pendingAcks"] == []
    board = json.loads(sandbox.ok("status", "--by-architect", "--json").out)
    assert next(a for a in board["architects"] if a["name"] == "main")["owed"] == []
    logged = json.loads(sandbox.ok("log", "--json").out)["messages"]
    assert asked["id"] in [m["id"] for m in logged]  # kept in the history


def test_ack_from_someone_other_than_the_recipient_is_refused(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("architect", "add", "payments")
    b = sandbox.builder_dir("spir-1487")
    asked = json.loads(sandbox.ok("send", "architect", "merge?", "--ack", "--json", cwd=b).out)
    before = sandbox.snapshot()
    # payments never received it: its ack would answer nothing, so it must not say it did
    refused = sandbox.run("ack", asked["id"][:10], as_="payments")
    assert refused.code == 2 and refused.out == ""
    assert len(refused.err.strip().splitlines()) == 1
    assert "architect:main" in refused.err and "acknowledged" not in refused.err
    assert sandbox.snapshot() == before
    error = json.loads(sandbox.run("ack", asked["id"], "--json", as_="payments").out)["error"]
    assert error["code"] == "bad-input" and "architect:main" in error["message"]
    status = json.loads(sandbox.ok("status", "--json").out)
    assert [a["id"] for a in status["pendingAcks"]] == [asked["id"]]
    sandbox.ok("ack", asked["id"], as_="main")  # the recipient's ack still works
    assert json.loads(sandbox.ok("status", "--json").out)["pendingAcks"] == []


def test_reply_to_an_id_that_names_no_message_says_so(sandbox: Sandbox) -> None:
    for command in (["reply", "deadbeef", "hi"], ["ack", "deadbeef"]):
        result = sandbox.run(*command, as_="main")
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1
        assert "no message" in result.err and "deadbeef" in result.err, result.err
        assert "branch" not in result.err and "tag" not in result.err, result.err
