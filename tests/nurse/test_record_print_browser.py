"""The patient record on paper, in Chromium at 1366x768: printing the record or its summary
hides the navigation, the forms and the message log and keeps the figures; axe finds nothing
serious on either page on screen."""

from datetime import UTC, datetime, timedelta

import pytest

from pro_app import create_app
from pro_app.alerts import raise_alert
from pro_app.config import Settings
from pro_app.models import Site
from pro_app.storage.engine import session_scope
from tests.factories import Factory
from tests.real_browser import (
    axe_source,
    chromium,
    new_page,
    require_browser,
    serious_violations,
    serve,
)
from tests.tick_helpers import SECRET

pytestmark = pytest.mark.browser

NOON = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
WARD_SCREEN = {"width": 1366, "height": 768}


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine, gen, tick, tmp_path, monkeypatch, clock):
    require_browser()
    clock.move_to(NOON)
    site = gen.site()
    nurse = gen.user(site)
    patient = gen.patient(
        site, now=NOON - timedelta(days=9), procedure_date=(NOON - timedelta(days=8)).date()
    ).patient
    tick(NOON - timedelta(days=9))
    with session_scope(engine) as session:
        raise_alert(
            session,
            site=session.get(Site, site.id),
            patient_id=patient.id,
            kind="red_flag",
            urgency="now",
            summary="Red flag: new leg weakness",
            dedupe_key="red_flag:browser",
            now=NOON - timedelta(hours=2),
        )
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    with serve(app) as base:
        yield base, nurse, patient


def hidden(page, selector: str) -> bool:
    return all(not element.is_visible() for element in page.query_selector_all(selector))


def test_printing_the_record_and_its_summary_keeps_the_clinical_parts_only(live):
    base, nurse, patient = live
    with chromium() as browser:
        page = new_page(browser, viewport=WARD_SCREEN)
        page.goto(base + "/login")
        page.fill("input[name='email']", nurse.email)
        page.fill("input[name='password']", Factory.PASSWORD)
        page.click("button[type='submit']")
        page.wait_for_url(base + "/patients/")
        page.goto(f"{base}/patients/{patient.id}")
        page.wait_for_selector("#fig-pain .main-svg")
        assert serious_violations(page, axe_source()) == []
        assert page.locator("nav").is_visible() and page.locator(".message-log").is_visible()

        page.emulate_media(media="print")
        assert hidden(page, "nav") and hidden(page, "form") and hidden(page, "select")
        assert hidden(page, ".message-log") and hidden(page, "button")
        assert page.locator("h1").is_visible()
        assert page.get_by_role("cell", name="Red flag: new leg weakness", exact=True).is_visible()
        for key in ("pain", "omed", "qol"):
            assert page.locator(f"#fig-{key} .main-svg").first.is_visible()
        page.emulate_media(media="screen")

        page.click("text=Printable summary")
        page.wait_for_selector("#fig-qol .main-svg")
        assert page.locator("button[data-print]").is_visible()  # shown by print.js
        assert serious_violations(page, axe_source()) == []
        page.emulate_media(media="print")
        assert hidden(page, "button") and hidden(page, "text=Back to the record")
        assert page.locator("text=Surveys and answers").is_visible()
        for key in ("pain", "omed", "qol"):
            assert page.locator(f"#fig-{key} .main-svg").first.is_visible()
        page.pdf()  # the summary lays out on paper without error
