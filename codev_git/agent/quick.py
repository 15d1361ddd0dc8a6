"""``git codev agent hook EVENT`` with nothing unread, answered without click or pygit2.

Agent runtimes run the hook at every prompt and after every tool use, and most of the time
nothing has arrived. For an event whose action is ``inject`` or ``stop``
(:data:`codev_git.agent.hooks.EVENTS`) the full hook then answers ``{}``, whoever holds the
lease; so does this, once :func:`codev_git.messaging.quick.nothing_unread` finds every
channel of whoever reads here read to its tip. Anything else (``prime``, ``--wait``, an
unknown runtime or event, input that is not a JSON object, an identity only git config
gives, something unread) raises :class:`NotHere`, with what was read from stdin put back for
the full hook, which then answers.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from codev_git.agent.hooks import EVENTS, action_of
from codev_git.fastpath import Done
from codev_git.messaging.quick import nothing_unread
from codev_git.store.lite import NotHere, Repo


def hook(args: list[str]) -> Done:
    """``args``: what follows ``agent hook`` on the command line."""
    runtime, event = _parsed(args)
    if action_of(runtime, event) not in ("inject", "stop"):
        raise NotHere("the full hook answers this event")
    if sys.stdin.isatty():  # run by hand: the full hook reads nothing either
        raw = b""
    else:
        raw = sys.stdin.buffer.read()
        sys.stdin = io.TextIOWrapper(io.BytesIO(raw))  # for the full hook, should it run
    payload = json.loads(raw or b"{}")
    if not isinstance(payload, dict):
        raise NotHere("not a JSON object: the full hook says so")
    cwd = payload.get("cwd")
    nothing_unread(Repo.here(Path(cwd) if isinstance(cwd, str) and cwd else None))
    return Done("{}")


def _parsed(args: list[str]) -> tuple[str, str]:
    """(runtime, event) of ``EVENT [--runtime R]``, in either order; NotHere otherwise."""
    runtime, events = "claude", []
    rest = iter(args)
    for arg in rest:
        if arg == "--runtime":
            runtime = next(rest, "")
        elif arg.startswith("--runtime="):
            runtime = arg.partition("=")[2]
        elif arg.startswith("-"):
            raise NotHere("an option the full hook reads")
        else:
            events.append(arg)
    if runtime not in EVENTS or len(events) != 1:
        raise NotHere("the full hook explains the arguments")
    return runtime, events[0]
