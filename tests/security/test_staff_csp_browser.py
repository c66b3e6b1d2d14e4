"""The staff pages under their Content-Security-Policy (no 'unsafe-inline') in Chromium:
the patient record's plots draw and the browser reports no violation."""

import pytest

from tests.factories import Factory
from tests.nurse.test_dashboard_browser import engine, live  # noqa: F401, F811  (fixtures)
from tests.real_browser import chromium, new_page

pytestmark = pytest.mark.browser

COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
});
"""


def test_the_patient_record_draws_its_plots_without_unsafe_inline(live):  # noqa: F811
    base, nurse, flagged, _engine = live
    console = []
    with chromium() as browser:
        page = new_page(browser, viewport={"width": 1280, "height": 900})
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", lambda message: console.append(message.text))
        page.goto(base + "/login")
        page.fill("input[name='email']", nurse.email)
        page.fill("input[name='password']", Factory.PASSWORD)
        page.click("button[type='submit']")
        page.wait_for_url(base + "/patients/")
        response = page.goto(f"{base}/patients/{flagged.id}", wait_until="domcontentloaded")
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "style-src 'self'" in policy
        page.wait_for_selector("#fig-pain .main-svg", timeout=30_000)
        assert page.locator("#fig-pain .scatterlayer .trace").count() >= 1
        page.hover("#fig-pain .main-svg")
        violations = page.evaluate("window.__violations")
    assert violations == []
    assert not [line for line in console if "Content Security Policy" in line]
