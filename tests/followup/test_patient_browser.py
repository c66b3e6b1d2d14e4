"""The patient's survey in Debian's Chromium on a phone-sized screen, with and without
JavaScript, and an axe-core accessibility check of every kind of patient page."""

from datetime import UTC, datetime, timedelta

import pytest

from pro_app import create_app
from pro_app.config import Settings
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.models import InstanceStatus
from tests.followup.test_patient_survey import GOOD
from tests.real_browser import (
    axe_source,
    chromium,
    new_page,
    require_browser,
    serious_violations,
    serve,
)
from tests.tick_helpers import SECRET, instances

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def engine(sqlite_template, tmp_path):
    """Browser tests run on SQLite only: what they check does not depend on the database."""
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


# The patient opens the survey at midday; it was sent the day before, outside quiet hours.
NOON = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def live(engine, gen, tick, tmp_path, monkeypatch, clock):
    require_browser()
    clock.move_to(NOON)
    now = NOON - timedelta(days=1)
    procedure = (now + timedelta(days=7)).date()
    gen.patient(gen.site(team_phone="0113 496 0123"), now=now, procedure_date=procedure)
    tick(now)
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    instance = instances(engine)[0]
    with serve(app) as base:
        yield base + f"/s/{survey_token(SECRET, instance.id, instance.link_version)}", engine


def fill_page(page, survey_page) -> None:
    for item in survey_page.items:
        wanted = GOOD.get(survey_page.instrument.id, {}).get(item.id)
        if item.type in ("scale", "yes_no"):
            page.check(f"input[name='{item.id}'][value='{wanted}']", force=True)
        elif item.type == "single_choice":
            value = wanted or item.options[0].code
            page.check(f"input[name='{item.id}'][value='{value}']", force=True)
        elif item.type == "medication_list":
            page.select_option(f"select[name='{item.id}-0-drug']", "morphine")
            page.fill(f"input[name='{item.id}-0-strength']", "10")
            page.fill(f"input[name='{item.id}-0-doses']", "2")


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_a_patient_completes_the_survey_on_a_phone(live, javascript):
    url, engine = live
    pages = survey_pages(instances(engine)[0].instruments)
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, java_script_enabled=javascript)
        page.goto(url)
        for number, survey_page in enumerate(pages, start=1):
            assert f"Page {number} of {len(pages)}" in page.inner_text(".progress")
            fill_page(page, survey_page)
            page.click("button[value=next]")
        page.click("button[value=submit]")
        assert "Thank you" in page.inner_text("h1")
        page.goto(url)
        assert "Already completed" in page.inner_text("h1")
    assert instances(engine)[0].status == InstanceStatus.COMPLETED


def test_every_patient_page_passes_axe(live):
    url, engine = live
    source = axe_source()
    pages = survey_pages(instances(engine)[0].instruments)
    problems: dict[str, list[str]] = {}
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, bypass_csp=True)
        page.goto(url)
        heights = page.eval_on_selector_all(
            ".choice span", "spans => spans.map(s => s.getBoundingClientRect().height)"
        )
        assert heights and min(heights) >= 44
        for number, survey_page in enumerate(pages, start=1):
            problems[f"page {number}"] = serious_violations(page, source)
            fill_page(page, survey_page)
            if survey_page.instrument.id == "red_flags":
                page.check("input[name='weakness'][value='yes']", force=True)
            page.click("button[value=next]")
            if survey_page.instrument.id == "red_flags":
                assert "Call the team now" in page.inner_text(".urgent")
                problems["red-flag advice"] = serious_violations(page, source)
                page.click("button[value=continue]")
        problems["check and send"] = serious_violations(page, source)
        page.click("button[value=submit]")
        problems["thank you"] = serious_violations(page, source)
        page.goto(url)
        problems["already completed"] = serious_violations(page, source)
        page.goto(url.rsplit("/", 1)[0] + "/not-a-token-000000000000000000000")
        problems["not found"] = serious_violations(page, source)
    assert {name: found for name, found in problems.items() if found} == {}
