"""The patient's survey in Debian's Chromium on a phone-sized screen, with and without
JavaScript, and an axe-core accessibility check of every kind of patient page."""

from datetime import timedelta

import pytest

from pro_app import create_app
from pro_app.config import Settings
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.models import InstanceStatus
from tests.followup.test_patient_survey import ENROLLED, GOOD
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
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def engine(sqlite_template, tmp_path):
    """Browser tests run on SQLite only: what they check does not depend on the database."""
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine, gen, tick, tmp_path, monkeypatch, clock):
    require_browser()
    # Invited at enrolment (outside quiet hours); the survey is opened an hour later,
    # inside the baseline window.
    clock.move_to(ENROLLED + timedelta(hours=1))
    gen.patient(gen.site(team_phone="0113 496 0123"), now=ENROLLED)
    tick(ENROLLED)
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    instance = instances(engine)[0]
    with serve(app) as base:
        yield base + f"/s/{survey_token(SECRET, instance.id, instance.link_version)}", engine


def baseline_pages(engine):
    return survey_pages(instances(engine)[0].instruments, baseline=True)


def fill_medicine(page, row: int, drug: str, amount: str, unit: str = "mg", doses: str = "2"):
    page.select_option(f"select[name='medicines-{row}-drug']", drug)
    page.fill(f"input[name='medicines-{row}-amount']", amount)
    page.select_option(f"select[name='medicines-{row}-unit']", unit)
    page.fill(f"input[name='medicines-{row}-doses']", doses)
    page.check(f"#medicines-{row}-pattern-regular", force=True)


def fill_page(page, survey_page) -> None:
    if survey_page.checklist is not None:
        page.check("#checklist-none", force=True)
        return
    for item in survey_page.items:
        wanted = GOOD.get(survey_page.instrument.id, {}).get(item.id)
        if item.type in ("scale", "yes_no"):
            page.check(f"input[name='{item.id}'][value='{wanted}']", force=True)
        elif item.type == "single_choice":
            value = wanted or item.options[0].code
            page.check(f"input[name='{item.id}'][value='{value}']", force=True)
        elif item.type == "medication_list":
            fill_medicine(page, 0, "morphine", "10")


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_a_patient_completes_the_survey_on_a_phone(live, javascript):
    url, engine = live
    pages = baseline_pages(engine)
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, java_script_enabled=javascript)
        page.goto(url)
        for number, survey_page in enumerate(pages, start=1):
            assert f"Page {number} of {len(pages)}" in page.inner_text(".progress")
            fill_page(page, survey_page)
            page.click(".actions button[value=next]")
        assert page.inner_text("h1") == "Check your answers"
        page.click("button[value=submit]")
        assert "Thank you" in page.inner_text("h1")
        page.goto(url)
        assert "Already completed" in page.inner_text("h1")
    assert instances(engine)[0].status == InstanceStatus.COMPLETED


def test_every_patient_page_passes_axe(live):
    url, engine = live
    source = axe_source()
    pages = baseline_pages(engine)
    problems: dict[str, list[str]] = {}
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, bypass_csp=True)
        page.goto(url)
        heights = page.eval_on_selector_all(
            ".choice > span", "spans => spans.map(s => s.getBoundingClientRect().height)"
        )
        widths = page.eval_on_selector_all(
            ".choice > span", "spans => spans.map(s => s.getBoundingClientRect().width)"
        )
        assert heights and min(heights) >= 44 and min(widths) >= 44
        for number, survey_page in enumerate(pages, start=1):
            problems[f"page {number}"] = serious_violations(page, source)
            if survey_page.checklist is not None:
                page.check("#checklist-weakness", force=True)
                page.check("#checklist-fever", force=True)
            else:
                fill_page(page, survey_page)
            if any(item.type == "medication_list" for item in survey_page.items):
                page.click("button[value=add-medicine]")
                page.select_option("select[name='medicines-1-drug']", "oxycodone")
                page.click(".actions button[value=next]")  # the second row is partly filled
                problems["error summary"] = serious_violations(page, source)
                page.click("button[value=remove-medicines-1]")
                problems["two medicines"] = serious_violations(page, source)
            page.click(".actions button[value=next]")
            if survey_page.checklist is not None:
                assert "Call the team now" in page.inner_text(".urgent")
                problems["red-flag advice"] = serious_violations(page, source)
                page.click("button[value=continue]")
        problems["check your answers"] = serious_violations(page, source)
        page.click("button[value=submit]")
        problems["thank you"] = serious_violations(page, source)
        page.goto(url)
        problems["already completed"] = serious_violations(page, source)
        page.goto(url.rsplit("/", 1)[0] + "/not-a-token-000000000000000000000")
        problems["not found"] = serious_violations(page, source)
    assert {name: found for name, found in problems.items() if found} == {}


