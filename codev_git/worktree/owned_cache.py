"""The branches that have an ownership note, in a file the post-checkout hook reads without
starting git: ``<common git dir>/codev/owned-branches.sh``.

Checking out a branch that is not ours must cost the hook next to nothing; asking git whether
the branch has a note costs two processes (``hash-object``, ``notes list``). So every time
``git codev`` moves the ownership notes ref it writes this file: the notes commit it
describes and every branch annotated there, as two shell assignments::

    codev_owners_tip=0123…
    codev_owned=' refs/heads/builder/spir-1 refs/heads/feature/x '

The hook reads the two lines with the shell's ``read`` (it never runs the file) and trusts
the list only when both are whole and the notes ref (its loose file, else its ``packed-refs``
line) still points at that commit; a damaged file, or a ref moved since by anything else,
makes the hook ask git as before. Every recorded branch name is plain ASCII without spaces or quotes
(:func:`codev_git.names.is_builder_branch_ref`, checked on records from other clones too), so
the file is safe for the shell to read; should one not be, no file is written.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from codev_git.errors import CodevError, OperationalError
from codev_git.layout import OWNERS_REF
from codev_git.names import is_builder_branch_ref
from codev_git.store import Store
from codev_git.store.files import replace_file

CACHE_FILE = Path("codev") / "owned-branches.sh"


def cache_path(store: Store) -> Path:
    return store.common_dir / CACHE_FILE


def refresh(store: Store) -> None:
    """Rewrite the file for the ownership notes as they are now. Never fails the command
    that called it: when the records cannot be read or the file cannot be written, the
    file is removed if it can be, and the hook asks git."""
    path = cache_path(store)
    try:
        _write(store, path)
    except (OSError, CodevError):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _write(store: Store, path: Path) -> None:
    from codev_git.ownership.records import parse_note

    tip = store.ref_target(OWNERS_REF)
    is_commit = tip is not None and store.object_type(tip) == "commit"
    tree = store.tree_of(tip) if tip is not None and is_commit else None
    # every branch a valid line names: not only the line in force (a note from another clone
    # may end with a line for some other branch, and the hook's lookup still finds the
    # branch's own lines), and whatever codev.requireSigned says now (it may be unset later,
    # and the list stays until the notes ref moves); Python decides on each one listed
    found: set[str] = set()
    for _annotated, blob in store.note_entries(tree) if tree is not None else ():
        try:
            data = store.read_blob(blob)
        except OperationalError:
            continue
        found.update(record.branch for record in parse_note(data, "", warn=False))
    branches = sorted(found)
    if not all(is_builder_branch_ref(branch) for branch in branches):
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, f"codev_owners_tip={tip or ''}\ncodev_owned=' {' '.join(branches)} '\n")
