"""Ahead/behind counts of many branches against one base, in one walk.

Each tip (and the base) gets one bit; a commit's mask is the union of its children's masks,
so it says which tips reach it. A tip is then ahead by the commits it reaches that the base
does not, and behind by those the base reaches that it does not: exactly what ``git rev-list
--left-right --count BASE...TIP`` says for each tip (merges, criss-cross histories, shallow
clones and unrelated histories included), for the price of one walk. Commits with the same
mask are counted together, so the per-tip sums cost the distinct masks' bits, not the
commits. A commit every tip and the base reach counts for nobody, so a walk may list such
commits or leave them out.

The walk comes from one of two places:

- a small history (up to :data:`SMALL_WALK` commits reachable from the base and the tips) is
  read in-process (:func:`small_walk`): commits are looked up from the tips down, giving up
  past the bound, and put children first here. Starting two git processes would cost more
  than the whole walk;
- anything larger, and shallow clones, go to git itself (:func:`git_walk`), which uses the
  commit-graph: libgit2 ignores it and would walk once per branch, so 1,000 builders each
  12,000 commits behind cost 1,000 walks of 12,000 commits (35 s on a clone of git/git).
  ``git merge-base --octopus --all`` finds the commits every tip and the base share, and
  ``git rev-list --parents --topo-order`` lists every other commit once, children first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import pygit2

# commits read in-process before the walk is handed to git: reading them costs less than
# starting git twice, and a larger history loses no more than that to the attempt
SMALL_WALK = 2000

# (commit, parents), every commit listed before its parents
Walk = Iterable[tuple[str, Sequence[str]]]

# runs git with these arguments (and optional stdin) against the repository, returns lines
GitLines = Callable[..., list[str]]


def ahead_behind_many(
    walk: Callable[[list[str]], Walk], base: str, tips: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """``{tip: (ahead, behind)}`` against ``base`` for every tip (full commit ids); ``walk``
    lists, children first, the commits the ids it is given reach (those shared by all of
    them may be left out)."""
    wanted = sorted(set(tips))
    if not wanted:
        return {}
    ids = sorted({base, *wanted})
    if len(ids) == 1:  # every tip is the base
        return {tip: (0, 0) for tip in wanted}
    bit = {oid: 1 << i for i, oid in enumerate(ids)}
    by_mask = _masks(walk(ids), dict(bit))
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


def _masks(walked: Walk, mask: dict[str, int]) -> Counter[int]:
    """How many listed commits have each mask; ``mask`` starts with the tips' own bits."""
    counts: Counter[int] = Counter()
    for commit, parents in walked:
        own = mask.pop(commit, 0)
        counts[own] += 1
        for parent in parents:
            mask[parent] = mask.get(parent, 0) | own
    return counts


def git_walk(git: GitLines, ids: list[str]) -> Iterator[tuple[str, list[str]]]:
    """The commits ``ids`` reach and do not all share, children first, as git lists them."""
    shared = git("merge-base", "--octopus", "--all", *ids, ok_codes=(0, 1))
    spec = "\n".join([*ids, *(f"^{oid}" for oid in shared)]) + "\n"
    for line in git("rev-list", "--parents", "--topo-order", "--stdin", stdin=spec.encode()):
        commit, *parents = line.split()
        yield commit, parents


def small_walk(
    repo: pygit2.Repository, ids: list[str], limit: int
) -> list[tuple[str, list[str]]] | None:
    """Every commit ``ids`` reach, children first, read in-process; None as soon as more
    than ``limit`` are reached (or one is not a commit libgit2 can read: git will say why).

    Commits are looked up one by one through libgit2's object cache (about 1 µs each once
    read, and status has just read the tips); its revision walker costs ~10 µs a commit
    even then."""
    parents: dict[str, list[str]] = {}
    todo = list(ids)
    while todo:
        oid = todo.pop()
        if oid in parents:
            continue
        if len(parents) >= limit:
            return None
        try:
            commit = repo.get(oid)
        except (ValueError, pygit2.GitError):
            return None
        if not isinstance(commit, pygit2.Commit):
            return None
        listed = [str(parent) for parent in commit.parent_ids]
        parents[oid] = listed
        todo.extend(listed)
    return children_first(parents)


def children_first(parents: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """``parents`` ordered so that every commit comes after all of its children (Kahn)."""
    children = Counter(parent for listed in parents.values() for parent in listed)
    ready = [commit for commit in parents if not children[commit]]
    out: list[tuple[str, list[str]]] = []
    while ready:
        commit = ready.pop()
        listed = parents[commit]
        out.append((commit, listed))
        for parent in listed:
            children[parent] -= 1
            if not children[parent] and parent in parents:
                ready.append(parent)
    return out