def answer_until_medicines(page, pages) -> None:
    for survey_page in pages:
        if any(item.type == "medication_list" for item in survey_page.items):
            return
        fill_page(page, survey_page)
        page.click(".actions button[value=next]")


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_the_error_summary_takes_focus_and_its_links_reach_the_fields(live, javascript):
    url, engine = live
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, java_script_enabled=javascript)
        page.goto(url)
        answer_until_medicines(page, baseline_pages(engine))
        fill_medicine(page, 0, "morphine", "10")
        page.click("button[value=add-medicine]")
        page.select_option("select[name='medicines-1-drug']", "oxycodone")
        page.click(".actions button[value=next]")
        assert page.title().startswith("Error: ")
        focused = page.evaluate("document.activeElement.className")
        assert focused == "error-summary"
        assert page.evaluate("document.activeElement.getBoundingClientRect().top") < 844
        links = page.eval_on_selector_all(".error-summary a", "as => as.map(a => a.hash)")
        assert links == [
            "#medicines-1-amount",
            "#medicines-1-doses",
            "#medicines-1-pattern-regular",
        ]
        page.click(".error-summary a >> nth=0")
        assert page.evaluate("document.activeElement.id") == "medicines-1-amount"
        # nothing typed was dropped
        assert page.input_value("select[name='medicines-0-drug']") == "morphine"
        assert page.input_value("input[name='medicines-0-amount']") == "10"
        assert page.input_value("select[name='medicines-1-drug']") == "oxycodone"


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_medicines_rows_are_added_one_at_a_time(live, javascript):
    url, engine = live
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, java_script_enabled=javascript)
        page.goto(url)
        answer_until_medicines(page, baseline_pages(engine))
        assert page.locator(".medicine").count() == 1
        assert not page.is_visible("input[name='medicines-0-per_ml']")  # only for a liquid
        fill_medicine(page, 0, "paracetamol", "1000", doses="4")
        page.click("button[value=add-medicine]")
        assert page.locator(".medicine").count() == 2
        assert page.input_value("input[name='medicines-0-amount']") == "1000"
        fill_medicine(page, 1, "morphine", "5", unit="ml", doses="3")
        assert page.is_visible("input[name='medicines-1-per_ml']")
        page.fill("input[name='medicines-1-per_ml']", "2")
        page.click(".actions button[value=next]")
        assert page.inner_text("h1") != "Your pain medicines"
    from tests.followup.test_patient_survey import current

    medicines = current(engine)["analgesic_use"].answers["medicines"]
    assert [(m["drug"], m["strength"], m["doses"]) for m in medicines] == [
        ("paracetamol", 1000, 4),
        ("morphine", 10, 3),
    ]


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_a_change_from_the_check_page_returns_to_it(live, javascript):
    url, engine = live
    pages = baseline_pages(engine)
    with chromium() as browser:
        page = new_page(browser, viewport=PHONE, java_script_enabled=javascript)
        page.goto(url)
        for survey_page in pages:
            fill_page(page, survey_page)
            page.click(".actions button[value=next]")
        assert page.inner_text("h1") == "Check your answers"
        page.click(".summary .change a >> nth=0")
        assert "Page 1 of" in page.inner_text(".progress")
        page.check("input[name='worst'][value='2']", force=True)
        page.click(".actions button[value=next]")
        assert page.inner_text("h1") == "Check your answers"
        assert page.inner_text(".summary dd >> nth=0") == "2"
        page.click("a.back")
        assert page.inner_text("h1") == "About your health"
        page.go_back()
        page.click("button[value=submit]")
        assert "Thank you" in page.inner_text("h1")
