"""Ownership records under ``codev.requireSigned``: only lines a trusted key wrote count.

With ``codev.signMessages`` every ownership change is a signed notes commit (git's own
signing: gpg, ssh or x509). With ``codev.requireSigned`` a record line is believed only if
some commit of the notes history *introduced* it (it is in that commit's note and not in
its parent's) and ``git verify-commit`` accepts that commit — for ssh signatures, against
``gpg.ssh.allowedSignersFile``. Merge commits made by ``sync`` are not signed and introduce
nothing: every line they hold came from one of their parents. A line that appears only in an
unsigned commit (or in a merge, out of nowhere) is ignored with one warning. See
docs/trust.md.
"""

from __future__ import annotations

from codev_git.errors import OperationalError
from codev_git.layout import OWNERS_REF
from codev_git.ownership.order import line_id
from codev_git.store import Store


def trusted_lines(store: Store) -> set[str]:
    """The ids of every record line introduced by a commit whose signature git accepts."""
    from codev_git.store.porcelain import verify_commit

    tip = store.ref_target(OWNERS_REF)
    if tip is None or store.object_type(tip) != "commit":
        return set()
    where = store.workdir or store.git_dir
    trusted: set[str] = set()
    for info in store.walk(tip):
        if len(info.parents) > 1:
            continue  # a merge introduces nothing of its own that could be trusted
        introduced = _lines(store, info.id) - (
            _lines(store, info.parents[0]) if info.parents else set()
        )
        if introduced and verify_commit(where, info.id):
            trusted |= {line_id(line) for line in introduced}
    return trusted


def _lines(store: Store, commit: str) -> set[str]:
    if store.object_type(commit) != "commit":
        return set()
    lines: set[str] = set()
    for _, blob in store.note_entries(store.tree_of(commit)):
        try:
            data = store.read_blob(blob)
        except OperationalError:  # a broken note introduces nothing
            continue
        lines.update(
            ln.strip() for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()
        )
    return lines
