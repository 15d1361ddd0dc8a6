"""The order of ownership events: causality, never the wall clock (see ``records``).

A version-2 record names the record it supersedes (``prev``, the id of that record's line);
its depth is one more than that record's. Version-1 records (no ``prev``) have depth 0.
Records are ordered by (depth, time, text): a deterministic linear order in which every
record comes after the one it supersedes, the same on every clone for the same set of lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codev_git.ownership.records import OwnerRecord


def line_id(line: str) -> str:
    """A record's id: a hash of its line exactly as stored."""
    import hashlib  # loading OpenSSL costs 2 ms; reading one record per note needs no id

    return hashlib.sha256(line.strip().encode("utf-8", "surrogateescape")).hexdigest()[:24]


def causal_order(records: list[OwnerRecord]) -> list[OwnerRecord]:
    """Records oldest first by (depth, time, text); see the module docstring."""
    rids = [r.rid for r in records]
    by_id = dict(zip(rids, range(len(records)), strict=True))
    depth: dict[int, int] = {}  # record index -> depth

    def depth_of(start: int) -> int:
        chain: list[int] = []
        current: int | None = start
        while current is not None and current not in depth:
            record = records[current]
            if record.v < 2:
                depth[current] = 0
                break
            if current in chain:  # a cycle cannot be written; never loop on a crafted one
                break
            chain.append(current)
            current = by_id.get(record.prev) if record.prev else None
        base = depth.get(current, 0) if current is not None else 0
        for item in reversed(chain):
            base += 1
            depth[item] = base
        return depth[start]

    order = sorted(
        range(len(records)),
        key=lambda i: (depth_of(i), records[i].time, records[i].raw or records[i].line()),
    )
    return [records[i] for i in order]
