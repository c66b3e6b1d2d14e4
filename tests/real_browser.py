"""Real-browser helpers: Debian's Chromium through Playwright, the app on a loopback port,
and axe-core from npm for accessibility checks.

Browser tests skip where Chromium, Playwright or axe-core is missing, unless
``PRO_REQUIRE_BROWSER=1`` (set by CI), which makes that a failure.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("PRO_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable(reason: str) -> None:
    if os.environ.get("PRO_REQUIRE_BROWSER", "") == "1":
        pytest.fail(f"PRO_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install '.[test]')")


def axe_source() -> str:
    if not AXE.exists():
        _unavailable(f"axe-core is not installed at {AXE} (npm ci --prefix tests/browser)")
    return AXE.read_text(encoding="utf-8")


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, **context_options):
    """A page in a fresh context, failing fast (10 s) rather than after Playwright's 30 s."""
    page = browser.new_context(**context_options).new_page()
    page.set_default_timeout(10_000)
    return page


def serious_violations(page, source: str) -> list[str]:
    """Serious or critical axe-core violations on the current page."""
    page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# A ward screen, and the same at 200% zoom: half the CSS viewport, twice the pixels.
STAFF_VIEWS = {
    "1366x768": {"viewport": {"width": 1366, "height": 768}},
    "200% zoom": {"viewport": {"width": 683, "height": 384}, "device_scale_factor": 2},
}


def sign_in(page, base: str, email: str, password: str, lands_on: str | None = None) -> None:
    """Sign in through the login form; wait for ``lands_on`` (a path) or the next page."""
    page.goto(base + "/login")
    page.fill("input[name='email']", email)
    page.fill("input[name='password']", password)
    page.click("button[type='submit']")
    if lands_on:
        page.wait_for_url(base + lands_on)
    else:
        page.wait_for_load_state()
