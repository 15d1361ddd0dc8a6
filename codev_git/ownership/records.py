"""Ownership records: which architect owns which builder branch.

A record is a git note in the owners notes ref (``layout.OWNERS_REF``). A branch is not an
object, so the note annotates a stable stand-in: the blob whose content is the branch's full
refname. That blob is kept reachable under ``anchors/`` in the same notes tree (git ignores
non-note entries), so ``git gc`` and ``git notes prune`` never drop a record. Anyone can
read a record with::

    branch=refs/heads/builder/spir-1487
    git notes --ref codev/owners show $(printf %s "$branch" | git hash-object --stdin)

The note holds one JSON object per line, each a full record; lines from two clones merge by
union. Which line is in force is decided by causality, never by the wall clock: a version-2
line names the line it supersedes (``prev``: the id of the line that was in force when it
was written; a line's id is a hash of its text), so its depth — one more than the line it
supersedes — is past everything its writer had seen. Lines are ordered by (depth, time,
text): the last line *written* wins on every clone, concurrent writes are broken the same
way everywhere, and the union of two clones' lines orders identically in both. Version-1
lines (no ``prev``) have depth 0 and keep their old order by ``time`` among themselves;
any version-2 line supersedes them all. See docs/trust.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from codev_git import config, report
from codev_git.errors import OperationalError, UsageError
from codev_git.layout import OWNERS_REF
from codev_git.names import (
    ARCHITECT_RE,
    PROTOCOL_RE,
    THREAD_RE,
    ArchitectName,
    BranchRef,
    BuilderId,
    ThreadName,
    builder_branch_for_dir,
    dir_of_builder,
    is_builder_branch_ref,
    looks_like_builder_id,
    short_branch,
)
from codev_git.ownership.order import causal_order, line_id
from codev_git.store.values import Ident

if TYPE_CHECKING:
    from codev_git.store import Store

ANCHORS_DIR = "anchors"
RECORD_VERSION = 2
EVENTS = ("spawn", "adopt", "reassign", "release")


@dataclass(frozen=True)
class OwnerRecord:
    """One line of an ownership note: the full state of a builder after an event."""

    time: str
    event: str
    builder: BuilderId
    branch: BranchRef
    architect: ArchitectName
    thread: ThreadName | None = None
    protocol: str | None = None
    issue: int | None = None
    task: str | None = None
    by: str | None = None
    base: str | None = None  # the commit the branch started from (spawn) or had (adopt)
    v: int = RECORD_VERSION
    prev: str | None = None  # the id of the record this one supersedes (version 2)
    # optional: written only when set, so ordinary lines stay as they were
    force: bool = False  # the event overrode a refusal (--force)
    reason: str | None = None  # why (given with --force, and what was overridden)
    # the line exactly as stored, when read from a note (never written as a field)
    raw: str = field(default="", compare=False, repr=False)

    @property
    def rid(self) -> str:
        """This record's id: a hash of its line as stored ("" when it was never stored)."""
        return line_id(self.raw) if self.raw else ""

    def line(self) -> str:
        # every field is a str, int or None, so no deep copy (asdict) is needed; time first
        data = {name: getattr(self, name) for name in _RECORD_FIELDS}
        if self.v < 2 and self.prev is None:
            del data["prev"]  # a version-1 line reads back exactly as it was
        for name in _OPTIONAL_FIELDS:
            if not data[name]:
                del data[name]
        return json.dumps(data, separators=(",", ":"), ensure_ascii=True)

    @property
    def branch_name(self) -> str:
        return short_branch(self.branch)

    @classmethod
    def from_line(cls, line: str) -> OwnerRecord:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        record = cls(
            time=str(data["time"]),
            event=str(data["event"]),
            builder=BuilderId(str(data["builder"])),
            branch=BranchRef(str(data["branch"])),
            architect=ArchitectName(str(data["architect"])),
            thread=ThreadName(str(data["thread"])) if data.get("thread") else None,
            protocol=str(data["protocol"]) if data.get("protocol") else None,
            issue=int(data["issue"]) if data.get("issue") is not None else None,
            task=str(data["task"]) if data.get("task") else None,
            by=str(data["by"]) if data.get("by") else None,
            base=str(data["base"]) if data.get("base") else None,
            v=int(data.get("v", 1)),
            prev=str(data["prev"]) if data.get("prev") else None,
            force=data.get("force") is True,
            reason=str(data["reason"]) if data.get("reason") else None,
            raw=line,
        )
        record.check()
        return record

    def check(self) -> None:
        """Records also arrive from other clones (sync): every name must be one we would
        have written, so none can misroute a message or rewrite a terminal."""
        checks = {
            "architect": ARCHITECT_RE.fullmatch(self.architect),
            "builder": looks_like_builder_id(self.builder),
            "branch": is_builder_branch_ref(self.branch),
            "thread": self.thread is None or THREAD_RE.fullmatch(self.thread),
            "protocol": self.protocol is None or PROTOCOL_RE.fullmatch(self.protocol),
            "by": self.by is None or _BY_RE.fullmatch(self.by),
            "base": self.base is None or _HEX_RE.fullmatch(self.base),
            "time": _TIME_RE.fullmatch(self.time),
            "event": self.event in EVENTS,
            "prev": self.prev is None or _ID_RE.fullmatch(self.prev),
            "reason": self.reason is None or _REASON_RE.fullmatch(self.reason),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError("invalid " + ", ".join(bad))


_BY_RE = re.compile(r"[a-z][a-z0-9-]{0,90}")
_HEX_RE = re.compile(r"[0-9a-f]{40}")
_ID_RE = re.compile(r"[0-9a-f]{24}")
_TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


_REASON_RE = re.compile(r"[^\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]{1,300}")
_RECORD_FIELDS = tuple(f.name for f in fields(OwnerRecord) if f.name != "raw")
_OPTIONAL_FIELDS = ("force", "reason")


@dataclass(frozen=True)
class Ownership:
    """All the records of one branch, oldest first; ``current`` is the one in force."""

    history: tuple[OwnerRecord, ...]

    @property
    def current(self) -> OwnerRecord:
        return self.history[-1]

    def record_by_id(self, rid: str) -> OwnerRecord | None:
        return next((r for r in self.history if r.rid == rid), None)

    def supersedes(self, newer: OwnerRecord, older: OwnerRecord) -> bool:
        """Whether ``newer`` was written knowing ``older`` (``older`` is on its chain)."""
        by_id = {r.rid: r for r in self.history}
        seen: set[str] = set()
        current: OwnerRecord | None = newer
        while current is not None and current.rid not in seen:
            if current.rid == older.rid:
                return True
            seen.add(current.rid)
            current = by_id.get(current.prev) if current.prev else None
        return False

    def owner_at(self, when: str) -> ArchitectName | None:
        """The architect that owned the builder at ISO time ``when`` (None before spawn)."""
        owner: ArchitectName | None = None
        for record in self.history:
            if record.time <= when:
                owner = None if record.event == "release" else record.architect
        return owner

    @property
    def released(self) -> bool:
        """The newest record gives the branch up: it is no builder any more."""
        return self.current.event == "release"


def _notes_commit(
    store: Store, tree: str, parents: list[str], actor: Ident, summary: str, sign: bool
) -> str:
    """A notes commit; signed with git's own signing setup under ``codev.signMessages``
    (``codev.requireSigned`` readers believe only lines such commits introduced)."""
    message = f"codev: {summary}\n".encode()
    if not sign:
        return store.write_commit(tree=tree, parents=parents, author=actor, message=message)
    from codev_git.store.porcelain import commit_tree_signed

    where = store.workdir or store.git_dir
    return commit_tree_signed(where, tree, parents, message, actor.name, actor.email)


def _odd_entry(name: str, kind: str) -> str:
    return (
        f"skipping ownership note {name[:12]}: it is a {kind} entry, not a note "
        "(written by some other tool or another clone)"
    )


def anchor_id(branch: BranchRef) -> str:
    """The id of the blob whose content is the branch's full refname (what ``git hash-object``
    gives), computed here so that reading a record needs no repository library (the
    fast path); :meth:`OwnerBook.anchor` is the same with one at hand."""
    import hashlib  # only lookups by branch need it (2 ms to load)

    data = branch.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def parse_note(data: bytes, label: str, *, warn: bool = True) -> list[OwnerRecord]:
    """The valid records of one note, in order; bad lines are skipped with a warning."""
    records: list[OwnerRecord] = []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            records.append(OwnerRecord.from_line(raw.strip()))
        except (ValueError, KeyError, TypeError):
            if warn:
                report.warn(f"skipping unreadable line {number} of {label}")
    if len(records) > 1:
        records = causal_order(records)
    return records


def merge_note_lines(*notes: bytes) -> bytes:
    """Union of the lines of several notes, sorted (what ``cat_sort_uniq`` does)."""
    lines: set[str] = set()
    for data in notes:
        lines.update(ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip())
    return ("\n".join(sorted(lines)) + "\n").encode() if lines else b""


class OwnerBook:
    """Reads and writes ownership records in one repository."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._trusted: set[str] | None = None  # under codev.requireSigned: believed line ids
        self._signed_checked = False

    def _believed(self, records: list[OwnerRecord]) -> list[OwnerRecord]:
        """Under ``codev.requireSigned`` only lines a trusted signed commit introduced."""
        if not self._signed_checked:
            self._signed_checked = True
            if config.REQUIRE_SIGNED.flag(self.store):
                from codev_git.ownership.signed import trusted_lines

                self._trusted = trusted_lines(self.store)
        if self._trusted is None or not records:
            return records
        kept = [r for r in records if r.rid in self._trusted]
        if len(kept) != len(records):
            report.warn(
                f"ignoring {len(records) - len(kept)} ownership record(s) of "
                f"{records[0].builder} not written by a trusted signed commit "
                f"({config.REQUIRE_SIGNED.name} is set)"
            )
        return causal_order(kept) if kept else kept

    def tree(self) -> str | None:
        """The notes tree the records are read from now (None: no records yet)."""
        return self._tree()

    def _tree(self) -> str | None:
        tip = self.store.ref_target(OWNERS_REF)
        if tip is None:
            return None
        if self.store.object_type(tip) != "commit":
            report.warn(
                f"{OWNERS_REF} points at a {self.store.object_type(tip)}, "
                "not a commit; ignoring ownership records"
            )
            return None
        return self.store.tree_of(tip)

    def lookup(self, branch: BranchRef, *, include_released: bool = False) -> Ownership | None:
        tree = self._tree()
        if tree is None:
            return None
        anchor = self.anchor(branch)
        blob = self.store.note_blob(tree, anchor)
        if blob is None:
            odd = self.store.tree_entry(tree, anchor)
            if odd is not None and odd[1] != "blob":
                report.warn(_odd_entry(anchor, odd[1]))
            return None
        records = [
            r
            for r in parse_note(self.store.read_blob(blob), f"the ownership note of {branch}")
            if r.branch == branch
        ]
        records = self._believed(records) if records else records
        if not records:
            return None
        owned = Ownership(tuple(records))
        return owned if include_released or not owned.released else None

    def all(self, *, include_released: bool = False) -> list[Ownership]:
        return self.all_in(self._tree(), include_released=include_released)

    def all_in(self, tree: str | None, *, include_released: bool = False) -> list[Ownership]:
        """Every ownership in a notes tree (the ref's, or one a compare-and-swap is about
        to build on)."""
        if tree is None:
            return []
        out: list[Ownership] = []
        skipped: list[str] = []
        for annotated, blob in self.store.note_entries(tree, skipped):
            try:
                data = self.store.read_blob(blob)
            except OperationalError:
                continue
            records = parse_note(data, f"ownership note {annotated[:12]}")
            records = self._own_lines(annotated, records)
            records = self._believed(records) if records else records
            if records and (include_released or records[-1].event != "release"):
                out.append(Ownership(tuple(records)))
        for name in skipped:
            report.warn(_odd_entry(name, "non-blob"))
        out.sort(key=lambda o: o.current.builder)
        return out

    def anchor(self, branch: BranchRef) -> str:
        """What a branch's note annotates (:func:`anchor_id`, hashed by the repository
        library this book already holds)."""
        return self.store.hash_blob(branch.encode())

    def _own_lines(self, annotated: str, records: list[OwnerRecord]) -> list[OwnerRecord]:
        """The lines of a note that name the branch it annotates (each line is written under
        its own branch's note, as :meth:`lookup` reads it); others, which only another
        clone's data can hold, are skipped with one warning per note."""
        named = {r.branch for r in records}
        mine = {b for b in named if self.anchor(b) == annotated}
        own = records if mine == named else [r for r in records if r.branch in mine]
        if len(own) != len(records):
            report.warn(
                f"ownership note {annotated[:12]}: skipping {len(records) - len(own)} record "
                "line(s) that name another branch than the one it annotates "
                "(written by some other tool or another clone)"
            )
        return own

    def by_builder(self, builder: str) -> Ownership | None:
        """A builder's records by id (released ones too, for checking old messages): O(1)
        for ``builder/<dir>`` branches, else a scan."""
        if looks_like_builder_id(builder):
            branch = builder_branch_for_dir(dir_of_builder(BuilderId(builder)))
            direct = self.lookup(branch, include_released=True)
            if direct is not None and direct.current.builder == builder:
                return direct
        for owned in self.all(include_released=True):
            if owned.current.builder == builder:
                return owned
        return None

    def find(self, address: str) -> Ownership:
        """A builder by id, directory or unique tail (``builder-spir-1487``, ``1487``);
        a numeric tail ignores leading zeros (``0109``), as afx's does."""
        from codev_git.address import without_leading_zeros

        try:
            return self._find(address)
        except UsageError as exc:
            trimmed = without_leading_zeros(address)
            if trimmed == address or exc.code != "unknown-builder":
                raise
            return self._find(trimmed)

    def _find(self, address: str) -> Ownership:
        owned = self.all()
        exact = [o for o in owned if address in (o.current.builder, o.current.branch_name)]
        if not exact:
            exact = [
                o
                for o in owned
                if o.current.builder.endswith("-" + address)
                or o.current.builder == "builder-" + address
            ]
        if len(exact) == 1:
            return exact[0]
        if not exact:
            raise UsageError(
                f"no builder matches {address!r}",
                "run 'git codev status' to list builders, or adopt the branch first",
                code="unknown-builder",
            )
        names = ", ".join(o.current.builder for o in exact[:8])
        raise UsageError(
            f"{address!r} matches several builders ({names})",
            "give the full id",
            code="ambiguous",
            candidates=[o.current.builder for o in exact],
        )

    def record(
        self,
        records: Iterable[OwnerRecord],
        actor: Ident,
        summary: str,
        *,
        guard: Callable[[str | None], None] | None = None,
    ) -> list[OwnerRecord]:
        """Append records (one per branch) to the notes ref with compare-and-swap. Each is
        written as superseding the record in force at that moment (computed again after a
        lost race); afterwards each is read back, and an error says so if one is not in
        force (no command may say it changed something it did not). Returns them as
        written. ``guard`` is called with the notes tree each attempt builds on, inside the
        compare-and-swap: it raises to refuse, so a check and the record are one step."""
        batch = list(records)
        store = self.store
        written: dict[str, OwnerRecord] = {}
        sign = config.SIGN_MESSAGES.flag(store)
        self._believed([])  # loads the believed lines under codev.requireSigned
        trusted = self._trusted

        def compute(old: str | None) -> str:
            base_tree = store.tree_of(old) if old is not None else None
            if guard is not None:
                guard(base_tree)
            changes: dict[str, tuple[str, str]] = {}
            anchors_base = None
            if base_tree is not None:
                found = store.tree_entry(base_tree, ANCHORS_DIR)
                anchors_base = found[0] if found and found[1] == "tree" else None
            anchor_changes: dict[str, tuple[str, str]] = {}
            for rec in batch:
                anchor = store.write_blob(rec.branch.encode())
                anchor_changes[anchor] = (anchor, "blob")
                existing = b""
                if base_tree is not None:
                    blob = store.note_blob(base_tree, anchor)
                    if blob is not None:
                        existing = store.read_blob(blob)
                        # a fanned-out entry is folded back into the flat layout
                        if store.tree_entry(base_tree, anchor) is None:
                            changes.update(_unfan(store, base_tree, anchor))
                known = parse_note(existing, rec.branch, warn=False)
                before = [r for r in known if r.branch == rec.branch]
                if trusted is not None:  # supersede only what readers believe
                    before = causal_order([r for r in before if r.rid in trusted])
                new = replace(rec, v=RECORD_VERSION, prev=before[-1].rid if before else None)
                new = replace(new, raw=new.line())
                written[rec.branch] = new
                merged = merge_note_lines(existing, (new.line() + "\n").encode())
                changes[anchor] = (store.write_blob(merged), "blob")
            changes[ANCHORS_DIR] = (store.write_tree(anchor_changes, anchors_base), "tree")
            tree = store.write_tree(changes, base_tree)
            return _notes_commit(store, tree, [old] if old else [], actor, summary, sign)

        store.cas_update(OWNERS_REF, compute, f"codev: {summary}")
        owners_moved(store)
        self._signed_checked = False  # read back with the new commit's signature checked
        for branch, new in written.items():
            self._confirm(BranchRef(branch), new)
        return list(written.values())

    def _confirm(self, branch: BranchRef, new: OwnerRecord) -> None:
        owned = self.lookup(branch, include_released=True)
        if self._trusted is not None and new.rid not in self._trusted:
            raise OperationalError(
                f"the change to {new.builder} was written, but {config.REQUIRE_SIGNED.name} "
                "readers ignore it: it is not signed by a key in gpg.ssh.allowedSignersFile",
                f"set {config.SIGN_MESSAGES.name} true with a trusted signing key, then run it "
                "again",
            )
        if owned is None or owned.record_by_id(new.rid) is None:
            raise OperationalError(
                f"the ownership record for {short_branch(branch)} was written but does not "
                "read back (is refs/notes/codev/owners being rewritten?)",
                "run 'git codev status' and try again",
            )
        current = owned.current
        if current.rid != new.rid and not owned.supersedes(current, new):
            raise OperationalError(
                f"the change to {new.builder} was written, but a concurrent record from "
                f"{current.by or current.architect} ({current.event} to {current.architect}) "
                "is in force",
                "run 'git codev status' to see the owner, then try again if still needed",
            )

    def unrecord(self, record: OwnerRecord, actor: Ident, summary: str) -> None:
        """Take back one record line as written (a spawn that failed half-way), by
        compare-and-swap: every other line of the note stays, so an older builder's history
        is kept; the note (and its anchor) goes only when that line was all it held."""
        store = self.store
        anchor = self.anchor(record.branch)
        line = record.line()

        def compute(old: str | None) -> str | None:
            if old is None:
                return None
            base_tree = store.tree_of(old)
            blob = store.note_blob(base_tree, anchor)
            if blob is None:
                return None
            lines = [
                ln for ln in store.read_blob(blob).decode("utf-8", "replace").splitlines() if ln
            ]
            kept = [ln for ln in lines if ln != line]
            if len(kept) == len(lines):
                return None  # not there (taken back already)
            changes = _unfan(store, base_tree, anchor)
            if kept:
                changes[anchor] = (store.write_blob(("\n".join(kept) + "\n").encode()), "blob")
            else:
                changes[anchor] = ("", "delete")
                found = store.tree_entry(base_tree, ANCHORS_DIR)
                if found is not None and found[1] == "tree":
                    anchors = store.write_tree({anchor: ("", "delete")}, found[0])
                    changes[ANCHORS_DIR] = (anchors, "tree")
            tree = store.write_tree(changes, base_tree)
            return store.write_commit(
                tree=tree, parents=[old], author=actor, message=f"codev: {summary}\n".encode()
            )

        store.cas_update(OWNERS_REF, compute, f"codev: {summary}")
        owners_moved(store)


def owners_moved(store: Store) -> None:
    """What follows every move of the notes ref (a record written here, or a sync taking
    in another clone's): the post-checkout hook's list of owned branches is rewritten."""
    from codev_git.worktree.owned_cache import refresh

    refresh(store)


def _unfan(store: Store, base_tree: str, anchor: str) -> dict[str, tuple[str, str]]:
    sub = store.tree_entry(base_tree, anchor[:2])
    if sub is None:
        return {}
    new_sub = store.write_tree({anchor[2:]: ("", "delete")}, sub[0])
    return {anchor[:2]: (new_sub, "tree")}
