"""Serving the page with uvicorn on a socket we bind ourselves (so port 0 picks a free port
and the URL printed is the one that answers)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from codev_git import report
from codev_git.errors import OperationalError
from codev_git.store import Store
from codev_git.web.guard import Guard, check_bind

DEFAULT_PORT = 7417
OBJECT_CACHE_BYTES = 16 * 1024 * 1024
REPEATS_KEPT = 1000  # distinct warnings remembered, so each is printed once


@dataclass(frozen=True)
class Serving:
    url: str  # what to open (carries the token when there is one)
    host: str
    port: int


def bind(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host``; ``port`` None tries the default port, then any."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    tries = [DEFAULT_PORT, 0] if port is None else [port]
    for n, number in enumerate(tries):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), number))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and n + 1 < len(tries):
                continue
            what = f"cannot listen on {host}:{number}: {exc.strerror}"
            raise OperationalError(what, "give another --port (0 picks a free one)") from exc
        sock.listen(128)
        return sock
    raise AssertionError("unreachable")


def url_for(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    query = f"?token={token}" if token else ""
    return f"http://{shown}:{port}/{query}"


def serve(
    git_dir: Path,
    *,
    host: str,
    port: int | None,
    bind_given: bool,
    token: str | None,
    allow_send: bool,
    stale_seconds: float,
    on_ready: Callable[[Serving], None],
    check: bool = False,
) -> dict[str, int]:
    """Serve until interrupted (Ctrl-C or SIGTERM end it cleanly). With ``check``, load
    every view once over HTTP and stop: returns each view's HTTP status."""
    import uvicorn

    from codev_git.web.app import Settings, make_app

    check_bind(host, bind_given, token)
    Store.limit_object_cache(OBJECT_CACHE_BYTES)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    settings = Settings(git_dir, allow_send=allow_send, stale_seconds=stale_seconds)
    settings.guard = Guard(app=_unset, host=host, token=token, port=actual)
    app = make_app(settings)
    ready = Serving(url_for(host, actual, token), host, actual)
    checked: dict[str, int] = {}

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                on_ready(ready)
                if check:
                    asyncio.get_running_loop().run_in_executor(None, self.probe)

        def probe(self) -> None:
            try:
                checked.update(load_views(ready.url, token))
            finally:
                self.should_exit = True

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if settings.hub is not None:
                settings.hub.close()  # open event streams end now, not at a timeout
            await super().shutdown(sockets)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()  # Ctrl-C is how one stops it: exit 0

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        server_header=False,
    )
    try:
        with report.sink(_once_each()):  # every request would repeat the same warning
            Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if settings.hub is not None:
            settings.hub.join()
    return checked


VIEWS = {"overview": "", "threads": "threads", "timeline": "timeline"}


def load_views(url: str, token: str | None) -> dict[str, int]:
    """Each view's HTTP status, loaded the way a browser would (``--check``)."""
    import urllib.error
    import urllib.request

    base = url.split("?", 1)[0]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    out = {}
    for name, path in VIEWS.items():
        try:
            with opener.open(
                urllib.request.Request(base + path, headers=headers), timeout=300
            ) as r:
                r.read()
                out[name] = r.status
        except urllib.error.HTTPError as exc:
            out[name] = exc.code
        except OSError:
            out[name] = 0
    return out


def _once_each() -> Callable[[report.Report], None]:
    from codev_git.commands.console import stderr_sink

    seen: set[report.Report] = set()

    def receive(item: report.Report) -> None:
        if item in seen:
            return
        if len(seen) < REPEATS_KEPT:
            seen.add(item)
        stderr_sink(item)

    return receive


async def _unset(scope: object, receive: object, send: object) -> None:
    raise AssertionError("the guard is given its app by make_app")
