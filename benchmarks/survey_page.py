"""What each patient page costs: bytes over the wire, requests, and server time.

Usage: ``.venv/bin/python benchmarks/survey_page.py``

Builds an invited survey on a temporary SQLite database, beside a site's year of
follow-up history (``HISTORY`` patients from ``benchmarks/cohort.py``), and measures,
for each kind of patient page (a page of 0-10 scales, the red flags, the medicines, a
RAND-36 page, an error page, "Check your answers", the already-completed page), the HTML plus the
stylesheet gzip-compressed as a server would send them, the number of requests (the
page, its stylesheet), and the median server time of 200 requests through the Flask test
client. Targets: under 30 KB and at
most 3 requests per page, median server time under 20 ms.
"""

import gzip
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from unittest import mock

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


def page_bytes(client, html: str) -> int:
    css = client.get("/static/patient.css").data
    return len(gzip.compress(html.encode(), 6)) + len(gzip.compress(css, 6))


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


def main() -> None:
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
        print(f"{'page':22} {'gzip KB':>8} {'requests':>9} {'median ms':>10}")
        with mock.patch("pro_app.web.patient_survey.utcnow", lambda: NOW + timedelta(hours=1)):
            for name, number in wanted.items():
                set_page(engine, number)
                html = client.get(path).get_data(as_text=True)
                kb = page_bytes(client, html) / 1024
                print(f"{name:22} {kb:>8.1f} {2:>9} {median_ms(client, path):>10.2f}")
            set_page(engine, 0)
            html = client.post(path, data={"action": "next", "worst": "11"}).get_data(as_text=True)
            kb = page_bytes(client, html) / 1024
            print(f"{'error summary':22} {kb:>8.1f} {2:>9} {'-':>10}")
            with session_scope(engine) as session:
                session.get(SurveyInstance, 1).status = "completed"
            html = client.get(path).get_data(as_text=True)
            kb = page_bytes(client, html) / 1024
            print(f"{'already completed':22} {kb:>8.1f} {2:>9} {median_ms(client, path):>10.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
