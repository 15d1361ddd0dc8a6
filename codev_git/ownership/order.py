"""The order of ownership events: causality, never the wall clock (see ``records``).

A version-2 record names the record it supersedes (``prev``, the id of that record's line);
its depth is one more than that record's. Version-1 records (no ``prev``) have depth 0.
Records are ordered by (depth, time, text): a deterministic linear order in which every
record comes after the one it supersedes, the same on every clone for the same set of lines.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codev_git.ownership.records import OwnerRecord


def line_id(line: str) -> str:
    """A record's id: a hash of its line exactly as stored."""
    return hashlib.sha256(line.strip().encode("utf-8", "surrogateescape")).hexdigest()[:24]


def causal_order(records: list[OwnerRecord]) -> list[OwnerRecord]:
    """Records oldest first by (depth, time, text); see the module docstring."""
    by_id = {r.rid: r for r in records}
    depth: dict[str, int] = {}

    def depth_of(record: OwnerRecord) -> int:
        chain: list[OwnerRecord] = []
        current: OwnerRecord | None = record
        base = 0
        while current is not None and current.rid not in depth:
            if current.v < 2:
                depth[current.rid] = 0
                break
            if current in chain:  # a cycle cannot be written; never loop on a crafted one
                break
            chain.append(current)
            current = by_id.get(current.prev) if current.prev else None
        if current is not None:
            base = depth.get(current.rid, 0)
        for item in reversed(chain):
            base += 1
            depth[item.rid] = base
        return depth[record.rid]

    return sorted(records, key=lambda r: (depth_of(r), r.time, r.line()))
