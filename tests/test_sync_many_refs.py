"""A sync that brings many new refs writes them into packed-refs at once, under git's locks,
without ever overwriting a ref another writer created meanwhile."""

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
    git(remote, "update-ref", "refs/codev/inbox/Not_A_Name", tip)  # not a name codev writes

    reader = make_clone(tmp_path, str(remote), "reader")
    done = reader.ok("sync", "--json")
    report = json.loads(done.out)
    assert report["warnings"] == [
        "skipping 'refs/codev/inbox/Not_A_Name' on origin: not a name git codev writes"
    ]
    mirror = reader.refs("refs/codev-remotes/origin/codev/inbox/")
    assert len(mirror) == ARCHITECTS and set(mirror.values()) == {tip}
    merged_inboxes = [r for r in report["mergedRefs"] if r.startswith("refs/codev/inbox/")]
    assert len(merged_inboxes) == ARCHITECTS and report["newMessages"] == ARCHITECTS
    inboxes = reader.refs("refs/codev/inbox/")
    assert len(inboxes) == ARCHITECTS and set(inboxes.values()) == {tip}
    refs_dir = reader.root / ".git" / "refs"
    ours = ("codev", "codev-remotes")
    loose = [p for p in refs_dir.rglob("*") if p.is_file() and p.parts[len(refs_dir.parts)] in ours]
    assert loose == []  # the inboxes and the mirror are packed: one file, not hundreds
    assert "refs/codev/inbox/a7" in (reader.root / ".git" / "packed-refs").read_text()
    again = json.loads(reader.ok("sync", "--json").out)
    assert again["mergedRefs"] == [] and again["pushedRefs"] == []
    shown = json.loads(reader.ok("inbox", "--json", as_="a7").out)["messages"]
    assert [m["message"] for m in shown] == ["hello everyone"]
    assert Store.discover(reader.root).ref_target("refs/codev/inbox/a0") == tip


def test_a_few_new_refs_are_created_all_or_none(sandbox: Sandbox) -> None:
    sandbox.ok("architect", "add", "x")
    sandbox.ok("send", "architect:x", "one", as_="main")
    store = Store.discover(sandbox.root)
    tip = store.ref_target("refs/codev/inbox/x")
    assert tip is not None
    wanted = {f"refs/codev/inbox/n{k}": tip for k in range(5)} | {"refs/codev/inbox/x": tip}
    assert store.create_refs(wanted, "test") == set()  # inbox/x exists: nothing is created
    assert sorted(store.refs_under("refs/codev/inbox/")) == ["refs/codev/inbox/x"]
    del wanted["refs/codev/inbox/x"]
    assert store.create_refs(wanted, "test") == set(wanted)
    assert len(store.refs_under("refs/codev/inbox/")) == 6


def two_tips(sandbox: Sandbox) -> tuple[Store, str, str]:
    sandbox.ok("architect", "add", "x")
    sandbox.ok("send", "architect:x", "one", as_="main")
    first = sandbox.git("rev-parse", "refs/codev/inbox/x").strip()
    sandbox.ok("send", "architect:x", "two", as_="main")
    second = sandbox.git("rev-parse", "refs/codev/inbox/x").strip()
    return Store.discover(sandbox.root), first, second


def test_many_new_refs_go_into_packed_refs_and_git_reads_them(sandbox: Sandbox) -> None:
    store, first, second = two_tips(sandbox)
    git(sandbox.root, "update-ref", "refs/codev/inbox/n7", second)  # exists, loose
    git(sandbox.root, "pack-refs", "--all")
    git(sandbox.root, "update-ref", "refs/codev/inbox/n8", second)  # exists, loose
    wanted = {f"refs/codev/inbox/n{k}": first for k in range(40)}
    wanted["refs/codev/inbox/x/inside"] = first  # inbox/x is a ref: cannot be a directory
    created = store.create_refs(wanted, "test")

    assert created == set(wanted) - {
        "refs/codev/inbox/n7",
        "refs/codev/inbox/n8",
        "refs/codev/inbox/x/inside",
    }
    shown = [line.split() for line in git(sandbox.root, "show-ref").splitlines()]
    listed = {name: oid for oid, name in shown}  # as git itself reads them
    assert all(listed[name] == first for name in created)
    assert listed["refs/codev/inbox/n7"] == second and listed["refs/codev/inbox/n8"] == second
    assert "refs/codev/inbox/x/inside" not in listed
    loose = sandbox.root / ".git" / "refs" / "codev" / "inbox"
    assert [p.name for p in loose.iterdir()] == ["n8"]  # nothing new was written loose
    git(sandbox.root, "fsck", "--no-progress")
    git(sandbox.root, "pack-refs", "--all")  # git rewrites the file we wrote
    assert Store.discover(sandbox.root).ref_target("refs/codev/inbox/n30") == first


