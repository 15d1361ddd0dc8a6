"""Small typed values, validated once where they enter the program.

Each ``parse_*`` function returns a distinct ``NewType`` so that an architect name can
never be passed where a builder id or a refname is expected.
"""

from __future__ import annotations

import re
from typing import NewType

from codev_git.errors import UsageError

ArchitectName = NewType("ArchitectName", str)
BuilderId = NewType("BuilderId", str)
ThreadName = NewType("ThreadName", str)
Protocol = NewType("Protocol", str)
BranchRef = NewType("BranchRef", str)  # a full refname: refs/heads/...

ARCHITECT_RE = re.compile(r"[a-z][a-z0-9-]{0,63}")
THREAD_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
PROTOCOL_RE = re.compile(r"[a-z][a-z0-9-]{0,31}")
BUILDER_DIR_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
BUILDER_PREFIX = "builder-"
BRANCH_PREFIX = "refs/heads/"
BUILDER_BRANCH_PREFIX = "refs/heads/builder/"
MAX_ISSUE = 10**9
BRANCH_REF_RE = re.compile(r"refs/heads/[A-Za-z0-9._/+-]{1,200}")
REMOTE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def is_builder_branch_ref(ref: str) -> bool:
    """A local branch name we record ownership of: plain ASCII, no '..', no '@{'."""
    return (
        bool(BRANCH_REF_RE.fullmatch(ref)) and ".." not in ref and not ref.endswith((".lock", "/"))
    )


def shown(raw: str, limit: int = 40) -> str:
    """A user-supplied value made safe to echo in a one-line error."""
    text = raw if len(raw) <= limit else raw[:limit] + "…"
    return repr(text)


def printable(raw: str, limit: int = 120) -> str:
    """Outside data made safe to print: control and invisible characters escaped, no quotes."""
    text = raw if len(raw) <= limit else raw[:limit] + "…"
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def parse_architect(raw: str) -> ArchitectName:
    if not ARCHITECT_RE.fullmatch(raw):
        raise UsageError(
            f"invalid architect name {shown(raw)}",
            "use a lowercase letter then up to 63 of [a-z0-9-], e.g. 'main' or 'payments'",
        )
    return ArchitectName(raw)


def parse_thread(raw: str) -> ThreadName:
    if not THREAD_RE.fullmatch(raw):
        raise UsageError(
            f"invalid thread name {shown(raw)}",
            "use up to 64 of [a-z0-9-], starting with a letter or digit, e.g. 'checkout-v2'",
        )
    return ThreadName(raw)


def parse_protocol(raw: str) -> Protocol:
    if not PROTOCOL_RE.fullmatch(raw):
        raise UsageError(
            f"invalid protocol {shown(raw)}",
            "use a lowercase letter then up to 31 of [a-z0-9-], e.g. 'spir' or 'bugfix'",
        )
    return Protocol(raw)


def parse_issue_number(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or int(raw) == 0 or int(raw) >= MAX_ISSUE:
        raise UsageError(
            f"invalid project number {shown(raw)}", "give a positive whole number, e.g. 1487"
        )
    return int(raw)


def parse_builder_dir(raw: str) -> str:
    if not BUILDER_DIR_RE.fullmatch(raw):
        raise UsageError(
            f"invalid builder directory {shown(raw)}", "use lowercase letters, digits and '-'"
        )
    return raw


def builder_branch_for_dir(directory: str) -> BranchRef:
    return BranchRef(BUILDER_BRANCH_PREFIX + parse_builder_dir(directory))


def short_branch(ref: str, prefix: str = BRANCH_PREFIX) -> str:
    return ref[len(prefix) :] if ref.startswith(prefix) else ref


def builder_id_for_branch(ref: BranchRef) -> BuilderId:
    """``refs/heads/builder/spir-1487`` -> ``builder-spir-1487``; other branches are slugged."""
    if ref.startswith(BUILDER_BRANCH_PREFIX):
        tail = ref[len(BUILDER_BRANCH_PREFIX) :]
        if BUILDER_DIR_RE.fullmatch(tail):
            return BuilderId(BUILDER_PREFIX + tail)
    slug = re.sub(r"[^a-z0-9]+", "-", short_branch(ref).lower()).strip("-")[:80]
    if not slug:
        raise UsageError(
            f"cannot derive a builder id from branch {shown(ref)}",
            "name the branch with letters or digits",
        )
    return BuilderId(BUILDER_PREFIX + slug)


def is_remote_name(raw: str) -> bool:
    """Whether ``raw`` can name a git remote here (``sync``, a branch's upstream)."""
    return bool(REMOTE_RE.fullmatch(raw)) and ".." not in raw and not raw.endswith((".", ".lock"))


def looks_like_builder_id(raw: str) -> bool:
    return raw.startswith(BUILDER_PREFIX) and bool(
        BUILDER_DIR_RE.fullmatch(raw[len(BUILDER_PREFIX) :])
    )


def dir_of_builder(builder: BuilderId) -> str:
    return builder[len(BUILDER_PREFIX) :]
