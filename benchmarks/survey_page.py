"""What each patient page costs: requests and bytes in a real browser, and server time.

Usage: ``.venv/bin/python benchmarks/survey_page.py``

Builds an invited survey on a temporary SQLite database, beside a site's year of
follow-up history (``HISTORY`` patients from ``benchmarks/cohort.py``), serves the app
on a loopback port and opens each kind of patient page (a page of 0-10 scales, the red flags, the
medicines, a RAND-36 page, an error page, "Check your answers", the already-completed
page) in Debian's Chromium through Playwright (``executable_path="/usr/bin/chromium"``):
first in a fresh browser (first view: empty cache), then as the following page of the
same visit (the stylesheet cached). For each it prints the requests that reached the
server, and the bytes of their bodies as sent (compressed) and after decoding
(uncompressed), with the median server time of 200 requests through the Flask test
client. Targets: under 30 KB as sent and at most 3 requests per page; the following
page 1 request (its stylesheet comes from the cache); median server time under 20 ms.
"""

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

from werkzeug.serving import make_server

from notifications import NullChannel
from pro_app import create_app
from pro_app.config import Settings
from pro_app.enrolment import enrol
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.messaging.outbox import LinkContext
from pro_app.models import Site, SurveyInstance
from pro_app.scheduling.tick import run_tick
from pro_app.storage.engine import make_engine, session_scope
from pro_app.storage.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium, as the browser tests use
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SECRET = "bench-secret"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
RUNS = 200
HISTORY = 2000  # patients with a year of history at the same site


def build(folder: Path):
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    upgrade(engine)
    with session_scope(engine) as session:
        site = Site(code="B", name="Spinal Oncology Team", team_phone="0113 496 0000")
        session.add(site)
        session.flush()
        enrol(
            session,
            site,
            {
                "study_id": "B1",
                "first_name": "Pat",
                "phone": "07400 100001",
                "consent": True,
                "procedure_date": date(2027, 3, 8),
                "augmentation": "kyphoplasty",
                "levels": "T12",
                "lesion_type": "lytic",
                "electrode": "bipolar",
            },
            user_id=None,
            now=NOW,
        )
    run_tick(engine, NullChannel(), LinkContext(SECRET, "https://b"), now=NOW, worker="b")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.cohort import seed_history

    seed_history(engine, patients=HISTORY, now=NOW, site_id=site.id)
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False})
    with session_scope(engine) as session:
        instance = session.get(SurveyInstance, 1)
        return app, engine, instance


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


@dataclass
class View:
    requests: int  # that reached the server
    sent: int  # body bytes as sent (compressed where the server compressed them)
    decoded: int  # body bytes after decoding


class Counted:
    """WSGI middleware counting the requests that reach the app (cache hits never do)."""

    def __init__(self, app):
        self.app, self.count = app, 0

    def __call__(self, environ, start_response):
        self.count += 1
        return self.app(environ, start_response)


def open_page(page, counter: Counted, url: str, action=None) -> View:
    """Load ``url`` (or run ``action``) in ``page``; what it cost on the network."""
    responses = []

    def seen(response) -> None:
        responses.append(response)

    page.on("response", seen)
    before = counter.count
    if action is None:
        page.goto(url, wait_until="load")
    else:
        with page.expect_navigation(wait_until="load"):
            action()
    page.remove_listener("response", seen)
    sent = decoded = 0
    for response in responses:
        if response.status in (301, 302, 303, 304):
            continue
        sent += response.request.sizes()["responseBodySize"]
        decoded += len(response.body())
    return View(counter.count - before, sent, decoded)


def median_ms(client, path: str) -> float:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def set_page(engine, number: int) -> None:
    with session_scope(engine) as session:
        instance = session.get(SurveyInstance, 1)
        instance.progress = {"web": {"page": number}}


def row(name: str, first: View, following: View | None, server: float | None) -> None:
    then = f"{following.requests:>4} {following.sent / 1024:>7.1f}" if following else " " * 12
    ms = f"{server:>9.2f}" if server is not None else f"{'-':>9}"
    print(
        f"{name:22} {first.requests:>4} {first.sent / 1024:>7.1f} {first.decoded / 1024:>7.1f}"
        f"   {then}   {ms}"
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        app, engine, instance = build(Path(folder))
        path = f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"
        pages = survey_pages(instance.instruments, baseline=True)
        wanted = {
            "0-10 scales (pain)": 0,
            "red flags": next(i for i, p in enumerate(pages) if p.instrument.id == "red_flags"),
            "medicines": next(i for i, p in enumerate(pages) if p.instrument.id == "analgesic_use"),
            "RAND-36 page": next(i for i, p in enumerate(pages) if p.instrument.id == "rand36"),
            "check your answers": len(pages),
        }
        client = app.test_client()
        counter = Counted(app.wsgi_app)
        app.wsgi_app = counter
        print("Chromium; first view: fresh browser; following page: next page, same visit")
        print(f"{'':22} {'first view':^20}   {'following':^12}   {'server':>9}")
        print(
            f"{'page':22} {'reqs':>4} {'sent KB':>7} {'full KB':>7}   {'reqs':>4} {'sent KB':>7}"
            f"   {'median ms':>9}"
        )
        with (
            mock.patch("pro_app.web.patient_survey.utcnow", lambda: NOW + timedelta(hours=1)),
            serve(app) as base,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
            )
            for name, number in wanted.items():
                set_page(engine, number)
                first = open_page(browser.new_context().new_page(), counter, base + path)
                server = median_ms(client, path)
                context = browser.new_context()
                tab = context.new_page()
                set_page(engine, max(number - 1, 0))
                open_page(tab, counter, base + path)
                set_page(engine, number)
                following = open_page(tab, counter, base + path)
                row(name, first, following, server)
                context.close()
            set_page(engine, 0)
            tab = browser.new_context(bypass_csp=True).new_page()
            open_page(tab, counter, base + path)
            # An answer out of range, as a tampered or stale form would send: the error page.
            tab.evaluate(
                "() => { const r = document.querySelector('input[name=worst]');"
                " r.value = '11'; r.checked = true; }"
            )
            error = open_page(
                tab,
                counter,
                base + path,
                action=lambda: tab.locator("button.primary[value=next]").click(),
            )
            row("error summary (POST)", error, None, None)
            with session_scope(engine) as session:
                session.get(SurveyInstance, 1).status = "completed"
            done = open_page(browser.new_context().new_page(), counter, base + path)
            row("already completed", done, None, median_ms(client, path))
            browser.close()
        engine.dispose()


if __name__ == "__main__":
    main()
