"""Big histories built in seconds with ``git fast-import`` (one process, written packed):
a deep main line with builder branches forked far behind it, and long message chains."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

from bench.timing import BenchError

T0 = 1_700_000_000
WHO = b"Bench Architect <bench@example.invalid>"


def fast_import(repo: Path, stream: Iterator[bytes]) -> None:
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=repo,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        for chunk in stream:
            proc.stdin.write(chunk)
        proc.stdin.write(b"done\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        raise BenchError(f"git fast-import failed: {err.decode(errors='replace')[-500:]}")


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def deep_history(depth: int, builders: int, behind: int) -> Iterator[bytes]:
    """``depth`` commits on main (each changing one of 97 files); builder branches
    ``builder/spir-N`` forked ``behind`` to ``behind + 200`` commits before main's tip, with
    0-2 commits of their own; every 7th builder merged main once on the way."""
    out: list[bytes] = []
    for i in range(1, depth + 1):
        out.append(b"commit refs/heads/main\nmark :%d\n" % i)
        out.append(b"committer %s %d +0000\n" % (WHO, T0 + i))
        out.append(_data(b"change %d\n" % i))
        if i > 1:
            out.append(b"from :%d\n" % (i - 1))
        out.append(b"M 100644 inline src/f%d.txt\n" % (i % 97) + _data(b"%d\n" % i) + b"\n")
        if len(out) > 4096:
            yield b"".join(out)
            out.clear()
    rng = random.Random(16)
    mark = depth
    for n in range(1, builders + 1):
        fork = max(1, depth - behind - rng.randrange(0, 200))
        ref = b"refs/heads/builder/spir-%d" % n
        out.append(b"reset %s\nfrom :%d\n\n" % (ref, fork))
        for k in range(n % 3):
            mark += 1
            out.append(b"commit %s\nmark :%d\n" % (ref, mark))
            out.append(b"committer %s %d +0000\n" % (WHO, T0 + fork + k + 1))
            out.append(_data(b"work %d.%d\n" % (n, k)))
            if k == 0 and n % 7 == 0:  # a merge of a later main commit
                out.append(b"merge :%d\n" % min(depth, fork + 50))
            out.append(b"M 100644 inline work/w%d.txt\n" % n + _data(b"%d\n" % k) + b"\n")
        if len(out) > 4096:
            yield b"".join(out)
            out.clear()
    yield b"".join(out)


def message_chains(
    chains: dict[str, int], sender: str = "builder-spir-1", to: str = "architect:main"
) -> Iterator[bytes]:
    """Each ref in ``chains`` gets that many codev messages (empty tree, Codev-* trailers),
    byte for byte as ``git codev send`` writes them."""
    out: list[bytes] = []
    for ref, count in chains.items():
        for i in range(count):
            when = T0 + i
            stamp = f"{when}"
            body = f"message {i}: spec ready for review, see codev/specs/{i}-checkout.md\n\n"
            trailers = f"Codev-From: {sender}\nCodev-To: {to}\nCodev-Time: {iso(when)}\n"
            out.append(b"commit %s\n" % ref.encode())
            out.append(b"author %s %s +0000\n" % (WHO, stamp.encode()))
            out.append(b"committer %s %s +0000\n" % (WHO, stamp.encode()))
            out.append(_data((body + trailers).encode()))
            if i == 0:
                out.append(b"deleteall\n")  # the empty tree
            out.append(b"\n")
            if len(out) > 4096:
                yield b"".join(out)
                out.clear()
    yield b"".join(out)


def iso(epoch: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
