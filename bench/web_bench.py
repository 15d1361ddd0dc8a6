"""`git codev web` at scale: 1,000 builders and 100,000 messages.

One server runs on the large repository and one on a small repository with the same 1,000
builders and channels but 2,000 messages; each page is timed over HTTP, interleaved with its
floor:

    web-overview   the Overview page vs building the status report it shows, in-process
    web-timeline   the Timeline's first page vs the same page over 2,000 messages (it pages:
                   its cost must not grow with the history)
    web-memory     the server's resident memory after every view vs the same server on the
                   small repository (nothing keeps all messages)
    web-live       from a message appended to the `change` event on an open event stream
"""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import fixtures as fx
from bench.rows import Bench
from bench.timing import BenchError, Row, interleaved, timed
from codev_git.layout import builder_inbox_ref
from codev_git.messaging.message import append
from codev_git.names import BuilderId
from codev_git.store import Store

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SMALL_MESSAGES = 2000  # one in every builder's inbox, the rest to the architect
ASKED = 50  # messages that ask for an answer (Codev-Ack: requested)


def _repos(b: Bench) -> tuple[Path, Path]:
    if "web" not in b._cache:
        n, big = b.sizes.builders, b.sizes.big_inbox
        b.say(f"building a repository with {n:,} builders and {big:,} messages for the page")
        large = _repo(b, "web-large", n, big)
        small = _repo(b, "web-small", n, _small(b))
        b._cache["web"] = (large, small)
    repos: tuple[Path, Path] = b._cache["web"]
    return repos


def _small(b: Bench) -> int:
    return min(SMALL_MESSAGES, b.sizes.big_inbox // 5)


def _repo(b: Bench, name: str, builders: int, messages: int) -> Path:
    root = b.dir(name) / "repo"
    store = fx.new_repo(root)
    fx.add_builders(store, builders)
    to_builders = max(builders, min(messages // 10, builders * 10))  # every inbox has some
    asked = min(ASKED, messages // 10)
    for k in range(to_builders):
        builder = BuilderId(f"builder-spir-{k % builders + 1}")
        ref = builder_inbox_ref(builder)
        append(store, ref, fx.body(k), fx.trailers("architect:main", builder), fx.AUTHOR)
    ids = fx.fill(
        store,
        fx.architect_inbox(),
        messages - to_builders - asked,
        progress=lambda i: b.say(f"  {i:,} messages"),
    )
    for k in range(asked):
        extra = {**fx.trailers(f"builder-spir-{k + 1}", "architect:main"), "Codev-Ack": "requested"}
        ids.append(append(store, fx.architect_inbox(), fx.body(k), extra, fx.AUTHOR))
    fx.set_ref(store, "refs/codev/read/architect/main/inbox", ids[-20])  # 19 unread
    return root


@contextmanager
def _server(root: Path) -> Iterator[tuple[str, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "codev_git", "web", "--port", "0", "--json"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else b""
        if not line:
            raise BenchError(f"git codev web did not start in {root}")
        yield json.loads(line)["url"], proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _get(url: str) -> bytes:
    with OPENER.open(url, timeout=300) as response:
        body: bytes = response.read()
        if response.status != 200:
            raise BenchError(f"{url} answered {response.status}")
    return body


def _load(url: str) -> Callable[[], float]:
    return lambda: timed(lambda: _get(url))


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) * 1024
    raise BenchError("no VmRSS for the server")


def overview_row(b: Bench) -> Row:
    s = b.sizes
    row = Row(
        "web-overview",
        f"`git codev web` Overview page, {s.builders:,} builders, {s.big_inbox:,} messages",
        3.0,
        floor_name="the status report it shows (in-process status_report)",
    )
    large, _ = _repos(b)
    store = Store.open(str(large))
    from codev_git.ownership.builder_state import status_report

    with _server(large) as (url, _):
        first = timed(lambda: _get(url))  # reads every message once for the index
        row.values, row.floor_values = interleaved(
            _load(url), lambda: timed(lambda: status_report(store)), s.cli_runs, s.warmup
        )
    with _server(large) as (url, _):
        again = timed(lambda: _get(url))  # starts from the index kept by the first server
    row.note = (
        f"the first load after start, which indexes every message once, took {first:.2f} s; "
        f"after a restart (the index kept in .git/codev/web-index.json) {again:.2f} s"
    )
    return row


def timeline_row(b: Bench) -> Row:
    s = b.sizes
    row = Row(
        "web-timeline",
        f"`git codev web` Timeline first page, {s.big_inbox:,} messages",
        1.5,
        floor_name=f"same page, {_small(b):,} messages",
    )
    large, small = _repos(b)
    with _server(large) as (big_url, _), _server(small) as (small_url, _):
        row.values, row.floor_values = interleaved(
            _load(big_url + "timeline"), _load(small_url + "timeline"), s.cli_runs, s.warmup
        )
        deep = big_url + "timeline"
        page = _get(deep).decode()
        hops = 0
        start = time.perf_counter()
        while hops < 20 and 'rel="next"' in page:
            link = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
            page = _get(big_url + "timeline" + link.replace("&amp;", "&")).decode()
            hops += 1
        per_page = (time.perf_counter() - start) / max(1, hops)
    row.note = f"paging back {hops} pages took {per_page:.3f} s a page"
    return row


def memory_row(b: Bench) -> Row:
    s = b.sizes
    row = Row(
        "web-memory",
        f"`git codev web` server memory after every view, {s.big_inbox:,} messages",
        2.0,
        floor_name=f"same server, {_small(b):,} messages",
    )
    row.unit = "B"
    large, small = _repos(b)
    for root, values in ((large, row.values), (small, row.floor_values)):
        with _server(root) as (url, pid):
            for path in ("", "threads", "timeline", "timeline?verified=no"):
                _get(url + path)
            values.append(_rss(pid))
    return row


def live_row(b: Bench) -> Row:
    row = Row(
        "web-live",
        "`git codev web`: a new message to the `change` event on an open page",
        None,
    )
    large, _ = _repos(b)
    store = Store.open(str(large))
    with _server(large) as (url, _):
        host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
        for n in range(max(3, b.sizes.cli_runs // 3)):
            with socket.create_connection((host, int(port)), timeout=30) as conn:
                conn.sendall(f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                _until(conn, b"event: hello")
                start = time.perf_counter()
                extra = fx.trailers("builder-spir-1", "architect:main")
                append(store, fx.architect_inbox(), fx.body(n), extra, fx.AUTHOR)
                _until(conn, b"event: change")
                row.values.append(time.perf_counter() - start)
    row.note = "inotify on the ref directories; polling every second where there is none"
    return row


def _until(conn: socket.socket, marker: bytes) -> None:
    seen = b""
    while marker not in seen:
        chunk = conn.recv(4096)
        if not chunk:
            raise BenchError("the event stream closed")
        seen += chunk


ROWS: dict[str, Callable[[Bench], Row]] = {
    "web-overview": overview_row,
    "web-timeline": timeline_row,
    "web-memory": memory_row,
    "web-live": live_row,
}