def test_a_ref_locked_by_another_writer_is_left_to_it(sandbox: Sandbox) -> None:
    store, first, _ = two_tips(sandbox)
    inbox = sandbox.root / ".git" / "refs" / "codev" / "inbox"
    (inbox / "n3.lock").write_text("")  # another git is creating inbox/n3 right now
    wanted = {f"refs/codev/inbox/n{k}": first for k in range(40)}
    created = store.create_refs(wanted, "test")
    assert created == set(wanted) - {"refs/codev/inbox/n3"}
    assert store.ref_target("refs/codev/inbox/n3") is None


def test_a_ref_another_writer_locks_during_the_rewrite_is_checked_again(
    sandbox: Sandbox,
) -> None:
    """A git writer that locked a ref before ``packed-refs`` was replaced may have seen it
    absent and will write it loose: such a ref is not counted as created, so the caller's
    compare-and-swap takes in both values."""
    import subprocess

    from codev_git.store.packed import add_new_refs, contended

    store, first, second = two_tips(sandbox)
    common = sandbox.root / ".git"
    added = add_new_refs(common, {f"refs/codev/inbox/n{k}": first for k in range(40)})
    assert added is not None and len(added) == 40
    writer = subprocess.Popen(  # git's own transaction, stopped after taking its lock
        ["git", "update-ref", "--stdin"],
        cwd=sandbox.root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.write(f"start\nupdate refs/codev/inbox/n5 {second}\nprepare\n")
    writer.stdin.flush()
    assert writer.stdout.readline() == "start: ok\n"
    assert writer.stdout.readline() == "prepare: ok\n"
    assert contended(common, added) == {"refs/codev/inbox/n5"}
    writer.stdin.write("commit\n")
    writer.stdin.close()
    assert writer.wait() == 0
    assert contended(common, added) == {"refs/codev/inbox/n5"}  # now written loose
    assert store.ref_target("refs/codev/inbox/n5") == second


def test_a_busy_packed_refs_falls_back_to_one_git_transaction(sandbox: Sandbox) -> None:
    store, first, _ = two_tips(sandbox)
    lock = sandbox.root / ".git" / "packed-refs.lock"
    lock.write_text("")  # git pack-refs is running
    wanted = {f"refs/codev/inbox/n{k}": first for k in range(40)}
    assert store.create_refs(wanted, "test") == set(wanted)
    assert lock.read_text() == ""  # not ours: left alone
    inbox = sandbox.root / ".git" / "refs" / "codev" / "inbox"
    assert len(list(inbox.iterdir())) == 41  # written the ordinary way, as loose refs


def test_a_concurrent_git_creation_is_never_overwritten(sandbox: Sandbox) -> None:
    """A ``git update-ref`` creating the same refs at the same time: when git's transaction
    went through, none of them is reported created (the caller merges by CAS); otherwise
    every ref reported created holds our value."""
    import subprocess

    store, first, second = two_tips(sandbox)
    for trial in range(6):
        names = [f"refs/codev/inbox/t{trial}-{k}" for k in range(300)]
        lines = "".join(f"create {name} {second}\n" for name in names)
        other = subprocess.Popen(
            ["git", "update-ref", "--stdin"],
            cwd=sandbox.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert other.stdin is not None
        other.stdin.write(lines)
        other.stdin.close()
        created = store.create_refs(dict.fromkeys(names, first), "test")
        theirs_done = other.wait() == 0
        now = Store.discover(sandbox.root).refs_under(f"refs/codev/inbox/t{trial}-")
        if theirs_done:  # git created them all: we claimed none, and git's values stand
            assert created == set() and all(now[name] == second for name in names)
        else:
            assert all(now[name] == first for name in created)
            assert all(now.get(name) in (first, None) for name in names)


def git_stdin(cwd: Path, args: list[str], text: str) -> None:
    import subprocess

    subprocess.run(["git", *args], cwd=cwd, input=text, text=True, check=True)


def test_a_tag_among_many_new_refs_reads_back_peeled_as_git_says(tmp_path: Path) -> None:
    """packed-refs promises that every ref naming an annotated tag carries its peeled
    line (fully-peeled): a tag another clone put under a codev name must not be written
    there without one, or git's readers say it peels to nothing."""
    remote = make_remote(tmp_path)
    writer = make_clone(tmp_path, str(remote), "writer")
    writer.ok("architect", "add", "a0")
    writer.ok("send", "architect:a0", "hello everyone", as_="boss")
    tip = writer.git("rev-parse", "refs/codev/inbox/a0").strip()
    lines = "".join(f"create refs/codev/inbox/a{k} {tip}\n" for k in range(1, 40))
    git_stdin(writer.root, ["update-ref", "--stdin"], lines)
    writer.ok("sync")
    writer.git("tag", "-a", "-m", "a tag", "odd", tip)
    git(writer.root, "push", "-q", "origin", "refs/tags/odd:refs/codev/inbox/odd")

    reader = make_clone(tmp_path, str(remote), "reader")
    reader.ok("sync")
    mirror = "refs/codev-remotes/origin/codev/inbox/odd"
    shown = reader.git("show-ref", "-d", mirror).split()
    assert shown[2:] == [tip, mirror + "^{}"]  # as git reads it: the tag, then the commit
