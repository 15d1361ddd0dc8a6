"""The demo's last step: the supervisor's page of the demo repository."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import urllib.request
from pathlib import Path

import click

from codev_git.messaging.render import style


def show_page(root: Path, codev: list[str], *, keep: bool) -> bool:
    """Serve the page; with ``keep`` until Ctrl-C, else long enough to load it once.
    False when it did not serve."""
    say = "\n# The supervisor's page: every architect, builder and message, live"
    click.echo(style(say, "cyan"))
    if keep:
        click.echo(style("$ git codev web    (Ctrl-C stops it)", "bold"))
        proc = subprocess.Popen([*codev, "web"], cwd=root)
        try:
            return proc.wait() == 0
        except KeyboardInterrupt:  # the server has the same Ctrl-C and stops by itself
            return proc.wait() in (0, -signal.SIGINT, 130)
    click.echo(style("$ git codev web --port 0 --json", "bold"))
    proc = subprocess.Popen(
        [*codev, "web", "--port", "0", "--json"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else b""
        if not line:
            return False
        url = json.loads(line)["url"]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=30) as response:
            page = response.read().decode("utf-8", "replace")
        cards = page.count('class="card"')
        click.echo(f"served {url} ({cards} architect cards); stopped again")
        click.echo(f"keep it running: git codev demo --web, or cd {root} && git codev web")
        return True
    except OSError as exc:
        click.echo(f"the page did not load: {exc}")
        return False
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
