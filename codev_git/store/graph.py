"""Ahead/behind counts of many branches against one base, in one walk by git itself.

libgit2 ignores git's commit-graph and walks once per branch, so 1,000 builders each 12,000
commits behind cost 1,000 walks of 12,000 commits (35 s on a clone of git/git). Here git does
two things, using the commit-graph when there is one:

1. ``git merge-base --octopus --all`` finds the commits every tip and the base share; nothing
   reachable from them counts for anyone, so the walk stops there;
2. ``git rev-list --parents --topo-order`` lists every other commit once, children first.

Each tip (and the base) gets one bit; a commit's mask is the union of its children's masks,
so it says which tips reach it. A tip is then ahead by the commits it reaches that the base
does not, and behind by those the base reaches that it does not: exactly what ``git rev-list
--left-right --count BASE...TIP`` says for each tip (merges, criss-cross histories, shallow
clones and unrelated histories included), for the price of one walk over the commits not
shared by all. Commits with the same mask are counted together, so the per-tip sums cost
the distinct masks' bits, not the commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

# runs git with these arguments (and optional stdin) against the repository, returns lines
GitLines = Callable[..., list[str]]


def ahead_behind_many(git: GitLines, base: str, tips: Iterable[str]) -> dict[str, tuple[int, int]]:
    """``{tip: (ahead, behind)}`` against ``base`` for every tip (full commit ids)."""
    wanted = sorted(set(tips))
    if not wanted:
        return {}
    ids = sorted({base, *wanted})
    if len(ids) == 1:  # every tip is the base
        return {tip: (0, 0) for tip in wanted}
    shared = git("merge-base", "--octopus", "--all", *ids, ok_codes=(0, 1))
    spec = "\n".join([*ids, *(f"^{oid}" for oid in shared)]) + "\n"
    walked = git("rev-list", "--parents", "--topo-order", "--stdin", stdin=spec.encode())
    bit = {oid: 1 << i for i, oid in enumerate(ids)}
    by_mask = _masks(walked, dict(bit))
    base_bit = bit[base]
    reached = [0] * len(ids)  # commits each id reaches, among those the base does not
    shared_with_base = [0] * len(ids)  # commits the base reaches that each id reaches too
    base_total = 0
    for mask, count in by_mask.items():
        into = shared_with_base if mask & base_bit else reached
        if mask & base_bit:
            base_total += count
        while mask:
            low = mask & -mask
            into[low.bit_length() - 1] += count
            mask ^= low
    index = {oid: i for i, oid in enumerate(ids)}
    return {tip: (reached[index[tip]], base_total - shared_with_base[index[tip]]) for tip in wanted}


def _masks(walked: list[str], mask: dict[str, int]) -> Counter[int]:
    """How many listed commits have each mask; ``mask`` starts with the tips' own bits."""
    counts: Counter[int] = Counter()
    for line in walked:
        commit, *parents = line.split()
        own = mask.pop(commit, 0)
        counts[own] += 1
        for parent in parents:
            mask[parent] = mask.get(parent, 0) | own
    return counts
