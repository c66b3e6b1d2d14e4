"""The triage list in Chromium at 1366x768 and at 200% zoom: the most urgent patient on
top in plain words, headings that sort from the keyboard, no serious axe violations."""

from datetime import timedelta

import pytest

from pro_app import create_app
from pro_app.config import Settings
from tests.factories import Factory
from tests.nurse.test_triage import NOW, open_alert
from tests.real_browser import (
    axe_source,
    chromium,
    new_page,
    require_browser,
    serious_violations,
    serve,
    sign_in,
)
from tests.tick_helpers import SECRET

pytestmark = pytest.mark.browser


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine, gen, tmp_path, monkeypatch, clock):
    require_browser()
    clock.move_to(NOW)
    site = gen.site(timezone="Europe/London")
    nurse = gen.user(site)
    enrolled = NOW - timedelta(days=60)
    ids = {}
    for study_id, days_ago in (("BB01", 8), ("BB02", 40), ("BB03", 20), ("BB04", 3)):
        procedure_date = (NOW - timedelta(days=days_ago)).date()
        ids[study_id] = gen.patient(
            site, now=enrolled, study_id=study_id, procedure_date=procedure_date
        ).patient.id
    e = gen.engine
    open_alert(
        e, ids["BB02"], "red_flag", "24h", NOW - timedelta(hours=2), "red_flag:1:severe_back_pain"
    )
    open_alert(e, ids["BB03"], "red_flag", "now", NOW - timedelta(weeks=5), "red_flag:2:walking")
    open_alert(e, ids["BB03"], "non_response", "routine", NOW - timedelta(days=9))
    open_alert(e, ids["BB04"], "pain_worse", "24h", NOW - timedelta(days=2))
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    with serve(app) as base:
        yield base, nurse


@pytest.mark.parametrize(
    "context",
    [
        {"viewport": {"width": 1366, "height": 768}},
        # 200% zoom of a 1366x768 screen: half the CSS pixels, each drawn twice as large
        {"viewport": {"width": 683, "height": 384}, "device_scale_factor": 2},
    ],
    ids=["1366x768", "zoom-200"],
)
def test_the_list_triages_sorts_by_keyboard_and_passes_axe(live, context):
    base, nurse = live
    with chromium() as browser:
        page = new_page(browser, **context)
        sign_in(page, base, nurse.email, Factory.PASSWORD, lands_on="/patients/")
        rows = page.locator("table.patients tbody tr")
        first = rows.first.inner_text()
        assert first.startswith("Red flag, call now: walking newly difficult or legs giving way")
        assert "5 wk" in first and "overdue" in first and "No reply ×2" in first
        assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(4)] == [
            "BB03", "BB02", "BB04", "BB01",
        ]  # fmt: skip
        assert serious_violations(page, axe_source()) == []
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= context["viewport"]["width"]  # the table scrolls, not the page
        heading = page.locator("th a", has_text="Study id")
        heading.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**sort=study_id**")
        assert page.locator("th[aria-sort='ascending']").inner_text().startswith("Study id")
        ids = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(4)]
        assert ids == ["BB01", "BB02", "BB03", "BB04"]
        page.locator("th a", has_text="Study id").press("Enter")
        page.wait_for_url("**dir=desc**")
        assert page.locator("th[aria-sort='descending']").count() == 1
        assert serious_violations(page, axe_source()) == []
