"""The audit page in Chromium at 1366x768: the charts give n under each timepoint and
leave out points from too few patients, labels are not clipped, scrollable tables take
keyboard focus, and axe finds nothing serious."""

import pytest

from pro_app import create_app
from pro_app.config import Settings
from tests.factories import Factory
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

from .answering import ENROLLED, NOW, PROCEDURE, answer

pytestmark = pytest.mark.browser


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine, gen, tmp_path, monkeypatch, clock):
    """Six patients answered at baseline, two of them at week 4 (too few to plot)."""
    require_browser()
    clock.move_to(NOW)
    site = gen.site(code="LEEDS", min_cell_count=5)
    auditor = gen.user(site, role="auditor")
    for n in range(6):
        patient = gen.patient(site, now=ENROLLED, study_id=f"B{n}", procedure_date=PROCEDURE)
        answer(engine, patient.patient.id, "baseline", 4 + n % 3, morphine_doses=n)
        if n < 2:
            answer(engine, patient.patient.id, "week4", 3)
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(database_url=str(engine.url), secret_key=SECRET)
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    with serve(app) as base:
        yield base, auditor


def _texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "elements => elements.map(e => e.textContent)")


def test_the_audit_page_is_honest_about_n_and_passes_axe(live, tmp_path):
    base, auditor = live
    with chromium() as browser:
        page = new_page(browser, viewport={"width": 1366, "height": 768})
        sign_in(page, base, auditor.email, Factory.PASSWORD)
        page.goto(base + "/audit/")
        for key in ("pain", "opioids", "response"):
            page.wait_for_selector(f"#fig-{key} .main-svg")
        ticks = _texts(page, "#fig-pain .xtick text")
        assert any("baseline" in t and "n=6" in t for t in ticks), ticks
        assert any("week4" in t and "n=2 (too few)" in t for t in ticks), ticks
        figure = page.locator("#fig-pain").bounding_box()
        for label in page.locator("#fig-pain .xtick text").all():
            box = label.bounding_box()
            assert box["y"] + box["height"] <= figure["y"] + figure["height"]  # not clipped
        week4 = page.evaluate(
            "() => document.getElementById('fig-pain').data[2].y"
        )  # the median line: baseline drawn, week 4 left out
        assert week4[0] is not None and week4[1] is None
        omed_ticks = _texts(page, "#fig-opioids .y2tick text")
        assert omed_ticks and all(float(t) == int(float(t)) for t in omed_ticks), omed_ticks
        regions = page.locator(".table-scroll[tabindex='0'][role='region']")
        assert regions.count() == page.locator("table.audit").count()
        assert any(h.startswith("Alert handling") for h in page.locator("h2").all_inner_texts())
        page.screenshot(path=str(tmp_path / "audit-1366.png"), full_page=True)
        assert serious_violations(page, axe_source()) == []
        page.locator(".table-scroll").first.focus()
        focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        assert focused.startswith("Patients due and answered")
