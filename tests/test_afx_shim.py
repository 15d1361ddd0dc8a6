"""The afx wrapper: a builder's 'afx send architect' goes through git codev; everything else
reaches the real afx unchanged."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.helpers import Sandbox


def test_afx_shim_routes_builder_sends_and_passes_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    b = sandbox.builder_dir("spir-1487")
    installed = json.loads(sandbox.ok("agent", "install", "afx-shim", "--json").out)
    shim_dir = Path(installed["shim"]).parent
    assert installed["environment"] == f'export PATH="{shim_dir}:$PATH"'
    assert not json.loads(sandbox.ok("agent", "install", "afx-shim", "--json").out)["changed"]
    real = tmp_path / "real-bin"
    real.mkdir()
    log = tmp_path / "real-afx.log"
    (real / "afx").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (real / "afx").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim_dir}:{real}:{os.environ['PATH']}"}

    def afx(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["afx", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False
        )

    sent = afx("send", "architect", "spec ready", cwd=b)
    assert sent.returncode == 0, sent.stderr
    piped = afx("send", "arch", "-", cwd=b, stdin=b"from stdin")
    assert piped.returncode == 0, piped.stderr
    named = afx("send", "architect:main", "--interrupt", "named", cwd=b)
    assert named.returncode == 0, named.stderr
    spoof = afx("send", "architect:payments", "spoof", cwd=b)
    assert spoof.returncode == 2 and b"own architect" in spoof.stderr
    assert afx("status", "--json", cwd=b).returncode == 0
    # not a builder worktree: the real afx does it
    assert afx("send", "architect:payments", "hello", cwd=sandbox.root).returncode == 0
    inbox = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [(m["from"], m["message"]) for m in inbox] == [
        ("builder-spir-1487", "spec ready"),
        ("builder-spir-1487", "from stdin"),
        ("builder-spir-1487", "named"),
    ]
    assert log.read_text().splitlines() == ["status --json", "send architect:payments hello"]


def test_the_shim_that_install_writes_uninstall_removes(sandbox: Sandbox) -> None:
    from tests.test_json_contract import valid

    installed = json.loads(sandbox.ok("agent", "install", "afx-shim", "--json").out)
    shim = Path(installed["shim"])
    assert shim.exists()
    status = json.loads(sandbox.ok("agent", "status", "--json").out)
    valid("agent-status", status)
    assert status["afxShim"] == str(shim)  # agent status shows it too
    assert f"afx-shim  {shim}" in sandbox.ok("agent", "status").out
    removed = json.loads(sandbox.ok("agent", "uninstall", "afx-shim", "--json").out)
    valid("agent-uninstall", removed)
    assert removed == {"shim": str(shim), "changed": True} and not shim.exists()
    assert json.loads(sandbox.ok("agent", "status", "--json").out)["afxShim"] is None
    again = sandbox.ok("agent", "uninstall", "afx-shim")
    assert "nothing to remove" in again.out
    # a file someone else put there is not ours to delete
    shim.write_text("#!/bin/sh\necho mine\n")
    foreign = sandbox.run("agent", "uninstall", "afx-shim")
    assert foreign.code == 1 and len(foreign.err.strip().splitlines()) == 1, foreign.err
    assert shim.read_text() == "#!/bin/sh\necho mine\n"
