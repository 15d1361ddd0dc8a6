"""Agent runtime hooks: one entry point, ``git codev agent hook EVENT --runtime R``.

The runtime (Claude Code, Codex CLI, Gemini CLI) runs the command with its JSON on stdin and
reads one JSON object from stdout. Three actions cover every runtime:

- ``prime``  (SessionStart): :mod:`codev_git.agent.prime` as ``additionalContext``;
- ``inject`` (UserPromptSubmit / PostToolUse; Gemini: BeforeAgent / AfterTool): the messages
  that arrived since, as ``additionalContext``;
- ``stop``   (Stop; Gemini: AfterAgent): while unread messages ask for an answer, refuse the
  stop once with them as the reason; never when ``stop_hook_active`` says the agent is
  already continuing because of a stop hook (so it cannot loop).

Messages are marked read only after the answer was written and flushed; what does not fit in
the runtime's context limit (10,000 characters) stays unread and the text says how many remain.
A hook never fails the agent: with nothing to say, or when codev cannot tell who is asking,
it answers ``{}`` and says why on stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the hook's fast path (codev_git/agent/quick.py) reads EVENTS alone
    from codev_git.messaging.handover import Pending
    from codev_git.messaging.message import Message
    from codev_git.ownership.identity import Identity
    from codev_git.store import Store

CONTEXT_LIMIT = 10_000  # characters of hook context a runtime keeps (Claude Code's cap)
BUDGET = CONTEXT_LIMIT - 500

# runtime -> event name -> action
EVENTS: dict[str, dict[str, str]] = {
    "claude": {
        "SessionStart": "prime",
        "UserPromptSubmit": "inject",
        "PostToolUse": "inject",
        "Stop": "stop",
    },
    "codex": {
        "SessionStart": "prime",
        "UserPromptSubmit": "inject",
        "PostToolUse": "inject",
        "Stop": "stop",
    },
    "gemini": {
        "SessionStart": "prime",
        "BeforeAgent": "inject",
        "AfterTool": "inject",
        "AfterAgent": "stop",
    },
}
BLOCK = {"claude": "block", "codex": "block", "gemini": "deny"}


@dataclass
class Answer:
    """What the hook writes, and what to mark read once it is written."""

    output: dict[str, Any]
    batch: Pending | None = None
    handed: list[str] = field(default_factory=list)
    warning: str | None = None


def context(event: str, text: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}


def action_of(runtime: str, event: str) -> str | None:
    return EVENTS.get(runtime, {}).get(event)


def answer(
    store: Store,
    who: Identity,
    runtime: str,
    event: str,
    payload: dict[str, Any],
    *,
    delivered_elsewhere: str | None = None,
) -> Answer:
    """The hook's answer for ``event``. ``delivered_elsewhere`` names the consumer holding
    this reader's lease: then nothing is handed over here."""
    action = action_of(runtime, event)
    if action == "prime":
        return _prime(store, who, event, delivered_elsewhere)
    if delivered_elsewhere is not None or action is None:
        return Answer({})
    if action == "inject":
        return _inject(store, who, event)
    if payload.get("stop_hook_active") is True:
        return Answer({})  # the agent is already going on because of a stop hook
    return _stop(store, who, runtime)


def _prime(store: Store, who: Identity, event: str, elsewhere: str | None) -> Answer:
    from codev_git.agent.prime import build

    prime = build(store, who, budget=BUDGET if elsewhere is None else 0)
    text = prime.text()
    if elsewhere is not None:
        text += f"\n(unread messages are delivered by {elsewhere})"
    return Answer(context(event, text), prime.batch, [m.id for m in prime.handed])


def _render_batch(
    store: Store, who: Identity, heading: Callable[[int], str], batch: Pending | None = None
) -> tuple[Pending, list[str], str] | None:
    from codev_git.messaging.handover import fit, pending
    from codev_git.messaging.render import message_text

    batch = batch if batch is not None else pending(store, who)
    if not batch.messages:
        return None
    head = heading(len(batch.messages))
    handed, body = fit(batch.messages, BUDGET - len(head) - 120, message_text)
    text = f"{head}\n\n{body}"
    left = len(batch.messages) - len(handed)
    if left:
        text += f"\n\n({left} more unread did not fit here: run `git codev inbox`)"
    return batch, [m.id for m in handed], text


def _inject(store: Store, who: Identity, event: str) -> Answer:
    rendered = _render_batch(
        store,
        who,
        lambda n: (
            f"git codev: {n} new message(s) for {who.address} (now marked read; "
            'answer with `git codev reply ID "..."`, acknowledge with `git codev ack ID`):'
        ),
    )
    if rendered is None:
        return Answer({})
    batch, handed, text = rendered
    return Answer(context(event, text), batch, handed)


def _stop(store: Store, who: Identity, runtime: str) -> Answer:
    from codev_git.messaging.handover import pending

    unread = pending(store, who)
    asking = [m for m in unread.messages if m.asks_answer and can_answer(who, m)]
    if not asking:
        return Answer({})
    rendered = _render_batch(
        store,
        who,
        lambda n: (
            f"git codev: before stopping, read these {n} unread message(s) for "
            f"{who.address}; {len(asking)} ask for an answer: answer each with "
            '`git codev reply ID "..."` or `git codev ack ID`.'
        ),
        unread,
    )
    if rendered is None:
        return Answer({})
    batch, handed, text = rendered
    return Answer({"decision": BLOCK[runtime], "reason": text}, batch, handed)


def can_answer(who: Identity, msg: Message) -> bool:
    """Whether ``who`` can answer ``msg`` with ``reply`` or ``ack``: a broadcast comes back
    to its sender, the overseer has no inbox, and a builder writes only to its architect."""
    from codev_git.address import architect_address, is_human

    if msg.sender == who.address or is_human(msg.sender):
        return False
    return not who.is_builder or msg.sender == architect_address(who.architect)


def wake_render(who: Identity, batch: Pending) -> tuple[list[str], str]:
    """What the waiting hook writes on stderr to wake the agent: the messages that fit."""
    from codev_git.messaging.handover import fit
    from codev_git.messaging.render import message_text

    head = (
        f"git codev: {len(batch.messages)} new message(s) for {who.address} arrived while you "
        'were idle (now marked read; answer with `git codev reply ID "..."`):'
    )
    handed, body = fit(batch.messages, BUDGET - len(head) - 120, message_text)
    text = f"{head}\n\n{body}"
    left = len(batch.messages) - len(handed)
    if left:
        text += f"\n\n({left} more unread did not fit here: run `git codev inbox`)"
    return [m.id for m in handed], text


def unknown_identity(runtime: str, event: str, problem: str) -> dict[str, Any]:
    """At session start, tell the agent why codev is silent; elsewhere say nothing."""
    if action_of(runtime, event) != "prime":
        return {}
    return context(event, f"git codev: cannot tell who you are here: {problem}")
