"""A sync that brings many new refs creates them in one transaction and packs them."""

from __future__ import annotations

import json
from pathlib import Path

from codev_git.store import Store
from tests.helpers import Sandbox, git
from tests.test_sync import make_clone, make_remote

ARCHITECTS = 300  # more than the 256 loose refs after which a sync packs them


def test_first_sync_of_many_inboxes_creates_them_all_and_packs_refs(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    writer = make_clone(tmp_path, str(remote), "writer")
    writer.ok("architect", "add", "a0")
    writer.ok("send", "architect:a0", "hello everyone", as_="boss")
    tip = writer.git("rev-parse", "refs/codev/inbox/a0").strip()
    lines = "".join(f"create refs/codev/inbox/a{k} {tip}\n" for k in range(1, ARCHITECTS))
    git_stdin(writer.root, ["update-ref", "--stdin"], lines)
    writer.ok("sync")
    assert len(git(remote, "for-each-ref", "refs/codev/inbox/").splitlines()) == ARCHITECTS

    reader = make_clone(tmp_path, str(remote), "reader")
    report = json.loads(reader.ok("sync", "--json").out)
    merged_inboxes = [r for r in report["mergedRefs"] if r.startswith("refs/codev/inbox/")]
    assert len(merged_inboxes) == ARCHITECTS and report["newMessages"] == ARCHITECTS
    inboxes = reader.refs("refs/codev/inbox/")
    assert len(inboxes) == ARCHITECTS and set(inboxes.values()) == {tip}
    loose = [p for p in (reader.root / ".git" / "refs" / "codev").rglob("*") if p.is_file()]
    assert loose == []  # packed: one file, not hundreds
    assert "refs/codev/inbox/a7" in (reader.root / ".git" / "packed-refs").read_text()
    again = json.loads(reader.ok("sync", "--json").out)
    assert again["mergedRefs"] == [] and again["pushedRefs"] == []
    shown = json.loads(reader.ok("inbox", "--json", as_="a7").out)["messages"]
    assert [m["message"] for m in shown] == ["hello everyone"]
    assert Store.discover(reader.root).ref_target("refs/codev/inbox/a0") == tip


def test_creating_many_refs_is_all_or_nothing(sandbox: Sandbox) -> None:
    sandbox.ok("architect", "add", "x")
    sandbox.ok("send", "architect:x", "one", as_="main")
    store = Store.discover(sandbox.root)
    tip = store.ref_target("refs/codev/inbox/x")
    assert tip is not None
    wanted = {f"refs/codev/inbox/n{k}": tip for k in range(5)} | {"refs/codev/inbox/x": tip}
    assert not store.create_refs(wanted, "test")  # inbox/x exists: nothing is created
    assert sorted(store.refs_under("refs/codev/inbox/")) == ["refs/codev/inbox/x"]
    del wanted["refs/codev/inbox/x"]
    assert store.create_refs(wanted, "test")
    assert len(store.refs_under("refs/codev/inbox/")) == 6


def git_stdin(cwd: Path, args: list[str], text: str) -> None:
    import subprocess

    subprocess.run(["git", *args], cwd=cwd, input=text, text=True, check=True)
