"""The page in a real headless browser (Debian's Chromium): what a person sees, live updates
without a reload, hostile text rendered inert, and screenshots of the demo repository."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codev_git.store import Store
from tests.helpers import Sandbox, run_subprocess
from tests.web_helpers import browser, serving

# `make screenshots` sets CODEV_SCREENSHOTS=docs/screenshots; a plain test run keeps them in
# its own temporary directory, so running the suite never changes the checkout
SCREENSHOTS_WANTED = os.environ.get("CODEV_SCREENSHOTS")
HOSTILE = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    " \x1b[31mred\x1b[0m \u202egnp.exe"
)


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    driver = browser()
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: Any, seconds: float, check: Any) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # a live update replaces elements between finding one and reading it: look again
    stale = (StaleElementReferenceException,)
    return WebDriverWait(driver, seconds, poll_frequency=0.05, ignored_exceptions=stale).until(
        check
    )


def by_css(driver: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_live(driver: Any, url: str) -> None:
    """Open ``url`` and wait until its event stream is connected."""
    driver.get(url)
    wait(driver, 20, lambda d: by_css(d, "#live[data-state=live]"))
    driver.execute_script("window.__sameDocument = 'yes'")


def test_overview_shows_builders_and_unread_counts(sandbox: Sandbox, chrome: Any) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("spawn", "1481", "--protocol", "spir", "--architect", "payments", as_="payments")
    for text in ("spec ready", "tests green", "may I merge?"):
        sandbox.ok("send", "architect", text, cwd=sandbox.builder_dir("spir-1487"))
    sandbox.ok("send", "architect", "plan?", cwd=sandbox.builder_dir("spir-1481"))
    sandbox.ok("send", "1487", "go on", as_="main")
    with serving(sandbox) as server:
        chrome.get(server.url)
        main = by_css(chrome, "#architect-main")[0]
        payments = by_css(chrome, "#architect-payments")[0]
        assert main.find_element("css selector", ".unread").text == "3 unread"
        assert payments.find_element("css selector", ".unread").text == "1 unread"
        rows = main.find_elements("css selector", "tr[data-builder]")
        assert [r.get_attribute("data-builder") for r in rows] == ["builder-spir-1487"]
        # its unread: the spawn announcement and "go on"
        assert "NEW" in rows[0].text.upper() and rows[0].text.rstrip().endswith("2")
        assert [
            r.get_attribute("data-builder")
            for r in payments.find_elements("css selector", "tr[data-builder]")
        ] == ["builder-spir-1481"]


def test_a_send_from_another_process_appears_without_reload(sandbox: Sandbox, chrome: Any) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    with serving(sandbox) as server:
        open_live(chrome, server.url + "timeline")
        sent = run_subprocess(
            sandbox.builder_dir("spir-1487"), ["send", "architect", "hello from a builder"]
        )
        assert sent.code == 0
        wait(chrome, 2, lambda d: "hello from a builder" in by_css(d, "#messages")[0].text)
        open_live(chrome, server.url)
        assert by_css(chrome, "#architect-main .unread")[0].text == "1 unread"
        spawned = run_subprocess(
            sandbox.root, ["spawn", "1600", "--protocol", "spir", "--as", "main"]
        )
        assert spawned.code == 0
        wait(chrome, 2, lambda d: by_css(d, "tr[data-builder=builder-spir-1600]"))
        assert chrome.execute_script("return window.__sameDocument") == "yes"  # no reload


def test_hostile_text_renders_inert(sandbox: Sandbox, chrome: Any) -> None:
    sandbox.ok("spawn", "1487", "--protocol", "spir", as_="main")
    sandbox.ok("send", "architect", HOSTILE, cwd=sandbox.builder_dir("spir-1487"))
    (sandbox.root / "codev").mkdir()
    sandbox.ok("thread", "new", "evil", "--headline", "evil", as_="main")
    thread_file = sandbox.root / "codev" / "evil-thread.md"
    thread_file.write_text(
        thread_file.read_text()
        + f"\n{HOSTILE}\n\n[click me](javascript:window.__pwned=3)\n\n<iframe src=/></iframe>\n"
    )
    sandbox.git("commit", "-qam", "hostile thread")
    with serving(sandbox) as server:
        chrome.get(server.url + "timeline")
        body = by_css(chrome, "#messages pre.body")[0].text
        assert "<script>" in body and "\\e[31m" in body and "\\u202e" in body
        assert not by_css(chrome, "#messages script, #messages img, #messages iframe")
        chrome.get(server.url + "threads/evil")
        doc = by_css(chrome, ".markdown")[0]
        assert "<script>" in doc.text and "\\u202e" in doc.text
        assert not by_css(chrome, ".markdown script, .markdown img, .markdown iframe")
        assert not by_css(chrome, ".markdown a[href^='javascript']")
        assert chrome.execute_script("return window.__pwned") is None


def _enrich_demo(root: Path) -> None:
    """What the story leaves, plus what a supervisor looks for: a porch phase, a question
    waiting for an answer, a message from the overseer."""
    store = Store.discover(root)

    def codev(*args: str, cwd: Path = root, architect: str = "main") -> None:
        result = run_subprocess(cwd, list(args), env={"CODEV_ARCHITECT_NAME": architect})
        assert result.code == 0, result.err

    codev("thread", "new", "search", "--headline", "Faceted search for the catalogue")
    codev("spawn", "1490", "--protocol", "spir", "--thread", "search")
    work = root / ".builders" / "spir-1490"
    (work / "search.py").write_text("def facets():\n    return []\n")
    Sandbox(root).git("add", "search.py", cwd=work)
    Sandbox(root).git("commit", "-qm", "facets: first cut", cwd=work)
    codev("send", "architect", "First cut of facets is in; reviewing tests next.", cwd=work)
    project = root / ".builders" / "spir-1487" / "codev" / "projects" / "1487-search-filters"
    project.mkdir(parents=True, exist_ok=True)
    (project / "status.yaml").write_text("id: 1487\ntitle: search filters\nphase: implement\n")
    project = root / ".builders" / "spir-1481" / "codev" / "projects" / "1481-checkout-v2"
    project.mkdir(parents=True, exist_ok=True)
    (project / "status.yaml").write_text("id: 1481\ntitle: checkout v2\nphase: specify\n")
    question = "The payment provider sandbox rejects our test cards. Switch to the mock provider?"
    codev("send", "architect", question, "--ack", cwd=root / ".builders" / "spir-1481")
    from codev_git.messaging.overseer import send_as_human

    send_as_human(store, "architect:main", b"Please pair 1487 with the search team before merging.")


def _shoot(driver: Any, url: str, name: str, into: Path) -> None:
    driver.get(url)
    wait(driver, 20, lambda d: by_css(d, "#live[data-state=live]"))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": 1360, "height": max(640, min(int(height), 2400))}
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {**metrics, "deviceScaleFactor": 1, "mobile": False}
    )
    into.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(into / f"{name}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_screenshots_of_the_demo_repository(tmp_path: Path, chrome: Any) -> None:
    demo = run_subprocess(tmp_path, ["demo", "--dir", str(tmp_path)])
    assert demo.code == 0, demo.err
    root = next(tmp_path.glob("codev-demo-*/shop"))
    _enrich_demo(root)
    shots = Path(SCREENSHOTS_WANTED).resolve() if SCREENSHOTS_WANTED else tmp_path / "shots"
    with serving(Sandbox(root), "--allow-send") as server:
        _shoot(chrome, server.url, "overview", shots)
        _shoot(chrome, server.url + "threads", "threads", shots)
        _shoot(chrome, server.url + "threads/checkout-v2", "thread", shots)
        _shoot(chrome, server.url + "timeline", "timeline", shots)
        assert by_css(chrome, "article.from-human")  # shown as the overseer, and verified
        assert not by_css(chrome, "article.from-human.unverified")
    assert all((shots / f"{n}.png").stat().st_size > 10_000 for n in ("overview", "timeline"))
