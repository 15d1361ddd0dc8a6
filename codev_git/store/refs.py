"""Reading refs, and moving them only by compare-and-swap."""

from __future__ import annotations

import time
from collections.abc import Callable

import pygit2

from codev_git.errors import OperationalError
from codev_git.store._common import (
    CAS_ATTEMPTS,
    CAS_MAX_SLEEP,
    STALE_LOCK_SECONDS,
    CasConflict,
    is_permission,
    write_hint,
)
from codev_git.store.objects import ObjectStore


class RefStore(ObjectStore):
    # -- reading refs ----------------------------------------------------------------------------
    def ref_target(self, name: str) -> str | None:
        try:
            ref = self.repo.references.get(name)
        except (pygit2.GitError, ValueError, OSError) as exc:
            raise OperationalError(f"cannot read ref {name}: {exc}") from exc
        if ref is None:
            return None
        target = ref.target
        return str(target) if not isinstance(target, str) else None

    def refs_under(self, prefix: str) -> dict[str, str]:
        """All direct references whose name starts with ``prefix``, mapped to their target."""
        out: dict[str, str] = {}
        for name in self.repo.references:
            if name.startswith(prefix):
                target = self.ref_target(name)
                if target is not None:
                    out[name] = target
        return out

    def ref_snapshot(self) -> dict[str, str]:
        """Every direct reference and its target, read in one pass: for read-only reports
        that would otherwise look up thousands of refs one by one."""
        try:
            refs = self.repo.listall_reference_objects()
        except (pygit2.GitError, OSError) as exc:
            raise OperationalError(f"cannot list references: {exc}") from exc
        out: dict[str, str] = {}
        for ref in refs:
            target = ref.target
            if not isinstance(target, str):
                out[ref.name] = str(target)
        return out

    # -- moving refs ---------------------------------------------------------------------------
    def cas_update(
        self,
        name: str,
        compute: Callable[[str | None], str | None],
        reflog: str,
        *,
        attempts: int = CAS_ATTEMPTS,
        require_commit: bool = True,
    ) -> tuple[str | None, str | None]:
        """Move ``name`` from its current value to ``compute(current)`` with compare-and-swap.

        ``compute`` is called again after every lost race, with the new current value; it
        returns the new target, or None to leave the ref as it is. Returns (old, new).
        """
        last_error = ""
        for attempt in range(attempts):
            try:
                ref = self.repo.references.get(name)
            except (pygit2.GitError, ValueError, OSError) as exc:
                raise OperationalError(f"cannot read ref {name}: {exc}") from exc
            old: str | None = None
            if ref is not None:
                target = ref.target
                if isinstance(target, str):
                    raise OperationalError(f"ref {name} is symbolic; codev refs must be direct")
                old = str(target)
                if require_commit and self.object_type(old) != "commit":
                    raise OperationalError(
                        f"ref {name} points at {self.object_type(old) or 'a missing object'}, "
                        "not a commit; refusing to build on it",
                        f"inspect it with 'git cat-file -t {old[:12]}'; repair or delete the ref",
                    )
            try:
                new = compute(old)
            except (pygit2.GitError, OSError) as exc:
                raise OperationalError(
                    f"cannot write objects for {name}: {exc}", write_hint(exc)
                ) from exc
            if new is None or new == old:
                return old, old
            try:
                if ref is None:
                    self._create_ref(name, new, reflog)
                else:
                    ref.set_target(new, reflog)  # compares the old value under the ref's lock
                return old, new
            except (pygit2.AlreadyExistsError, CasConflict):
                last_error = "created concurrently"
            except (pygit2.GitError, OSError) as exc:
                text = str(exc)
                if is_permission(exc):
                    raise OperationalError(
                        f"cannot update ref {name}: {text}", write_hint(exc)
                    ) from exc
                if "lock" in text:
                    self._raise_if_stale_lock(name)
                    last_error = text
                elif "does not match" in text or "already exists" in text:
                    last_error = text
                else:
                    raise OperationalError(f"cannot update ref {name}: {text}") from exc
            _backoff(attempt)
        raise OperationalError(
            f"gave up updating {name} after {attempts} attempts ({last_error})",
            "another process keeps moving it; try again",
        )

    def _create_ref(self, name: str, target: str, reflog: str) -> None:
        """Create ``name`` only if it does not exist, decided under the ref's lock.

        libgit2's ``create(force=False)`` checks for an existing ref *before* it takes the
        lock, so two creators can both succeed; a transaction locks first, then we look."""
        with self.repo.transaction() as tx:
            tx.lock_ref(name)
            if self.repo.references.get(name) is not None:
                raise CasConflict(name)
            tx.set_target(name, pygit2.Oid(hex=target), message=reflog)

    def delete_ref(self, name: str, expected: str) -> bool:
        """Delete ``name`` only if it still points at ``expected``."""
        try:
            ref = self.repo.references.get(name)
            if ref is None or str(ref.target) != expected:
                return False
            ref.delete()
            return True
        except (pygit2.GitError, OSError):
            return False

    def _raise_if_stale_lock(self, name: str) -> None:
        for lock in (self.common_dir / f"{name}.lock", self.common_dir / "packed-refs.lock"):
            try:
                age = time.time() - lock.stat().st_mtime
            except OSError:
                continue
            if age > STALE_LOCK_SECONDS:
                raise OperationalError(
                    f"ref {name} is locked by {lock} ({int(age)}s old, left by a killed writer?)",
                    f"if no git process is running, remove it: rm '{lock}'",
                )


def _backoff(attempt: int) -> None:
    cap = min(CAS_MAX_SLEEP, 0.001 * (2 ** min(attempt, 8)))
    import random  # only when a race was lost: keeps it off every command's start-up

    time.sleep(random.uniform(0, cap))
