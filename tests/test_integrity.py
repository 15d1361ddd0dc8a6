"""Nothing lost, nothing forged: a read cursor moves only past what was written out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Sandbox


def fill_inbox(box: Sandbox, count: int, size: int = 10) -> None:
    box.ok("spawn", "1", "--protocol", "spir", as_="main")
    worker = box.builder_dir("spir-1")
    for n in range(count):
        box.ok("send", "architect", f"message {n} " + "x" * size, cwd=worker)


def unread(box: Sandbox) -> int:
    import json

    result = box.ok("inbox", "--peek", "--json", as_="main")
    return len(json.loads(result.out)["messages"])


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_inbox_to_a_full_device_fails_in_one_line_and_marks_nothing_read(
    sandbox: Sandbox,
) -> None:
    fill_inbox(sandbox, 3)
    proc = subprocess.run(
        ["git", "codev", "inbox"],
        cwd=sandbox.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        stdout=open("/dev/full", "wb"),  # noqa: SIM115
        stderr=subprocess.PIPE,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert "no space left on device" in err and "internal error" not in err
    assert unread(sandbox) == 3


def test_inbox_into_a_pipe_closed_early_leaves_the_rest_unread(sandbox: Sandbox) -> None:
    fill_inbox(sandbox, 120, size=2000)  # ~240 KB of output: far more than a pipe holds
    proc = subprocess.run(
        ["bash", "-c", "set -o pipefail; git codev inbox | head -c 100 >/dev/null"],
        cwd=sandbox.root,
        env={**os.environ, "CODEV_ARCHITECT_NAME": "main"},
        capture_output=True,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "closed the pipe" in err, err
    left = unread(sandbox)
    assert 0 < left < 120
    # what is left is exactly what was not written: reading it all now shows the rest
    shown = sandbox.ok("inbox", as_="main").out
    assert shown.count("### [BUILDER") == left
    assert f"message {119} " in shown
