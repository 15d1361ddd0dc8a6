"""`git codev web` over HTTP: what each view shows, what it refuses, and that it writes
nothing unless a person sends a message with --allow-send."""

from __future__ import annotations

import json
import re
import socket
from html import unescape
from urllib.parse import urlencode

from codev_git.messaging.message import append
from codev_git.store import Ident, Store
from tests.helpers import Sandbox, run_subprocess
from tests.test_json_contract import valid
from tests.web_helpers import http, serving

WHO = Ident("Forger", "forger@example.invalid")


def post(box: Sandbox, ref: str, body: str, sender: str, to: str, **extra: str) -> str:
    """A message written straight to a channel, with any trailers (as another clone might)."""
    trailers = {"Codev-From": sender, "Codev-To": to, **extra}
    trailers.setdefault("Codev-Time", "2026-11-24T17:00:00.000000Z")
    return append(Store.discover(box.root), ref, body.encode(), trailers, WHO)


def two_architects(box: Sandbox) -> None:
    box.ok("spawn", "1487", "--protocol", "spir", as_="main")
    box.ok("spawn", "1481", "--protocol", "spir", "--architect", "payments", as_="payments")


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_views_show_the_repository_and_move_no_ref(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "checkout-v2", "--headline", "Rebuild checkout", as_="payments")
    b = sandbox.builder_dir("spir-1487")
    sandbox.ok("send", "architect", "spec ready", cwd=b)
    sandbox.ok("send", "architect", "plan ready", cwd=b)
    projects = b / "codev" / "projects" / "1487-search"
    projects.mkdir(parents=True)
    (projects / "status.yaml").write_text("id: 1487\ntitle: search\nphase: implement\n")
    before = sandbox.snapshot()
    with serving(sandbox) as server:
        page = http(server.url)
        threads = http(server.url + "threads")
        thread = http(server.url + "threads/checkout-v2")
        timeline = http(server.url + "timeline")
        missing = http(server.url + "threads/nope")
    assert page.status == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    main_card = page.text.split('id="architect-main"')[1].split("</section>")[0]
    assert 'data-unread="2"' in main_card and "builder-spir-1487" in main_card
    assert "implement" in main_card  # the porch phase
    assert "builder-spir-1481" in page.text.split('id="architect-payments"')[1]
    assert "Rebuild checkout" in threads.text and "checkout-v2" in threads.text
    assert thread.status == 200 and "Rebuild checkout" in text_of(thread.text)
    assert "plan ready" in timeline.text and "spec ready" in timeline.text
    assert "no thread" in text_of(missing.text)
    assert sandbox.snapshot() == before  # no read cursor moved, nothing written


