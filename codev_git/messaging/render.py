"""Turning domain values into what a person or an agent reads.

Text output makes control characters visible so a message cannot rewrite the reader's
terminal; JSON output carries the exact content and never mixes in prose or colour.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import unicodedata
from typing import Any

from codev_git.address import architect_in, is_broadcast, is_builder_address, is_human
from codev_git.clock import iso_seconds
from codev_git.config import MAX_MESSAGE_BYTES
from codev_git.messaging.message import Message, Sent

FOOTER = "#" * 31  # afx's footer line under each message

_VISIBLE = {"\r": "\\r", "\x1b": "\\e", "\x7f": "\\x7f"}


def visible(text: str) -> str:
    """Control characters (other than newline and tab), invisible format characters (bidi
    overrides, zero-width) and the Unicode line and paragraph separators shown as escapes,
    so text cannot disguise itself."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif code < 32 or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:  # undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code > 0x7F and unicodedata.category(ch) in ("Cf", "Zl", "Zp"):
            # bidi overrides, zero-width; U+2028/U+2029 break a line for many readers
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


_FRAME_LIKE = re.compile(r"^([ \t]*)(###|!!!)", re.MULTILINE)


def body_text(body: bytes) -> str:
    """A body as text: escaped, and a line that starts like a header (``###``) or a warning
    (``!!!``) is quoted with ``> `` so a body can never pass for a second message."""
    return _FRAME_LIKE.sub(r"> \1\2", visible(body.decode("utf-8", "surrogateescape")))


def frame(msg: Message) -> str:
    """The header Codev shows an agent for a message."""
    when = visible(iso_seconds(msg.time))
    if is_broadcast(msg.to):
        head = f"### [BROADCAST FROM {visible(msg.sender)} | {when}] ###"
    elif is_human(msg.sender):  # the overseer, through `git codev web --allow-send`
        head = f"### [HUMAN OVERSEER MESSAGE | {when}] ###"
    elif is_builder_address(msg.sender):
        head = f"### [BUILDER {visible(msg.sender)} MESSAGE | {when}] ###"
    elif is_builder_address(msg.to):
        head = f"### [ARCHITECT INSTRUCTION | {when}] ###"
    else:
        name = architect_in(msg.sender) or msg.sender
        head = f"### [ARCHITECT {visible(name)} MESSAGE | {when}] ###"
    extra = [f"id {msg.short_id}"]
    if msg.workspace:
        extra.append(f"from workspace {msg.workspace}")
    if msg.thread:
        extra.append(f"thread {visible(msg.thread)}")
    if msg.reply_to:
        extra.append(f"reply to {visible(msg.reply_to[:12])}")
    if msg.importance:
        extra.append(visible(msg.importance).upper())
    if msg.ack:
        extra.append(f"ack {visible(msg.ack)}: answer with 'git codev reply {msg.short_id}'")
    if msg.kind:
        extra.append(f"kind {visible(msg.kind)}")
    text = f"{head} {', '.join(extra)}"
    if not msg.verified:
        text += f"\n!!! UNVERIFIED: {visible(msg.why_unverified or 'sender not confirmed')}"
    return text


def message_text(msg: Message, *, footer: bool = True) -> str:
    """A message framed as afx frames it for an agent: header, body, afx's footer line.
    ``footer=False`` for a program's input (``inbox --follow --exec``), which ends at the body."""
    text = f"{frame(msg)}\n{body_text(msg.body).rstrip(chr(10))}"
    if msg.truncated_from is not None:
        text += (
            f"\n[... truncated: the message is {msg.truncated_from} bytes, over "
            f"{MAX_MESSAGE_BYTES.name}; the whole of it: git show {msg.id}]"
        )
    return f"{text}\n{FOOTER}" if footer else text


def message_json(msg: Message, **extra: Any) -> dict[str, Any]:
    """A message for machines. Compact: nothing the reader already knows (the git author,
    the channel's ref name); ``thread``, ``replyTo`` and ``workspace`` only when set."""
    data = _head(msg, msg.to)
    if msg.workspace:
        data["fromWorkspace"] = msg.workspace
    data["verified"] = msg.verified
    if not msg.verified:
        data["unverifiedReason"] = msg.why_unverified
    if msg.truncated_from is not None:
        data["truncatedFrom"] = msg.truncated_from
    try:
        data["message"] = msg.body.decode("utf-8")
    except UnicodeDecodeError:
        data["message"] = msg.body.decode("utf-8", "replace")
        data["messageBase64"] = base64.b64encode(msg.body).decode()
    data.update(extra)
    return data


def _head(item: Message | Sent, to: str) -> dict[str, Any]:
    """The fields a message and a sent receipt share, in one shape."""
    data: dict[str, Any] = {
        "id": item.id,
        "from": item.sender,
        "to": to,
        "time": iso_seconds(item.time),
    }
    if item.thread:
        data["thread"] = item.thread
    if item.reply_to:
        data["replyTo"] = item.reply_to
    for key, value in (("ack", item.ack), ("importance", item.importance), ("kind", item.kind)):
        if value:
            data[key] = value
    return data


def sent_text(sent: Sent) -> str:
    to = f"{sent.workspace}:{sent.to}" if sent.workspace else sent.to
    reply = f", reply to {sent.reply_to[:12]}" if sent.reply_to else ""
    return f"sent {sent.id[:12]} to {visible(to)} (from {sent.sender}{reply})"


def sent_json(sent: Sent, published: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``send`` and ``reply`` print: the message's fields, without its text."""
    data = _head(sent, f"{sent.workspace}:{sent.to}" if sent.workspace else sent.to)
    if published is not None:
        data["published"] = published
    return data


def dump_json(data: Any) -> None:
    """Print one JSON document; under the CLI, pending warnings and notes go inside it."""
    sys.stdout.write(json_document(data))


def json_document(data: Any) -> str:
    """The text of one JSON document as commands print it (for callers that write it
    themselves, e.g. to know it was flushed), with the pending warnings and notes inside."""
    from codev_git.commands.console import attach_reports

    return json_text(attach_reports(data)) + "\n"


def json_text(data: Any) -> str:
    """Indented on a terminal; one compact line otherwise (agents pay for every byte)."""
    if sys.stdout.isatty():
        return json.dumps(data, indent=2, ensure_ascii=False)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def style(text: str, colour: str) -> str:
    if not use_colour():
        return text
    codes = {"bold": "1", "dim": "2", "green": "32", "yellow": "33", "red": "31", "cyan": "36"}
    return f"\x1b[{codes[colour]}m{text}\x1b[0m"
