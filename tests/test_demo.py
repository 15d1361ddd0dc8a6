"""`git codev demo` runs the story end to end, as `make demo` does."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_subprocess


def test_demo_plays_the_story_and_leaves_the_repository(tmp_path: Path) -> None:
    result = run_subprocess(tmp_path, ["demo", "--dir", str(tmp_path)])
    assert result.code == 0, result.out + result.err
    text = result.out
    main_inbox = text.split("$ CODEV_ARCHITECT_NAME=main git codev inbox")[1].split("\n# ")[0]
    assert "builder-spir-1487" in main_inbox and "builder-spir-1481" not in main_inbox
    pay_inbox = text.split("$ CODEV_ARCHITECT_NAME=payments git codev inbox")[1].split("\n# ")[0]
    assert "builder-spir-1481" in pay_inbox and "builder-spir-1487" not in pay_inbox
    assert "may only write to its own architect" in text
    fetched = text.split("git codev inbox --fetch")[1].split("\n# ")[0]
    assert "checkout-v2 ships tomorrow" in fetched  # sent from the second clone
    assert "archived codev/checkout-v2-thread.md" in text
    assert "at http://127.0.0.1:" in text and "overview 200, threads 200, timeline 200" in text
    assert "issue 1487 already has a live builder: builder-spir-1487 of main" in text
    board = text.split("git codev status --by-architect")[1].split("\n# ")[0]
    assert "architect main" in board and "architect payments" in board
    assert "checkout-v2" in board.split("architect payments")[1]
    ledger = text.split("git codev issues-owned")[1].split("\n# ")[0]
    assert "1481" in ledger and "builder-bugfix-1482" in ledger
    repos = list(tmp_path.glob("codev-demo-*/shop"))
    assert len(repos) == 1 and (repos[0] / ".builders" / "spir-1487").is_dir()


def test_demo_delivers_to_the_architect_without_inbox(tmp_path: Path) -> None:
    result = run_subprocess(tmp_path, ["demo", "--dir", str(tmp_path)])
    assert result.code == 0, result.out + result.err
    text = result.out
    primed = text.split("$ CODEV_ARCHITECT_NAME=main git codev prime")[1].split("\n# ")[0]
    assert "you are architect:main" in primed and "spec v2 ready" in primed
    hooked = text.split("git codev agent hook UserPromptSubmit")[1].split("\n# ")[0]
    assert '"additionalContext"' in hooked and "may I merge?" in hooked
    builder_status = text.split("(cd .builders/spir-1487 && git codev status)")[1]
    assert "awaiting answers:" in builder_status.split("\n# ")[0]