def test_the_timeline_pages_and_filters(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    for n in range(120):
        post(
            sandbox,
            "refs/codev/inbox/main",
            f"note {n:03d}",
            "builder-spir-1487",
            "architect:main",
            **{"Codev-Time": f"2030-01-01T17:{n // 60:02d}:{n % 60:02d}.000000Z"},
        )
    sandbox.ok("send", "1481", "for payments' builder", as_="payments")
    # a builder of payments' writing into main's inbox: not verified
    post(
        sandbox,
        "refs/codev/inbox/main",
        "forged",
        "builder-spir-1481",
        "architect:main",
        **{"Codev-Time": "2030-01-01T16:00:00.000000Z"},
    )
    seen: list[str] = []
    with serving(sandbox) as server:
        url = server.url + "timeline"
        for _ in range(5):
            reply = http(url)
            seen += re.findall(r"note \d{3}", reply.text)
            older = re.search(r'href="(\?[^"]*before=[^"]*)" rel="next"', reply.text)
            if older is None:
                break
            url = server.url + "timeline" + unescape(older.group(1))
        builder = http(server.url + "timeline?" + urlencode({"builder": "builder-spir-1481"}))
        pay = http(server.url + "timeline?architect=payments")
        unverified = http(server.url + "timeline?verified=no")
    assert seen == [f"note {n:03d}" for n in reversed(range(120))]  # newest first, no repeats
    assert "for payments" in builder.text and "note 0" not in builder.text
    assert "for payments" in pay.text and "note 1" not in pay.text
    assert "forged" in unverified.text and "note" not in text_of(unverified.text).replace(
        "unverified", ""
    )
    reason = text_of(unverified.text).split("unverified:")[1].split("\n")[0]
    assert "payments" in reason  # whose builder it is


def test_questions_awaiting_an_answer_and_builders_left_unread(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    asked = post(
        sandbox,
        "refs/codev/inbox/main",
        "may I merge?",
        "builder-spir-1487",
        "architect:main",
        **{"Codev-Ack": "requested", "Codev-Time": "2020-01-01T00:00:00.000000Z"},
    )
    b = sandbox.builder_dir("spir-1487")
    cli_ask = json.loads(
        sandbox.ok("send", "architect", "rebase now?", "--ack", "--json", cwd=b).out
    )
    with serving(sandbox, "--stale-minutes", "5") as server:
        waiting = http(server.url).text
        sandbox.ok("ack", cli_ask["id"], as_="main")
        post(
            sandbox,
            "refs/codev/builders/builder-spir-1487",
            "yes",
            "architect:main",
            "builder-spir-1487",
            **{"Codev-Reply-To": asked},
        )
        answered = http(server.url).text
        message = http(server.url + f"message/{asked}").text
    card = waiting.split('id="architect-main"')[1].split("</section>")[0]
    assert "Waiting for an answer from main" in card and asked[:8] in card
    assert "may I merge?" in card
    assert "unread by owner" in card  # its message has waited unread since 2020
    assert cli_ask["id"][:8] in card and "rebase now?" in card
    answered_card = answered.split('id="architect-main"')[1].split("</section>")[0]
    assert asked[:8] not in answered_card and cli_ask["id"][:8] not in answered_card
    assert "It answers" not in message and "yes" in message.split("Answers")[1]


def test_hostile_text_is_escaped_in_html(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    body = '<script>alert(1)</script>\x1b[31mred\x1b[0m \u202egnp.exe <img src=x onerror="x()">'
    sandbox.ok("send", "architect", body, cwd=sandbox.builder_dir("spir-1487"))
    with serving(sandbox) as server:
        html = http(server.url + "timeline").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\e[31m" in html and "\\u202e" in html and "\x1b" not in html and "\u202e" not in html


def test_sending_as_human_needs_the_flag_and_the_page_token(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    form = {"to": "builder-spir-1487", "message": "stop and rebase"}
    with serving(sandbox) as server:
        off = http(server.url + "send", data=urlencode(form).encode())
    assert off.status == 403
    with serving(sandbox, "--allow-send") as server:
        page = http(server.url).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        forged = http(server.url + "send", data=urlencode(form).encode())
        foreign = http(
            server.url + "send",
            data=urlencode({**form, "csrf": csrf.group(1)}).encode(),
            headers={"Origin": "http://evil.example"},
        )
        sent = http(server.url + "send", data=urlencode({**form, "csrf": csrf.group(1)}).encode())
    assert forged.status == 403 and foreign.status == 403
    assert sent.status == 200 and "Sent as" in sent.text and "human" in sent.text
    inbox = sandbox.ok("inbox", "--json", cwd=sandbox.builder_dir("spir-1487")).out
    got = [m for m in json.loads(inbox)["messages"] if m.get("kind") != "ownership"]
    assert [(m["from"], m["message"], m["verified"]) for m in got] == [
        ("human", "stop and rebase", True)
    ]
    text = sandbox.ok("inbox", "--all", cwd=sandbox.builder_dir("spir-1487")).out
    assert "HUMAN OVERSEER MESSAGE" in text
    answer = sandbox.run("reply", got[0]["id"], "ok", cwd=sandbox.builder_dir("spir-1487"))
    assert answer.code == 2 and "no inbox" in answer.err
    # nobody on the command line can claim the name
    claimed = json.loads(sandbox.ok("send", "architect:main", "hi", "--json", as_="human").out)
    log = json.loads(sandbox.ok("log", "--json").out)["messages"]
    assert [m["from"] for m in log if m["id"] == claimed["id"]] == ["architect:human"]


def test_bind_and_token(sandbox: Sandbox) -> None:
    refused = run_subprocess(sandbox.root, ["web", "--bind", "0.0.0.0"])
    assert refused.code == 2 and refused.err.count("\n") == 1 and "token" in refused.err
    short = run_subprocess(sandbox.root, ["web", "--bind", "0.0.0.0", "--token", "abc"])
    assert short.code == 2
    token = "correct-horse-battery"
    with serving(sandbox, "--bind", "127.0.0.1", "--token", token) as server:
        bare = server.url.split("?")[0]
        assert server.url.endswith(f"?token={token}")
        denied = http(bare)
        landing = http(server.url, follow=False)
        bearer = http(bare, headers={"Authorization": f"Bearer {token}"})
        cookie = http(bare, headers={"Cookie": f"codev_web_token={token}"})
        rebinding = http(bare, headers={"Host": "evil.example", "Authorization": f"Bearer {token}"})
    assert denied.status == 401
    assert landing.status == 303 and "HttpOnly" in landing.headers["set-cookie"]
    assert bearer.status == 200 and cookie.status == 200
    assert rebinding.status == 421  # on loopback the Host is checked as well
    with serving(sandbox) as server:
        assert http(server.url, headers={"Host": "evil.example"}).status == 421


def test_check_loads_every_view_and_a_taken_port_is_one_line(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    checked = run_subprocess(sandbox.root, ["web", "--port", "0", "--check", "--json"])
    assert checked.code == 0 and len(checked.out.splitlines()) == 1  # one JSON document
    document = json.loads(checked.out)
    valid("web-check", document)
    assert document["url"].startswith("http://127.0.0.1:")
    assert document["views"] == {"overview": 200, "threads": 200, "timeline": 200}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_subprocess(sandbox.root, ["web", "--port", str(port)])
    assert busy.code == 1 and busy.err.count("\n") == 1 and "--port" in busy.err


def test_what_the_page_refuses_or_does_not_find(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    with serving(sandbox, "--allow-send") as server:
        csrf = re.search(r'name="csrf" value="([^"]+)"', http(server.url).text)
        assert csrf is not None
        to_all = {"to": "broadcast", "message": "hi", "csrf": csrf.group(1)}
        refused = http(server.url + "send", data=urlencode(to_all).encode())
        empty = {"to": "architect:main", "message": " ", "csrf": csrf.group(1)}
        blank = http(server.url + "send", data=urlencode(empty).encode())
        unknown = http(server.url + "message/" + "ab" * 20)
        not_hex = http(server.url + "message/zz")
        no_thread = http(server.url + "timeline?thread=nope")
        gone = http(server.url + "threads/nope")
    assert "cannot write to" in text_of(refused.text)
    assert "empty" in text_of(blank.text)
    assert refused.status == 400 and blank.status == 400  # what a script's curl -f notices
    assert "Not here" in unknown.text and "Not here" in not_hex.text
    assert unknown.status == 404 and not_hex.status == 404 and gone.status == 404
    assert "no messages" in no_thread.text
    logged = json.loads(sandbox.ok("log", "--json").out)["messages"]
    assert [m for m in logged if m.get("kind") != "ownership"] == []  # nothing was sent


def test_the_page_drops_questions_to_a_released_builder(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    asked = json.loads(sandbox.ok("send", "1487", "done?", "--ack", "--json", as_="main").out)
    with serving(sandbox) as server:
        before = http(server.url).text
        sandbox.ok("release", "1487", as_="main")  # nobody can answer for it any more
        after = http(server.url).text
    assert '<span id="count-waiting">1</span>' in before and asked["id"][:8] in before
    assert '<span id="count-waiting">0</span>' in after and asked["id"][:8] not in after


def test_a_form_too_big_is_refused_whole_and_never_buffered(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    huge = "x" * (300 * 1024)  # over the form limit: a cut message must not be sent
    with serving(sandbox) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            # another page may POST here; the server must answer without reading 10 GB
            head = (
                f"POST /send HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {10 * 1024**3}\r\n\r\n"
            )
            sock.sendall(head.encode() + b"to=x&message=")
            answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 403")
    with serving(sandbox, "--allow-send") as server:
        csrf = re.search(r'name="csrf" value="([^"]+)"', http(server.url).text)
        assert csrf is not None
        form = {"csrf": csrf.group(1), "to": "builder-spir-1487", "message": huge}
        sent = http(server.url + "send", data=urlencode(form).encode())
    assert sent.status == 413 and "too long" in sent.text
    logged = json.loads(sandbox.ok("log", "--json").out)["messages"]
    assert [m for m in logged if m.get("kind") != "ownership"] == []  # nothing was sent


def test_a_channel_that_is_not_a_commit_is_skipped_as_the_cli_does(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    asked = json.loads(sandbox.ok("send", "1487", "done?", "--ack", "--json", as_="main").out)
    tree = sandbox.git("write-tree").strip()
    sandbox.git("update-ref", "refs/codev/inbox/blobby", tree)  # as a bad clone might
    assert sandbox.run("status", "--json").code == 0
    with serving(sandbox) as server:
        overview = http(server.url)
        message = http(server.url + "message/" + asked["id"])
    assert overview.status == 200 and asked["id"][:8] in overview.text
    assert message.status == 200 and "done?" in message.text


def test_a_form_cut_short_by_its_client_is_dropped_without_a_traceback(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    with serving(sandbox, "--allow-send") as server:
        port = int(server.url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            head = (
                f"POST /send HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
            )
            sock.sendall(head.encode() + b"to=builder-spir-1487&message=sto")
            sock.shutdown(socket.SHUT_WR)  # the client goes away mid-body
            while sock.recv(4096):  # until the server is done with it
                pass
    logged = json.loads(sandbox.ok("log", "--json").out)["messages"]
    assert [m for m in logged if m.get("kind") != "ownership"] == []  # nothing was sent


def test_a_rewritten_channel_is_read_again_without_doubles_or_ghosts(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    b = sandbox.builder_dir("spir-1487")
    asked = json.loads(sandbox.ok("send", "1487", "done?", "--ack", "--json", as_="main").out)
    sandbox.ok("ack", asked["id"], cwd=b)
    answer = sandbox.git("rev-parse", "refs/codev/inbox/main").strip()
    ghost = json.loads(sandbox.ok("send", "architect", "help?", "--ack", "--json", cwd=b).out)
    with serving(sandbox) as server:
        before = http(server.url).text
        sandbox.git("update-ref", "refs/codev/inbox/main", answer)  # the question is gone
        page = http(server.url + "message/" + asked["id"]).text
        after = http(server.url).text
    pending = json.loads(sandbox.ok("status", "--json").out)["pendingAcks"]
    assert ghost["id"][:8] in before and pending == []
    assert ghost["id"][:8] not in after and '<span id="count-waiting">0</span>' in after
    assert page.count(f'data-id="{answer}"') == 1  # the answer, listed once


def _next_event(stream: socket.socket, buffered: list[bytes]) -> str:
    """The next server-sent event's name (``keepalive`` for a comment line)."""
    while b"\n\n" not in b"".join(buffered):
        chunk = stream.recv(4096)
        assert chunk, "the event stream ended"
        buffered.append(chunk)
    data = b"".join(buffered)
    event, rest = data.split(b"\n\n", 1)
    buffered[:] = [rest]
    names = re.findall(rb"^event: (\w+)", event, re.MULTILINE)
    return names[0].decode() if names else "keepalive"


def test_live_updates_survive_a_moment_the_refs_cannot_be_read(sandbox: Sandbox) -> None:
    two_architects(sandbox)
    packed = sandbox.root / ".git" / "packed-refs"
    sandbox.git("pack-refs", "--all")
    good = packed.read_bytes()
    with serving(sandbox) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as stream:
            stream.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            buffered: list[bytes] = []
            assert _next_event(stream, buffered) == "hello"
            packed.write_bytes(b"garbage line\n")  # torn by some other tool, for a moment
            assert server.proc.stderr is not None
            said = server.proc.stderr.readline().decode()  # the watcher saw it
            packed.write_bytes(good)
            sandbox.ok("send", "architect", "still live?", cwd=sandbox.builder_dir("spir-1487"))
            events = [_next_event(stream, buffered)]
            while events[-1] != "change" and len(events) < 3:  # keepalives end a dead stream
                events.append(_next_event(stream, buffered))
    assert "Traceback" not in said and "cannot list references" in said
    assert events[-1] == "change"


def test_the_index_reads_trailers_alone_only_where_they_say_enough(sandbox: Sandbox) -> None:
    """The page's index decodes a message in full only when its trailers do not say enough;
    what it knows (count, when each party was last active, what waits for an answer) is what
    decoding every message gives."""
    from codev_git.messaging.acks import answers
    from codev_git.messaging.history import channels, newest_first
    from codev_git.web.index import MessageIndex

    two_architects(sandbox)
    inbox, builder = "refs/codev/inbox/main", "builder-spir-1487"
    asked = post(sandbox, inbox, "ok?", builder, "architect:main", **{"Codev-Ack": "requested"})
    post(
        sandbox, inbox, "plain", builder, "architect:main", **{"Codev-Time": "2026-11-25T01:00:00Z"}
    )
    post(sandbox, inbox, "odd time", builder, "architect:main", **{"Codev-Time": "yesterday"})
    post(sandbox, inbox, "bad\0bytes", "architect:payments", "architect:main")  # base64 body
    post(sandbox, inbox, "", builder, "architect:main", **{"Codev-Encoding": "base64", "x": "y"})
    post(
        sandbox,
        f"refs/codev/builders/{builder}",
        "yes",
        "architect:main",
        builder,
        **{"Codev-Reply-To": asked, "Codev-Time": "2026-11-25T02:00:00.000000Z"},
    )
    post(sandbox, inbox, "not yet", builder, "architect:main", **{"Codev-Ack": "requested"})
    store = Store.discover(sandbox.root)
    index = MessageIndex()
    index.refresh(store)
    every = [m for ch in channels(store) for m in newest_first(store, ch)]
    last: dict[str, str] = {}
    for m in every:
        for party in (m.sender, m.to):
            last[party] = max(last.get(party, ""), m.time)
    assert index.count == len(every) and index.last_seen == last
    waiting = [
        m.id
        for m in every
        if m.asks_answer and not any(answers(r, m) for r in every if r.reply_to == m.id)
    ]
    assert sorted(a.id for a in index.waiting()) == sorted(waiting) and len(waiting) == 1
    assert index.replies_to(asked) and asked not in waiting


def test_the_index_starts_from_its_cache_file_and_never_trusts_it_blindly(
    sandbox: Sandbox,
) -> None:
    from codev_git.web.index import MessageIndex

    two_architects(sandbox)
    inbox, builder = "refs/codev/inbox/main", "builder-spir-1487"
    asked = post(sandbox, inbox, "ok?", builder, "architect:main", **{"Codev-Ack": "requested"})
    post(sandbox, inbox, "plain", builder, "architect:main")
    store = Store.discover(sandbox.root)
    cache = sandbox.root / ".git" / "codev" / "web-index.json"

    def facts(*, using: str | None) -> tuple[int, dict[str, str], list[str], dict[str, list[str]]]:
        """What a new server's index knows, started from ``using`` as the cache file
        (None: without one)."""
        if using is None:
            cache.unlink(missing_ok=True)
        else:
            cache.write_text(using)
        index = MessageIndex(save_after=1)
        index.refresh(store)
        replies = {a.id: index.replies_to(a.id) for a in index.asked.values()}
        return index.count, index.last_seen, [a.id for a in index.waiting()], replies

    truth = facts(using=None)
    assert cache.exists() and truth[2] == [asked]
    saved = json.loads(cache.read_text())
    assert facts(using=json.dumps({**saved, "count": 999}))[0] == 999  # read nothing again
    answer = post(sandbox, inbox, "yes", "architect:main", builder, **{"Codev-Reply-To": asked})
    later = facts(using=json.dumps(saved))  # then only what came since
    assert later == facts(using=None)
    assert later[0] == truth[0] + 1 and later[2] == [] and later[3] == {asked: [answer]}

    damaged = ["{", '{"version": 1, "count": "x"}', json.dumps({**saved, "version": 0})]
    damaged.append(json.dumps({**saved, "kept": [["0" * 40, inbox]]}))  # not in the repository
    damaged.append(json.dumps({**saved, "channels": {inbox: "0" * 40}}))  # a tip not here
    for text in damaged:
        assert facts(using=text) == later  # read whole again, no traceback
    # the inbox rewritten since the file was written: what it dropped is not counted
    sandbox.git("update-ref", inbox, asked)
    assert facts(using=json.dumps(saved)) == facts(using=None) != later
