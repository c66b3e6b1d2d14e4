"""What each timepoint of a protocol asks of a patient, on the web and by text.

Usage: ``.venv/bin/python benchmarks/burden.py [--protocol default] [--no-browser]``

For every timepoint and channel it prints the items, the pages (web: question pages plus
"Check your answers"; text: the replies), the estimated minutes and, for the web, the
rendered height of each page at 390 CSS px wide in Chromium (Debian's, through
Playwright) at the default font size, with one medicine entered.

The rate (see ``surveys/burden.py``): 10 seconds a question (Pew Research Center 2022,
from its online panel's response times), a "tick any that apply" list 10 seconds plus 4
seconds a line, a medicine four questions. Text: the same 10 seconds a reply, counted
from the SMS question list the conversation uses now (RAND-36 and the medicines list are
not asked by text; the texted conversation's own target is at most 6 replies).

The patient walks through beside a site's year of follow-up history (``HISTORY``
patients from ``benchmarks/cohort.py``, dated after the walk so that the passes which
open each timepoint find nothing of theirs to do).

Targets: at timepoints without RAND-36 at most 3 minutes and 6 pages; with
RAND-36 at most 10 minutes; no page taller than three phone screens (3 x 844 px).
"""

import argparse
import logging
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

from sqlmodel import select
from werkzeug.serving import make_server

from notifications import NullChannel
from pro_app import create_app
from pro_app.config import Settings
from pro_app.enrolment import enrol
from pro_app.followup.instruments import sms_questions
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.messaging.outbox import LinkContext
from pro_app.models import Site, SurveyInstance
from pro_app.scheduling.tick import run_tick
from pro_app.storage.engine import make_engine, session_scope
from pro_app.storage.migrate import upgrade
from surveys import load_protocol
from surveys.burden import SECONDS_PER_QUESTION, web_burden

SECRET = "burden-secret"
ENROLLED = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
PHONE = {"width": 390, "height": 844}
MAX_HEIGHT = 3 * PHONE["height"]
CHROMIUM = "/usr/bin/chromium"
DEBUG = False
HISTORY = 2000  # patients with a year of history at the same site
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _medicine_form(page) -> dict:
    return {
        "medicines-0-drug": "morphine",
        "medicines-0-amount": "10",
        "medicines-0-unit": "mg",
        "medicines-0-doses": "2",
        "medicines-0-pattern": "regular",
    }


def answers_for(page) -> dict:
    """Plausible answers for any page, as the patient's browser sends them."""
    if page.checklist is not None:
        return {"checklist": "none"}
    data: dict = {}
    for item in page.items:
        if item.type == "scale":
            data[item.id] = str(int(item.min))
        elif item.type in ("single_choice", "multiple_choice"):
            data[item.id] = item.options[0].code
        elif item.type == "yes_no":
            data[item.id] = "no"
        elif item.type == "medication_list":
            data.update(_medicine_form(page))
    return data


def build(folder: Path, protocol_id: str):
    """One patient per timepoint, each with that timepoint's survey open now."""
    engine = make_engine(f"sqlite:///{folder / 'burden.sqlite3'}")
    upgrade(engine)
    with session_scope(engine) as session:
        site = Site(
            code="B",
            name="Spinal Oncology Team",
            team_phone="0113 496 0000",
            protocol_id=protocol_id,
        )
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
            now=ENROLLED,
        )
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.cohort import seed_history

    seed_history(engine, patients=HISTORY, now=ENROLLED + timedelta(days=400), site_id=site.id)
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False})
    return app, engine


@contextmanager
def serve(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def open_instance(engine, instance_id: int) -> tuple[str, datetime]:
    """Invite one instance (at its due time) and give its link and a time it is open."""
    with session_scope(engine) as session:
        instance = session.get(SurveyInstance, instance_id)
        due = instance.due_at
    run_tick(engine, NullChannel(), LinkContext(SECRET, "https://b"), now=due, worker="b")
    with session_scope(engine) as session:
        instance = session.get(SurveyInstance, instance_id)
        return f"/s/{survey_token(SECRET, instance.id, instance.link_version)}", due


def page_heights(base: str, path: str, pages) -> list[int]:
    """Walk the form in Chromium at 390 px; the height of each page, then the check page."""
    from playwright.sync_api import sync_playwright

    heights = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        page = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
        page.goto(base + path)
        for survey_page in pages:
            heights.append(page.evaluate("document.documentElement.scrollHeight"))
            if DEBUG:
                print(survey_page.number, page.title(), heights[-1])
            for name, value in answers_for(survey_page).items():
                kind = page.get_attribute(f"[name='{name}']", "type") or ""
                tag = page.eval_on_selector(f"[name='{name}']", "e => e.tagName")
                if tag == "SELECT":
                    page.select_option(f"[name='{name}']", value)
                elif kind in ("radio", "checkbox"):
                    page.check(f"[name='{name}'][value='{value}']", force=True)
                else:
                    page.fill(f"[name='{name}']", value)
            with page.expect_navigation():
                page.click(".actions button[value=next]")
        heights.append(page.evaluate("document.documentElement.scrollHeight"))
        browser.close()
    return heights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="default")
    parser.add_argument("--no-browser", action="store_true", help="skip the page heights")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    protocol = load_protocol(args.protocol)
    print(f"Protocol {protocol.id} {protocol.version}; {SECONDS_PER_QUESTION} s a question")
    print(
        f"{'timepoint':10} {'channel':7} {'items':>5} {'pages':>5} {'minutes':>7}  target  "
        f"page heights at 390 px (last: check your answers)"
    )
    with tempfile.TemporaryDirectory() as folder:
        app, engine = build(Path(folder), args.protocol)
        with session_scope(engine) as session:
            ids = {i.timepoint: i.id for i in session.exec(select(SurveyInstance))}
        with serve(app) as base:
            for timepoint in protocol.timepoints:
                long = "rand36" in timepoint.instruments
                pages = survey_pages(timepoint.instruments, baseline=timepoint.is_baseline)
                burden = web_burden(timepoint.instruments, baseline=timepoint.is_baseline)
                heights: list[int] = []
                if not args.no_browser:
                    path, due = open_instance(engine, ids[timepoint.id])
                    clock = mock.patch(
                        "pro_app.web.patient_survey.utcnow",
                        lambda due=due: due + timedelta(hours=1),
                    )
                    with clock:
                        heights = page_heights(base, path, pages)
                web_pages = len(pages) + 1
                ok = burden.minutes <= (10 if long else 3) and (long or web_pages <= 6)
                ok = ok and all(h <= MAX_HEIGHT for h in heights)
                shown = " ".join(str(h) for h in heights)
                print(
                    f"{timepoint.id:10} {'web':7} {burden.items:>5} {web_pages:>5} "
                    f"{burden.minutes:>7.1f}  {'met' if ok else 'MISSED':6}  {shown}"
                )
                texts = sms_questions(list(timepoint.instruments), baseline=timepoint.is_baseline)
                minutes = len(texts) * SECONDS_PER_QUESTION / 60
                print(
                    f"{'':10} {'sms':7} {len(texts):>5} {len(texts):>5} {minutes:>7.1f}  "
                    f"{'met' if len(texts) <= 6 or long else 'MISSED':6}  (replies to the "
                    "current SMS question list; target 6)"
                )
        engine.dispose()
    print(f"Tallest allowed page: {MAX_HEIGHT} px (3 x 844).")


if __name__ == "__main__":
    main()
