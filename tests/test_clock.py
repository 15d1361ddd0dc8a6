"""The one clock: what it records, and that order never depends on it."""

from __future__ import annotations

import json

import pytest

from codev_git import clock
from tests.helpers import Sandbox


@pytest.mark.usefixtures("fixed_dates")
def test_messages_sent_in_the_same_instant_arrive_in_the_order_they_were_sent(
    sandbox: Sandbox,
) -> None:
    """With the clock stopped every message carries the same time; the inbox still shows
    them in send order, because order comes from the chain of commits, not from times."""
    sandbox.ok("spawn", "1", "--protocol", "spir", as_="main")
    builder = sandbox.builder_dir("spir-1")
    for word in ("first", "second", "third", "fourth"):
        sandbox.ok("send", "architect", word, cwd=builder)
    messages = json.loads(sandbox.ok("inbox", "--json", as_="main").out)["messages"]
    assert [m["message"] for m in messages] == ["first", "second", "third", "fourth"]
    assert {clock.iso_seconds(m["time"]) for m in messages} == {"2026-11-24T17:00:00Z"}


def test_the_clock_reads_codev_now_as_epoch_or_iso(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV_NOW, "1764003600")
    assert clock.now_iso(micro=False) == "2025-11-24T17:00:00Z"
    monkeypatch.setenv(clock.ENV_NOW, "2026-11-24T17:00:00+01:00")
    assert clock.now_iso() == "2026-11-24T16:00:00.000000Z"
    monkeypatch.setenv(clock.ENV_NOW, "not a time")  # ignored: the real clock
    assert clock.now() > 1.7e9 and clock.parse("soon") is None
