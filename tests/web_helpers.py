"""Running `git codev web` as a real process, talking to it over HTTP, and a headless
Chromium (Debian's package, driven by Selenium through Debian's chromedriver)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import Sandbox

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1360,900",
)


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]


def start(root: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    proc = subprocess.Popen(
        ["git-codev", "web", "--port", "0", "--json", *extra],
        cwd=root,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""
    if not line:
        stop(proc)
        err = proc.stderr.read() if proc.stderr else b""
        raise AssertionError(f"git codev web did not start: {err!r}")
    return Server(json.loads(line)["url"], proc)


def stop(proc: subprocess.Popen[bytes]) -> str:
    """Ctrl-C and wait; returns stderr (which must hold no traceback)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    text = err.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    return text


@contextmanager
def serving(box: Sandbox, *extra: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    server = start(box.root, *extra, env=env)
    try:
        yield server
    finally:
        stop(server.proc)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_RAW = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def http(
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    follow: bool = True,
) -> Reply:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    opener = _OPENER if follow else _RAW
    try:
        with opener.open(request, timeout=60) as response:
            body = response.read().decode("utf-8", "replace")
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, body)
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, body)


def browser() -> Any:
    """A fresh headless Chromium with its own profile directory."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='codev-chromium-')}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for(check: Any, timeout: float) -> Any:
    """Poll ``check`` until it returns something truthy (for non-browser waits)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
