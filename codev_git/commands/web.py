"""``git codev web``: a live supervisor's page for the repository."""

from __future__ import annotations

import json
import sys

import click

from codev_git.commands.common import echo, json_option
from codev_git.config import ENV_WEB_TOKEN


@click.command("web")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="N",
    help="Port to listen on (default 7417, or a free one when taken; 0 picks a free one).",
)
@click.option(
    "--bind",
    "bind_addr",
    metavar="ADDR",
    help="Address to listen on (default 127.0.0.1). Any other than loopback needs --token.",
)
@click.option(
    "--token",
    envvar=ENV_WEB_TOKEN,
    metavar="T",
    help="Require this token (at least 12 characters; also $CODEV_WEB_TOKEN).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option(
    "--allow-send",
    is_flag=True,
    help="Let the page's user write to architects and builders, as the sender 'human'.",
)
@click.option(
    "--stale-minutes",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    metavar="M",
    help="Flag a builder whose message its owner has left unread this long.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Start, load every view once, print their HTTP status and stop (exit 1: one failed).",
)
@json_option
def web_cmd(
    port: int | None,
    bind_addr: str | None,
    token: str | None,
    open_browser: bool,
    allow_send: bool,
    stale_minutes: int,
    check: bool,
    as_json: bool,
) -> None:
    """Serve a live page of the repository: Overview, Threads, Timeline.

    The Overview has one card per architect (its builders and their state, unread messages,
    questions waiting for an answer and for how long, last activity); Threads shows each
    thread's roster and its file, rendered safely; the Timeline pages through every message,
    filtered by architect, builder, thread or verification. The page updates itself within a
    second of a new message or an ownership change. Reading it moves no read cursor.

    It listens on 127.0.0.1 only, unless --bind names another address, and then only with
    --token. Ctrl-C stops it. --json prints {"url": ...} once it serves; with --check, one
    document {"url": ..., "views": {VIEW: HTTP status}} once every view was loaded.

    \b
    Examples:
      git codev web
      git codev web --port 0 --open
      git codev web --allow-send
      git codev web --port 0 --check
      CODEV_WEB_TOKEN=$(openssl rand -hex 16) git codev web --bind 0.0.0.0
    """
    from codev_git.store import Store
    from codev_git.web.server import Serving, serve

    store = Store.discover()

    served: list[str] = []

    def ready(serving: Serving) -> None:
        served.append(serving.url)
        if as_json:
            if check:  # one document at the end: the url and every view's status
                return
            sys.stdout.write(json.dumps({"url": serving.url}) + "\n")
        else:
            echo(f"serving {store.main_workdir or store.common_dir} at {serving.url}")
            if not check:
                echo("Ctrl-C stops it")
        sys.stdout.flush()
        if open_browser:
            import webbrowser

            webbrowser.open(serving.url)

    checked = serve(
        store.git_dir,
        host=bind_addr or "127.0.0.1",
        port=port,
        bind_given=bind_addr is not None,
        token=token,
        allow_send=allow_send,
        stale_seconds=stale_minutes * 60.0,
        on_ready=ready,
        check=check,
    )
    if not check:
        return
    failed = [name for name, status in checked.items() if status != 200]
    if failed:
        from codev_git.errors import OperationalError

        if not as_json:
            echo(", ".join(f"{name} {status}" for name, status in checked.items()))
        raise OperationalError(
            f"the page did not load: {', '.join(failed)}",
            "run 'git codev web' and open those views to see why",
            candidates=failed,
        )
    if as_json:
        from codev_git.messaging.render import dump_json

        dump_json({"url": served[0] if served else None, "views": checked})
    else:
        echo(", ".join(f"{name} {status}" for name, status in checked.items()))
