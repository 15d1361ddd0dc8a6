"""Ownership records under ``codev.requireSigned``: only lines a trusted key wrote count.

With ``codev.signMessages`` every ownership change is a signed notes commit (git's own
signing: gpg, ssh or x509). With ``codev.requireSigned`` a record line is believed only if
some commit of the notes history *introduced* it (it is in that commit's note and not in
its parent's) and ``git verify-commit`` accepts that commit — for ssh signatures, against
``gpg.ssh.allowedSignersFile``. Merge commits made by ``sync`` are not signed and introduce
nothing: every line they hold came from one of their parents. A line that appears only in an
unsigned commit (or in a merge, out of nowhere) is ignored with one warning. See
docs/trust.md.

With ssh signatures, git's verdict on each notes commit is remembered in
``<git dir>/codev/verified-<hash>`` where the hash covers the allowed-signers file's content:
a commit is checked once, and every verdict is dropped when that file changes.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

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
    cache = _Verdicts(store)
    trusted: set[str] = set()
    for info in store.walk(tip):
        if len(info.parents) > 1:
            continue  # a merge introduces nothing of its own that could be trusted
        introduced = _lines(store, info.id) - (
            _lines(store, info.parents[0]) if info.parents else set()
        )
        if not introduced:
            continue
        verdict = cache.get(info.id)
        if verdict is None:
            verdict = verify_commit(where, info.id)
            cache.put(info.id, verdict)
        if verdict:
            trusted |= {line_id(line) for line in introduced}
    cache.save()
    return trusted


class _Verdicts:
    """git's verdicts on notes commits, kept while the allowed-signers file is unchanged
    (ssh signatures only: other formats trust a keyring we cannot fingerprint cheaply)."""

    def __init__(self, store: Store) -> None:
        self.path: Path | None = None
        self.known: dict[str, bool] = {}
        self.new: dict[str, bool] = {}
        allowed = store.config_get("gpg.ssh.allowedSignersFile")
        if (store.config_get("gpg.format") or "openpgp") != "ssh" or not allowed:
            return
        try:
            content = Path(allowed).expanduser().read_bytes()
        except OSError:
            return
        key = hashlib.sha256(allowed.encode() + b"\0" + content).hexdigest()[:16]
        self.path = store.common_dir / "codev" / f"verified-{key}"
        try:
            for line in self.path.read_text().splitlines():
                commit, _, verdict = line.partition(" ")
                self.known[commit] = verdict == "ok"
        except OSError:
            pass

    def get(self, commit: str) -> bool | None:
        return self.known.get(commit)

    def put(self, commit: str, verdict: bool) -> None:
        self.new[commit] = verdict

    def save(self) -> None:
        if self.path is None or not self.new:
            return
        text = "".join(f"{c} {'ok' if v else 'bad'}\n" for c, v in self.new.items())
        with contextlib.suppress(OSError):  # a cache: losing it costs only time
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as handle:
                handle.write(text)


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
