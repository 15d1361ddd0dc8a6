"""What each page shows, built from the domain's own reports (status, threads, timeline).

Everything here only reads: no read cursor moves, no ref is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codev_git import clock
from codev_git.address import architect_address
from codev_git.messaging.message import channels_of
from codev_git.names import ArchitectName
from codev_git.ownership.builder_state import architect_identity, status_report
from codev_git.store import Store
from codev_git.web.index import Asked, MessageIndex

PROJECTS_DIR = "codev/projects"
UNREAD_SCAN = 5000  # the oldest-unread age is a lower bound past this many unread messages


def epoch_iso(epoch: int | None) -> str | None:
    return clock.iso(epoch) if epoch is not None else None


def age(stamp: str | None, now: float) -> str:
    """``40s``, ``3m``, ``2h05m``, ``5d3h`` since ``stamp``, as the CLI says it (``-``: unknown)."""
    from codev_git.messaging.acks import age_of, age_text

    seconds = age_of(stamp, now) if stamp else None
    return "-" if seconds is None else age_text(seconds)


def phase_of(store: Store, builder: dict[str, Any]) -> str | None:
    """The phase in Codev's porch state ``codev/projects/<id>-<slug>/status.yaml``: from the
    builder's worktree when it has one, else as committed on its branch."""
    issue = builder.get("issueNumber")
    if issue is None:
        return None
    prefix = f"{issue}-"
    worktree = builder.get("worktree")
    if worktree:
        for path in sorted(Path(worktree, PROJECTS_DIR).glob(f"{prefix}*/status.yaml")):
            try:
                return _phase(path.read_bytes())
            except OSError:
                continue
    tip = builder.get("lastCommit")
    if not tip:
        return None
    for entry in store.list_dir(tip, PROJECTS_DIR):
        if entry.startswith(prefix):
            data = store.read_path(tip, f"{PROJECTS_DIR}/{entry}/status.yaml")
            if data is not None:
                return _phase(data)
    return None


def _phase(data: bytes) -> str | None:
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "phase" and not line.startswith((" ", "\t")):
            value = value.split(" #", 1)[0].strip().strip("'\"")
            return value[:40] or None
    return None


@dataclass(frozen=True)
class Waiting:
    asked: Asked
    age: str
    preview: str


PREVIEW_CHARS = 90
WAITING_SHOWN = 20  # per list on a card; the summary counts them all


def waiting_items(store: Store, asked: list[Asked], now: float) -> list[Waiting]:
    """The oldest questions first, each with the first line of its text."""
    out = []
    for item in asked[:WAITING_SHOWN]:
        summary = store.commit_summary(item.id)
        line = summary[1] if summary else ""
        if len(line) > PREVIEW_CHARS:
            line = line[: PREVIEW_CHARS - 1] + "…"
        out.append(Waiting(item, age(item.time, now), line))
    return out


def oldest_unread_by_sender(store: Store, name: ArchitectName) -> dict[str, str]:
    """For an architect's own inbox: each sender's oldest unread message time."""
    channel, cursor_ref = channels_of(architect_identity(name))[0]
    tip = store.ref_target(channel)
    if tip is None or store.object_type(tip) != "commit":
        return {}
    hide = store.ref_target(cursor_ref)
    oldest: dict[str, str] = {}
    from codev_git.messaging.message import decode, is_merge

    hidden = [hide] if hide and store.object_type(hide) == "commit" else []
    for seen, info in enumerate(store.walk(tip, hidden)):
        if seen >= UNREAD_SCAN:
            break
        if is_merge(info):
            continue
        msg = decode(info, channel)
        if msg is not None and msg.time < oldest.get(msg.sender, "~"):
            oldest[msg.sender] = msg.time
    return oldest


def overview(
    store: Store, index: MessageIndex, *, stale_seconds: float, now: float | None = None
) -> dict[str, Any]:
    now = clock.now() if now is None else now
    report = status_report(store)
    index.refresh(store)
    from codev_git.messaging.acks import unanswerable

    waiting = index.waiting()
    gone = unanswerable(store, (w.message for w in waiting))  # to builders released since
    waiting = [w for w in waiting if w.id not in gone]
    cards = []
    for arch in report["architects"]:
        name = arch["name"]
        address = architect_address(name)
        unread_from = oldest_unread_by_sender(store, name)
        builders = []
        last = [index.last_seen.get(address)]
        for row in report["builders"]:
            if row["spawnedByArchitect"] != name:
                continue
            oldest = unread_from.get(row["id"])
            stale = oldest is not None and _older_than(oldest, now, stale_seconds)
            last += [index.last_seen.get(row["id"]), row.get("lastCommitTime")]
            builders.append(
                {
                    **row,
                    "phase": phase_of(store, row),
                    "stale": stale,
                    "unreadByOwnerSince": oldest,
                    "unreadByOwnerAge": age(oldest, now) if oldest else None,
                }
            )
        mine = {address} | {b["id"] for b in builders}
        cards.append(
            {
                "name": name,
                "unread": arch["unread"],
                "builders": builders,
                "toAnswer": waiting_items(store, [w for w in waiting if w.to == address], now),
                "awaiting": waiting_items(
                    store, [w for w in waiting if w.sender in mine and w.to != address], now
                ),
                "lastActivity": max((t for t in last if t), default=None),
                "stale": sum(1 for b in builders if b["stale"]),
            }
        )
    for card in cards:
        card["lastActivityAge"] = age(card["lastActivity"], now)
    return {
        "workspace": report["workspace"],
        "baseBranch": report["baseBranch"],
        "architects": cards,
        "builderCount": len(report["builders"]),
        "messageCount": index.count,
        "waitingCount": len(waiting),
        "now": clock.iso(now),
    }


def _older_than(stamp: str, now: float, seconds: float) -> bool:
    when = clock.parse(stamp)
    return when is not None and now - when > seconds


def threads_view(store: Store) -> list[dict[str, Any]]:
    """Active threads, then archived ones, each with its roster and builders' merge state."""
    from codev_git.threads.model import builder_rows, head_commit, list_threads, summary_json

    commit = head_commit(store)
    if commit is None:
        return []
    grouped = builder_rows(store)
    out = []
    for thread in list_threads(store, commit, archived=True):
        rows = grouped.get(thread.name, [])
        summary = summary_json(thread, rows, store.last_commit_touching(commit, thread.path))
        out.append({**summary, "roster": [r.as_json() for r in rows]})
    return out


def thread_detail(store: Store, name: str) -> dict[str, Any]:
    from codev_git.names import parse_thread
    from codev_git.threads.model import find_thread, head_commit, live, show_json
    from codev_git.web.markdown import render_thread

    commit = head_commit(store)
    thread_name = parse_thread(name)
    if commit is None:
        from codev_git.threads.model import unknown_thread

        raise unknown_thread(store, thread_name, "HEAD")
    thread = find_thread(store, commit, thread_name, "HEAD")
    data = show_json(
        thread, "HEAD", commit, store.last_commit_touching(commit, thread.path), live(store, thread)
    )
    data["html"] = render_thread(thread.text)
    return data
