"""Entering answers taken on the phone, in Chromium at 1366x768 and at 200% zoom: axe finds
nothing serious, no answer starts chosen ("Takes no pain medicines" included), and a page
with a missed item says which one."""

from datetime import UTC, datetime, timedelta

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
    sign_in,
)
from tests.tick_helpers import SECRET, instances

pytestmark = pytest.mark.browser

NOON = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


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
    tomorrow = (NOON + timedelta(days=1)).date()
    patient = gen.patient(site, now=NOON - timedelta(hours=2), procedure_date=tomorrow).patient
    tick(NOON - timedelta(hours=1))
    baseline = next(i for i in instances(engine) if i.timepoint == "baseline")
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    with serve(app) as base:
        yield base, nurse, f"{base}/patients/{patient.id}/surveys/{baseline.id}/enter"


@pytest.mark.parametrize("view", STAFF_VIEWS)
def test_the_phone_entry_form_is_accessible_and_starts_blank(live, view):
    base, nurse, entry = live
    with chromium() as browser:
        page = new_page(browser, **STAFF_VIEWS[view])
        sign_in(page, base, nurse.email, Factory.PASSWORD)
        page.goto(entry)
        assert page.locator("input[type='radio']").count() > 0
        assert page.locator("input[type='radio']:checked").count() == 0
        takes_none = page.get_by_label("Takes no pain medicines")
        assert takes_none.count() == 1 and not takes_none.is_checked()
        assert serious_violations(page, axe_source()) == []
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.evaluate("window.innerWidth") + 1  # no sideways scrolling
