"""Plain `send architect MESSAGE` from a builder, `inbox` with nothing unread and a `sync`
with nothing to do run without click or pygit2, and write exactly what the full command
writes; anything unusual goes the full way (CODEV_NO_FAST_PATH=1 forces it, to compare)."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import Sandbox, git

FULL = {"CODEV_NO_FAST_PATH": "1"}


def codev(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "codev", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def commit_shape(root: Path, oid: str) -> tuple[list[str], list[str]]:
    """(header field names, trailer keys) of a message commit."""
    text = git(root, "cat-file", "commit", oid)
    head, _, message = text.partition("\n\n")
    trailers = message.rstrip("\n").rsplit("\n\n", 1)[-1].splitlines()
    return [ln.split(" ")[0] for ln in head.splitlines()], [t.split(":")[0] for t in trailers]


def test_fast_and_full_send_write_the_same_message(sandbox: Sandbox) -> None:
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "checkout-v2", as_="main")
    sandbox.ok("spawn", "1", "--protocol", "spir", "--thread", "checkout-v2", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    assert codev(worktree, "send", "architect", "first", env=FULL).returncode == 0
    fast = codev(worktree, "send", "architect", "fast one")
    full = codev(worktree, "send", "architect", "full one", env=FULL)
    assert fast.returncode == full.returncode == 0 and fast.stderr == full.stderr == ""
    assert fast.stdout.split()[0] == full.stdout.split()[0] == "sent"
    assert fast.stdout.split()[2:] == full.stdout.split()[2:]
    shown = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in shown] == ["first", "fast one", "full one"]
    assert {(m["from"], m["to"], m["thread"]) for m in shown} == {
        ("builder-spir-1", "architect:main", "checkout-v2")
    }
    ids = [m["id"] for m in shown]
    assert fast.stdout.split()[1] == ids[1][:12] and full.stdout.split()[1] == ids[2][:12]
    assert commit_shape(sandbox.root, ids[1]) == commit_shape(sandbox.root, ids[2])
    assert git(sandbox.root, "rev-parse", f"{ids[2]}^").strip() == ids[1]
    git(sandbox.root, "fsck", "--strict", "--no-dangling")


PROBE = (
    "import sys; from codev_git.fastpath import attempt; "
    "code = attempt(sys.argv[1:]); "
    "print(code, 'click' in sys.modules, 'pygit2' in sys.modules)"
)


def fast(cwd: Path, *args: str) -> str:
    """What the fast path alone made of ``git codev args``: its exit code (None: it left it
    to the full command), and whether click and pygit2 got imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()[-1]


