"""The admin pages in Chromium at 1366×768 and at 200% zoom: axe finds no serious
problem (colour contrast included), and the Deactivate/Reactivate buttons can be seen
and used, not drawn white on white."""

import pytest
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.config import Settings
from pro_app.models import User
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
from tests.tick_helpers import SECRET

pytestmark = pytest.mark.browser


CONTRAST_OF = """(selector) => {
  const found = [...document.querySelectorAll(selector)];
  return found.map((element) => {
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    return {text: element.textContent.replace(/\\s+/g, " ").trim(), color: style.color,
            width: box.width,
            height: box.height};
  });
}"""

AXE_CONTRAST_OF = """async (selector) => {
  const result = await axe.run(selector, {runOnly: ["color-contrast"]});
  return {passes: result.passes.flatMap((r) => r.nodes).length,
          violations: result.violations.flatMap((r) => r.nodes).length,
          incomplete: result.incomplete.flatMap((r) => r.nodes).length};
}"""


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine, gen, tmp_path, monkeypatch):
    require_browser()
    site = gen.site(code="LEEDS", on_call_phone="+447400900123")
    admin = gen.user(None, role="admin", email="admin@example.test")
    gen.user(site, email="nurse@example.test")
    away = gen.user(site, email="away@example.test")
    with Session(engine) as session:
        session.get(User, away.id).active = False
        session.commit()
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    app = create_app({"SETTINGS": Settings(database_url=str(engine.url), secret_key=SECRET)})
    with serve(app) as base:
        yield base, admin, site


@pytest.mark.parametrize("view", sorted(STAFF_VIEWS))
def test_the_admin_pages_pass_axe_and_show_their_buttons(live, view):
    base, admin, site = live
    source = axe_source()
    with chromium() as browser:
        page = new_page(browser, **STAFF_VIEWS[view])
        sign_in(page, base, admin.email, Factory.PASSWORD, lands_on="/admin/")
        for path in ["/admin/", f"/admin/sites/{site.id}", "/account", "/account/password"]:
            page.goto(base + path)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            assert serious_violations(page, source) == [], (view, path)
        page.goto(base + "/admin/")
        buttons = page.evaluate(CONTRAST_OF, "main button.link")
        assert sorted(b["text"] for b in buttons) == [
            "Deactivate nurse@example.test",
            "Reactivate away@example.test",
        ]
        for button in buttons:
            assert button["color"] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), button
            assert button["width"] > 0 and button["height"] > 0
        page.evaluate(source)
        checked = page.evaluate(AXE_CONTRAST_OF, "main button.link")
        assert checked == {"passes": 2, "violations": 0, "incomplete": 0}
        # Buttons on the page are not white on white even while the pointer is over them.
        page.get_by_role("button", name="Deactivate nurse@example.test").hover()
        hovered = page.evaluate(CONTRAST_OF, "main button.link:hover")
        assert hovered and hovered[0]["color"] != "rgb(255, 255, 255)"


def test_an_admin_deactivates_and_reactivates_an_account_in_the_browser(live, engine):
    base, admin, _site = live
    with chromium() as browser:
        page = new_page(browser, **STAFF_VIEWS["1366x768"])
        sign_in(page, base, admin.email, Factory.PASSWORD, lands_on="/admin/")
        page.get_by_role("button", name="Deactivate nurse@example.test").click()
        page.wait_for_selector("text=nurse@example.test is now deactivated.")
        page.get_by_role("button", name="Reactivate nurse@example.test").click()
        page.wait_for_selector("text=nurse@example.test is now active.")
        assert page.get_by_role("button", name="Deactivate nurse@example.test").is_visible()
    with Session(engine) as session:
        nurse = session.exec(select(User).where(User.email == "nurse@example.test")).one()
        assert nurse.active
