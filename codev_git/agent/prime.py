"""``git codev prime``: everything an agent needs to pick up its work, compactly.

Who you are and how that was decided, your role in one line, your threads, your builders'
states, what awaits an answer (from you and for you), the unread count, and the unread
messages themselves. It is what the SessionStart hook hands an agent, and what an agent runs
again after its context was compacted.

prime *hands over* the unread messages it shows, so it marks them read — but only after its
whole output was written and flushed (``--peek`` leaves them unread). What does not fit in the
size budget stays unread, and the output says how many remain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codev_git.messaging.acks import Awaiting
from codev_git.messaging.handover import Pending
from codev_git.messaging.message import Message
from codev_git.ownership.identity import Identity
from codev_git.store import Store

# hook context is capped at 10,000 characters by Claude Code; prime's text stays under it
DEFAULT_BUDGET = 9500


@dataclass
class Prime:
    who: Identity
    workspace: str
    threads: list[dict[str, Any]]
    builders: list[dict[str, Any]]
    waiting_on_others: list[Awaiting]
    owed_by_me: list[Awaiting]
    batch: Pending
    handed: list[Message] = field(default_factory=list)
    messages_text: str = ""

    @property
    def unread(self) -> int:
        return len(self.batch.messages)

    @property
    def remaining(self) -> int:
        return self.unread - len(self.handed)

    def role(self) -> str:
        who = self.who
        if who.is_builder:
            return (
                f"builder {who.name}, working for architect {who.architect}: report progress and "
                'blockers with `git codev send architect "..."`; your instructions arrive here.'
            )
        return (
            f"architect {who.name}: you own the builders below; their messages reach only you; "
            'instruct one with `git codev send <builder> "..."`, answer with '
            '`git codev reply <id> "..."` or `git codev ack <id>`.'
        )

    def as_json(self, marked: int) -> dict[str, Any]:
        from codev_git.messaging.render import message_json

        who = self.who
        return {
            "identity": {
                "type": who.kind,
                "name": who.name,
                "architect": who.architect,
                "address": who.address,
                "source": who.source,
                "workspace": workspace_name_of(self.workspace),
                "workspacePath": self.workspace,
            },
            "role": self.role(),
            "threads": self.threads,
            "builders": self.builders,
            "pendingAcks": [a.as_json() for a in self.waiting_on_others],
            "awaitingYourAnswer": [a.as_json() for a in self.owed_by_me],
            "unread": self.unread,
            "messages": [message_json(m) for m in self.handed],
            "remaining": self.remaining,
            "markedRead": marked,
        }

    def text(self) -> str:
        from codev_git.messaging.render import visible

        who = self.who
        lines = [
            f"git codev: you are {who.address}",
            f"decided by: {visible(who.source)}",
            f"role: {self.role()}",
        ]
        if self.threads:
            lines.append("threads: " + "; ".join(_thread_line(t) for t in self.threads))
        if self.builders:
            lines.append("builders:")
            lines += [f"  {_builder_line(b)}" for b in self.builders]
        elif not who.is_builder:
            lines.append("builders: none yet (git codev spawn N --protocol P)")
        if self.waiting_on_others:
            lines.append("you await answers:")
            lines += [f"  {a.line()}" for a in self.waiting_on_others]
        if self.owed_by_me:
            lines.append('awaiting YOUR answer (git codev reply ID "..." or git codev ack ID):')
            lines += [f"  {a.line()}" for a in self.owed_by_me]
        if not self.unread:
            lines.append("unread: none")
        else:
            lines.append(f"unread: {self.unread}" + (" (shown below)" if self.handed else ""))
        out = "\n".join(lines)
        if self.messages_text:
            out += "\n\n" + self.messages_text
        if self.remaining:
            out += f"\n\n({self.remaining} more unread did not fit here: run `git codev inbox`)"
        return out


def _thread_line(t: dict[str, Any]) -> str:
    from codev_git.messaging.render import visible

    headline = f" - {visible(t['headline'])}" if t.get("headline") else ""
    return f"{t['name']} ({t['status']}){headline}"


def _builder_line(b: dict[str, Any]) -> str:
    thread = f" thread {b['thread']}" if b.get("thread") else ""
    ahead = f"+{b['ahead']}/-{b['behind']}" if "ahead" in b else "-"
    return f"{b['id']} {b['branchState']} {ahead}{thread} unread {b['unread']}" + (
        "" if b["worktree"] else " (no worktree)"
    )


def build(store: Store, who: Identity, *, budget: int = DEFAULT_BUDGET) -> Prime:
    """Everything prime shows, with as many unread messages as fit in ``budget``."""
    from codev_git.messaging.acks import all_messages, awaiting
    from codev_git.messaging.handover import fit, pending
    from codev_git.messaging.render import message_text
    from codev_git.ownership.builder_state import rows
    from codev_git.ownership.records import OwnerBook
    from codev_git.threads.model import head_commit, list_threads

    book = OwnerBook(store)
    threads: list[dict[str, Any]] = []
    builders: list[dict[str, Any]] = []
    if not who.is_builder:
        threads = [
            t.facts()
            for t in list_threads(store, head_commit(store))
            if t.architect == who.architect
        ]
        builders = [r.as_json() for r in rows(store, book.all(), architect=who.architect)]
    everything = all_messages(store)
    mine = awaiting(store, sender=who.address, messages=everything)
    owed = awaiting(store, recipient=who.address, messages=everything)
    batch = pending(store, who, book)
    prime = Prime(
        who,
        str(store.main_workdir or store.common_dir),
        threads,
        builders,
        mine,
        owed,
        batch,
    )
    head = len(prime.text()) + 120  # the footer saying how many remain
    handed, text = fit(batch.messages, max(0, budget - head), message_text)
    prime.handed, prime.messages_text = handed, text
    return prime


def workspace_name_of(path: str) -> str:
    """The workspace's display name for ``path`` (as whoami gives it)."""
    from codev_git.ownership.identity import workspace_name
    from codev_git.store import Store

    return workspace_name(Store.discover(path))