def test_fast_paths_import_neither_click_nor_pygit2(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    assert fast(worktree, "send", "architect", "hello") == "0 False False"
    assert fast(worktree, "inbox") == "None False False"  # the spawn's announcement is unread
    sandbox.ok("inbox", cwd=worktree)
    assert fast(worktree, "inbox") == "0 False False"  # now the builder has nothing unread
    assert fast(sandbox.root, "inbox") == "None False False"  # one unread: the full command
    sandbox.ok("inbox", as_="main")
    assert fast(sandbox.root, "inbox") == "0 False False"


def test_inbox_with_nothing_unread_answers_as_the_full_command_in_text_and_json(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    sandbox.ok("inbox", cwd=worktree)
    sandbox.ok("inbox", as_="main")
    env = {"CODEV_ARCHITECT_NAME": "main"}
    for where in (worktree, sandbox.root):
        for args in ([], ["--json"], ["--peek"], ["--peek", "--json"]):
            quick = codev(where, "inbox", *args, env=env)
            full = codev(where, "inbox", *args, env={**env, **FULL})
            assert (quick.returncode, quick.stdout, quick.stderr) == (
                full.returncode,
                full.stdout,
                full.stderr,
            )
            assert fast(where, "inbox", *args) == "0 False False"
    reader = json.loads(codev(worktree, "inbox", "--json").stdout)["reader"]
    assert reader == {"type": "builder", "name": "builder-spir-1", "architect": "main"}
    assert fast(sandbox.root, "inbox", "--all") == "None False False"  # the full command's


def test_packed_refs_are_read_and_appended_to(sandbox: Sandbox) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    assert codev(worktree, "send", "architect", "one").returncode == 0
    sandbox.ok("inbox", as_="main")
    git(sandbox.root, "pack-refs", "--all")
    assert not (sandbox.root / ".git" / "refs" / "codev" / "inbox" / "main").exists()
    env = {"CODEV_ARCHITECT_NAME": "main"}
    assert codev(sandbox.root, "inbox", env=env).stdout == "no unread messages for architect:main\n"
    assert codev(worktree, "send", "architect", "two").returncode == 0
    shown = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in shown] == ["two"]
    assert git(sandbox.root, "rev-list", "--count", "refs/codev/inbox/main").strip() == "2"


def test_what_the_fast_path_does_not_handle_gets_the_full_commands_answer(
    sandbox: Sandbox,
) -> None:
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    worktree = sandbox.builder_dir("spir-1")
    git(sandbox.root, "config", "codev.maxMessageBytes", "4")
    for env in (None, FULL):
        too_long = codev(worktree, "send", "architect", "longer than four", env=env)
        assert too_long.returncode == 2 and "the limit is 4" in too_long.stderr
    git(sandbox.root, "config", "--unset", "codev.maxMessageBytes")
    for env in (None, FULL):
        empty = codev(worktree, "send", "architect", "   ", env=env)
        assert empty.returncode == 2 and "the message is empty" in empty.stderr
        nobody = codev(sandbox.root, "inbox", env={**(env or {}), "CODEV_ARCHITECT_NAME": ""})
        assert nobody.returncode == 2 and "cannot tell which architect" in nobody.stderr
    assert not sandbox.refs("refs/codev/inbox/")


# -- sync with nothing to do ---------------------------------------------------------------------
def synced_pair(tmp_path: Path) -> tuple[Path, Sandbox, Sandbox]:
    """A bare remote and two clones that have exchanged a message and a builder."""
    from tests.test_sync import make_clone, make_remote

    remote = make_remote(tmp_path)
    a, b = (make_clone(tmp_path, str(remote), name) for name in ("a", "b"))
    a.ok("spawn", "1", "--protocol", "spir", "--no-worktree", as_="main")
    a.ok("send", "broadcast", "hello", as_="main")
    a.ok("sync")
    b.ok("sync")
    return remote, a, b


def test_a_sync_with_nothing_to_do_answers_as_the_full_cycle_without_it(tmp_path: Path) -> None:
    _, a, b = synced_pair(tmp_path)
    for args in ([], ["--json"], ["--dry-run"], ["origin", "--json"], ["--dry-run", "origin"]):
        quick, full = codev(b.root, "sync", *args), codev(b.root, "sync", *args, env=FULL)
        assert (quick.returncode, quick.stdout, quick.stderr) == (
            full.returncode,
            full.stdout,
            full.stderr,
        )
        assert "already in sync" in quick.stdout or '"changed":false' in quick.stdout
        assert fast(b.root, "sync", *args) == "0 False False"
    for args in (["nowhere"], ["--json", "bad..name"]):  # refused alike: exit 2, one line
        quick, full = codev(b.root, "sync", *args), codev(b.root, "sync", *args, env=FULL)
        assert quick.returncode == full.returncode == 2 and quick.stderr == full.stderr
        assert fast(b.root, "sync", *args) == "None False False"
    assert fast(a.root, "sync", "--as", "main") == "None False False"  # an option it leaves


def test_a_sync_with_anything_to_do_runs_the_full_cycle(tmp_path: Path) -> None:
    remote, a, b = synced_pair(tmp_path)
    a.ok("send", "broadcast", "from a", as_="main")
    a.ok("sync")
    assert fast(b.root, "sync") == "None False False"  # the remote moved
    assert "brought 1 new message" in b.ok("sync").out
    b.ok("send", "broadcast", "from b", as_="main")
    assert fast(b.root, "sync") == "None False False"  # this clone moved
    assert "pushed 1 ref" in b.ok("sync").out
    assert fast(b.root, "sync") == "0 False False"

    # the remote holds a name git codev does not write: the warning comes every time
    tip = git(remote, "rev-parse", "refs/codev/broadcast").strip()
    git(remote, "update-ref", "refs/codev/inbox/Not_Valid", tip)
    for _ in range(2):
        assert "Not_Valid" in b.ok("sync").err
    git(remote, "update-ref", "-d", "refs/codev/inbox/Not_Valid")
    b.ok("sync")
    assert fast(b.root, "sync") == "0 False False"

    # both sides hold the same tip, but it is not a commit: still warned about every time
    (tmp_path / "junk").write_text("junk")
    blob = git(remote, "hash-object", "-w", str(tmp_path / "junk")).strip()
    assert b.git("hash-object", "-w", str(tmp_path / "junk")).strip() == blob
    git(remote, "update-ref", "refs/codev/inbox/junk", blob)
    b.git("update-ref", "refs/codev/inbox/junk", blob)
    for _ in range(2):
        assert "not a commit" in b.ok("sync").err
    git(remote, "update-ref", "-d", "refs/codev/inbox/junk")
    b.git("update-ref", "-d", "refs/codev/inbox/junk")
    b.ok("sync")

    # hundreds of loose refs where sync keeps its mirrors: the full cycle packs them
    for n in range(300):
        b.git("update-ref", f"refs/codev-remotes/old/codev/inbox/a{n}", tip)
    assert "already in sync" in b.ok("sync").out
    assert not (b.root / ".git" / "refs" / "codev-remotes" / "old").exists()
    assert fast(b.root, "sync") == "0 False False"

    # the remote cannot be reached: the full cycle's error, exit 1
    b.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    quick, full = codev(b.root, "sync"), codev(b.root, "sync", env=FULL)
    assert quick.returncode == full.returncode == 1 and quick.stderr == full.stderr


def answers_alike(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``git codev sync args`` answered the same (exit code, stdout, stderr) by the quick
    check and by the full cycle (the quick one first: it must leave nothing changed)."""
    quick, full = codev(cwd, "sync", *args), codev(cwd, "sync", *args, env=FULL)
    assert (quick.returncode, quick.stdout, quick.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )
    return quick


def test_a_setting_the_full_cycle_refuses_is_refused_alike(tmp_path: Path) -> None:
    _, _, b = synced_pair(tmp_path)
    b.git("config", "codev.syncAttempts", "many")
    for args in ([], ["--json"]):
        assert answers_alike(b.root, *args).returncode == 2
    assert "codev.syncAttempts" in codev(b.root, "sync").stderr


def test_a_repository_the_full_cycle_cannot_open_gets_its_answer(tmp_path: Path) -> None:
    _, _, b = synced_pair(tmp_path)
    # what `git clone --filter=blob:none` writes: a partial clone, which libgit2 cannot open
    b.git("config", "core.repositoryFormatVersion", "1")
    b.git("config", "extensions.partialClone", "origin")
    b.git("config", "remote.origin.promisor", "true")
    assert answers_alike(b.root).returncode == 1
    assert "partialclone" in codev(b.root, "sync").stderr


def test_a_bare_repository_inside_a_worktree_is_not_taken_for_the_worktree(
    tmp_path: Path,
) -> None:
    _, _, b = synced_pair(tmp_path)
    inner = b.root / "inner.git"
    git(b.root, "init", "-q", "--bare", str(inner))
    assert answers_alike(inner).returncode == 2  # that repository has no remote 'origin'
    assert "no remote named 'origin'" in codev(inner, "sync").stderr


def test_a_sync_that_would_set_off_gits_housekeeping_runs_the_full_cycle(tmp_path: Path) -> None:
    """The full cycle's fetch ends with git's automatic housekeeping (`git maintenance run
    --auto`): with more packs than gc.autoPackLimit, refs and objects get packed."""
    _, a, b = synced_pair(tmp_path)
    for box, env in ((a, FULL), (b, None)):
        box.git("config", "gc.autoPackLimit", "1")
        box.git("config", "gc.autoDetach", "false")  # packed before sync returns
        box.git("repack", "-q")
        (box.root / "extra").write_text("one more\n")
        extra = box.git("hash-object", "-w", "extra")
        subprocess.run(
            ["git", "pack-objects", "-q", ".git/objects/pack/pack"],
            cwd=box.root,
            input=extra,
            capture_output=True,
            text=True,
            check=True,
        )
        assert len(list((box.root / ".git/objects/pack").glob("*.pack"))) == 2
        assert "already in sync" in codev(box.root, "sync", env=env).stdout
        assert len(list((box.root / ".git/objects/pack").glob("*.pack"))) == 1
        assert not [p for p in (box.root / ".git/refs/codev").rglob("*") if p.is_file()]


@contextlib.contextmanager
def served_over_http(root: Path, user: str, password: str) -> Iterator[str]:
    """The bare repositories under ``root`` served by ``git http-backend`` (fetch and push)
    to whoever gives ``user``'s ``password`` (HTTP basic authentication); yields the base URL."""
    wanted = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Backend(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.serve()

        def do_POST(self) -> None:
            self.serve()

        def serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != wanted:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="codev"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            cgi = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": user,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=cgi, capture_output=True, check=False
            )
            head, _, content = done.stdout.partition(b"\r\n\r\n")
            fields = [line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line]
            status = next((int(v.split()[0]) for k, v in fields if k == "Status"), 200)
            self.send_response(status)
            for key, value in fields:
                if key != "Status":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://{user}@127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_a_remote_that_wants_a_password_is_asked_only_by_the_full_cycle(tmp_path: Path) -> None:
    """A password program (GIT_ASKPASS, as editors set it) is asked by the full cycle's
    fetch and push; the quick check never asks, so a sync asks as often as the full one."""
    remote, _, b = synced_pair(tmp_path)
    git(remote, "config", "http.receivepack", "true")
    asked = tmp_path / "asked"
    askpass = tmp_path / "askpass"
    askpass.write_text(f"#!/bin/sh\necho >> '{asked}'\necho secret\n")
    askpass.chmod(0o755)

    def prompts(*args: str, env: dict[str, str] | None = None) -> int:
        asked.write_text("")
        done = codev(b.root, "sync", *args, env={"GIT_ASKPASS": str(askpass), **(env or {})})
        assert done.returncode == 0, done.stderr
        return len(asked.read_text())

    with served_over_http(tmp_path, "codev", "secret") as base:
        b.git("remote", "set-url", "origin", f"{base}/{remote.name}")
        assert prompts(env=FULL) == 1  # its fetch
        b.ok("send", "broadcast", "one", as_="main")
        full = prompts(env=FULL)  # its fetch and its push
        b.ok("send", "broadcast", "two", as_="main")
        assert prompts() == full == 2
        assert prompts() == prompts("--json") == 1
        assert fast(b.root, "sync") == "None False False"


def test_a_ref_packed_while_the_check_reads_is_still_seen(tmp_path: Path) -> None:
    """`git pack-refs` (another sync, git's housekeeping) writes packed-refs, then removes
    the loose files: a reader that takes packed-refs first and the loose files after misses
    every ref packed in between, here a read cursor this clone has not pushed yet."""
    remote, _, b = synced_pair(tmp_path)
    cursor = "refs/codev/read/architect/main/broadcast"
    b.git("pack-refs", "--all")  # every ref in packed-refs, the mirror's too
    b.ok("inbox", as_="main")  # reads the broadcast: a new cursor, only here, loose
    assert (b.root / ".git" / cursor).is_file()
    # a loose ref the check reads before it goes down into refs/codev/read/: it waits there
    # for us to say what it holds, while git packs every ref
    pause = b.root / ".git" / "refs" / "codev" / "pause"
    os.mkfifo(pause)
    sync = subprocess.Popen(["git", "codev", "sync"], cwd=b.root, stdout=subprocess.PIPE, text=True)

    def unblock_if_it_never_reads() -> None:
        sync.wait()
        with contextlib.suppress(OSError):
            os.close(os.open(pause, os.O_RDONLY | os.O_NONBLOCK))

    watcher = threading.Thread(target=unblock_if_it_never_reads)
    watcher.start()
    with open(pause, "w") as held:  # the check reads refs/codev/pause now
        pause.unlink()
        git(b.root, "pack-refs", "--all")  # the cursor goes into packed-refs
        held.write(git(b.root, "rev-parse", "HEAD"))
    out, _ = sync.communicate()
    watcher.join()
    assert sync.returncode == 0 and "pushed 1 ref" in out
    assert git(remote, "rev-parse", cursor) == b.git("rev-parse", cursor)


def test_a_ref_to_a_missing_object_fails_the_sync_alike(tmp_path: Path) -> None:
    """git's fetch checks every ref of the repository: one whose object is missing (a
    damaged repository) fails the full cycle's fetch, so the quick check leaves it that."""
    _, _, b = synced_pair(tmp_path)
    (b.root / ".git" / "refs" / "heads" / "damaged").write_text("1" * 40 + "\n")
    assert answers_alike(b.root).returncode == 1
    assert "bad object refs/heads/damaged" in codev(b.root, "sync").stderr


def test_a_reference_transaction_hook_hears_of_the_sync_alike(tmp_path: Path) -> None:
    """The full cycle's fetch runs git's reference-transaction hook even when it moves no
    ref; a hook that refuses (a repository frozen for maintenance) fails it, exit 1."""
    _, _, b = synced_pair(tmp_path)
    hook = b.root / ".git" / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text('#!/bin/sh\ncat >/dev/null\n[ "$1" != prepared ]\n')
    hook.chmod(0o755)
    assert answers_alike(b.root).returncode == 1
    assert "aborted by hook" in codev(b.root, "sync").stderr
