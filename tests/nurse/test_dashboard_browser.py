"""The nurse's dashboard in Chromium: sign in, open the patient with a red flag, see the
trajectory drawn by the locally served plotly.js, acknowledge the alert."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.config import Settings
from pro_app.followup.answer_saving import complete, save_answers
from pro_app.models import Alert, SurveyInstance
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


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


# The nurse opens the dashboard at midday on a winter weekday.
NOON = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def live(engine, gen, tick, tmp_path, monkeypatch, clock):
    require_browser()
    clock.move_to(NOON)
    now = NOON
    site = gen.site()
    nurse = gen.user(site)
    quiet = gen.patient(site, now=now - timedelta(days=9), study_id="AAA1").patient
    flagged = gen.patient(
        site,
        now=now - timedelta(days=9),
        study_id="ZZZ9",
        procedure_date=(now - timedelta(days=8)).date(),
    ).patient
    tick(now - timedelta(days=9))
    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == flagged.id, SurveyInstance.timepoint == "baseline"
            )
        ).one()
        at = now - timedelta(days=9)
        save_answers(
            session,
            instance,
            "pain_nrs",
            {"worst": 8, "average": 6, "now": 5},
            channel="web",
            now=at,
        )
        flags = {"weakness": True, "walking": False, "numbness": False, "bladder_bowel": False}
        save_answers(session, instance, "red_flags", flags, channel="web", now=at)
        complete(session, instance, now=at)
    assert quiet.id != flagged.id
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    with serve(app) as base:
        yield base, nurse, flagged, engine


def test_a_nurse_sees_the_red_flag_first_the_plot_and_acknowledges(live):
    base, nurse, flagged, engine = live
    plotly_requests = []
    with chromium() as browser:
        page = new_page(browser, viewport={"width": 1280, "height": 900})
        page.on(
            "request",
            lambda request: (
                plotly_requests.append(request.url) if "plotly" in request.url else None
            ),
        )
        page.goto(base + "/login")
        page.fill("input[name='email']", nurse.email)
        page.fill("input[name='password']", Factory.PASSWORD)
        page.click("button[type='submit']")
        page.wait_for_url(base + "/patients/")
        first_row = page.locator("table tbody tr").first
        assert "ZZZ9" in first_row.inner_text()  # the red flag above the alphabet
        assert not plotly_requests  # no plot on the list
        page.click("text=ZZZ9")
        page.wait_for_selector("#fig-pain .main-svg")
        assert page.locator("#fig-pain .scatterlayer .trace").count() >= 1
        assert page.locator("#fig-omed .main-svg").count() >= 1
        assert serious_violations(page, axe_source()) == []
        page.check("input[name='alert_ids']")
        page.select_option("#ack-action", "called")
        page.fill("#ack-note", "advised urgent review")
        page.click("button:has-text('Record action')")
        page.wait_for_selector("text=Called the patient: advised urgent review")
        page.reload()
        page.wait_for_selector("#fig-pain .main-svg")
    assert len(plotly_requests) >= 1
    with Session(engine) as session:
        alert = session.exec(select(Alert).where(Alert.patient_id == flagged.id)).one()
    assert (alert.kind, alert.action, alert.acknowledged_by) == ("red_flag", "called", nurse.id)
