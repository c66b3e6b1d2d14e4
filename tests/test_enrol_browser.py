"""The enrolment and import pages in Chromium at 1366×768 and at 200% zoom: sent with
several mistakes, every error shows next to its field and in the summary, what was typed
stays, and axe finds no serious problem."""

import pytest

from pro_app import create_app
from pro_app.config import Settings
from tests.factories import Factory
from tests.real_browser import (
    STAFF_VIEWS,
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


@pytest.fixture
def live(engine, gen, tmp_path, monkeypatch):
    require_browser()
    nurse = gen.user(gen.site(timezone="Europe/Dublin"))
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    app = create_app({"SETTINGS": Settings(database_url=str(engine.url), secret_key=SECRET)})
    with serve(app) as base:
        yield base, nurse


@pytest.mark.parametrize("view", sorted(STAFF_VIEWS))
def test_a_form_with_mistakes_shows_them_all_by_their_fields(live, view):
    base, nurse = live
    source = axe_source()
    with chromium() as browser:
        page = new_page(browser, **STAFF_VIEWS[view])
        page.goto(base + "/login")
        page.fill("input[name='email']", nurse.email)
        page.fill("input[name='password']", Factory.PASSWORD)
        page.click("button[type='submit']")
        page.goto(base + "/patients/enrol")
        assert serious_violations(page, source) == []
        assert page.locator("#timezone").input_value() == "Europe/Dublin"
        page.fill("#study_id", "RFA-9")
        page.fill("#first_name", "Joan")
        page.fill("#phone", "0113 496 0000")
        page.fill("#procedure_date", "2020-03-01")
        page.fill("#levels", "T12")
        page.select_option("#lesion_type", "mixed")
        page.check("#consent")
        page.click("button:has-text('Enrol')")
        page.wait_for_selector("#problems")
        for name in ("phone", "procedure_date", "augmentation", "electrode"):
            field = page.locator(f"#{name}")
            assert field.get_attribute("aria-invalid") == "true"
            error = page.locator(f"#{name}-error")
            assert error.is_visible()
            assert f"{name}-error" in field.get_attribute("aria-describedby")
        assert page.locator("#problems li").count() == 4
        assert page.locator("#study_id").input_value() == "RFA-9"
        assert page.locator("#lesion_type").input_value() == "mixed"
        assert page.locator("#consent").is_checked()
        assert serious_violations(page, source) == []
        page.goto(base + "/patients/import")
        assert serious_violations(page, source) == []
