"""How parties are written, on the command line and in ``Codev-From:``/``Codev-To:`` trailers.

===========================  ===============================================================
``architect``                a builder's own architect (only a builder may use it)
``architect:NAME``           the architect NAME
``broadcast``                everyone
``builder-<dir>``            a builder, by id; on the command line also its directory or a
                             unique tail (``spir-1487``, ``1487``)
``human``                    (sender only) a person writing on ``git codev web
                             --allow-send``; no command-line identity can claim it
``<workspace>:<target>``     a target in another local repository registered with
                             ``git config codev.workspace.<workspace>.path``
===========================  ===============================================================

As afx accepts them: targets are matched case-insensitively, ``arch`` is short for
``architect``, and a numeric tail ignores leading zeros (``0109`` is ``109``).

Parsing and formatting live here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from codev_git.errors import UsageError
from codev_git.names import BUILDER_PREFIX, ArchitectName, parse_architect, shown

OWN_ARCHITECT = "architect"
ARCHITECT_PREFIX = "architect:"
BROADCAST = "broadcast"
HUMAN = "human"
SHORT_ARCHITECT = "arch"
TARGET_HINT = "use architect, architect:<name>, broadcast, or a builder id such as 1487"
_LEADING_ZEROS = re.compile(r"(^|-)0+(?=\d+(?:-|$))")
_WORKSPACE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

TargetKind = Literal["own-architect", "architect", "broadcast", "builder"]


@dataclass(frozen=True)
class Target:
    """A send target as the user wrote it, classified; ``name`` is the architect's name or the
    builder's id/tail (resolved against ownership records later)."""

    kind: TargetKind
    name: str = ""
    workspace: str | None = None  # another local repository, by its registered name


def parse_target(raw: str) -> Target:
    """Classify a command-line target; bad input is a UsageError naming the valid forms."""
    if not raw or any(ch.isspace() or ord(ch) < 32 for ch in raw):
        raise UsageError(f"invalid target {shown(raw)}", TARGET_HINT)
    head, sep, rest = raw.partition(":")
    if sep and head.lower() not in (OWN_ARCHITECT, SHORT_ARCHITECT):
        if not _WORKSPACE_RE.fullmatch(head) or not rest:
            raise UsageError(f"invalid target {shown(raw)}", TARGET_HINT)
        inner = parse_target(rest)
        if inner.workspace is not None:
            raise UsageError(f"invalid target {shown(raw)}: one workspace only", TARGET_HINT)
        return Target(inner.kind, inner.name, head)
    lowered = raw.lower()
    if lowered == BROADCAST:
        return Target("broadcast")
    if lowered in (OWN_ARCHITECT, SHORT_ARCHITECT):
        return Target("own-architect")
    if sep:
        return Target("architect", parse_architect(rest.lower()))
    return Target("builder", lowered)


def without_leading_zeros(address: str) -> str:
    """``0109`` -> ``109``, ``spir-0109`` -> ``spir-109`` (afx's numeric tails)."""
    return _LEADING_ZEROS.sub(r"\1", address)


def architect_address(name: str) -> str:
    """``main`` -> ``architect:main``."""
    return ARCHITECT_PREFIX + name


def architect_in(address: str) -> str | None:
    """The architect named by an address (``architect:main`` -> ``main``), else None."""
    return address[len(ARCHITECT_PREFIX) :] if address.startswith(ARCHITECT_PREFIX) else None


def is_builder_address(address: str) -> bool:
    return address.startswith(BUILDER_PREFIX)


def is_broadcast(address: str) -> bool:
    return address == BROADCAST


def is_human(address: str) -> bool:
    """The reserved sender of messages written on the supervisor's page."""
    return address == HUMAN


def architect_name(address: str) -> ArchitectName:
    """The architect of an ``architect:NAME`` address, validated."""
    name = architect_in(address)
    if name is None:
        raise UsageError(f"{shown(address)} is not an architect address", TARGET_HINT)
    return parse_architect(name)
