"""A site's on-call number is checked when the site is created: urgent texts go there."""

from datetime import UTC, datetime

from sqlmodel import Session, select

from pro_app.alerts import raise_site_alert
from pro_app.models import Site
from pro_app.storage.engine import session_scope

SITE = {
    "code": "LEEDS",
    "name": "Leeds Spinal Team",
    "team_phone": "0113 496 0000",
    "timezone": "Europe/London",
    "omed_table": "opioids_aware",
    "alert_target_hours": "48",
    "min_cell_count": "5",
}


def _alerts_at_two_sites(gen) -> tuple[Site, Site]:
    """A failing on-call text at one site and another alert elsewhere."""
    mine, other = gen.site(), gen.site()
    at = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with session_scope(gen.engine) as session:
        for site, text in ((mine, "On-call text to +447400900900 failed"), (other, "Elsewhere")):
            raise_site_alert(
                session,
                site_id=site.id,
                kind="staff_text_failed",
                summary=text,
                dedupe_key=f"k{site.id}",
                now=at,
            )
    return mine, other


def _site(engine, code: str) -> Site | None:
    with Session(engine) as session:
        return session.exec(select(Site).where(Site.code == code)).first()


def test_create_site_stores_the_on_call_mobile_in_e164(runner, engine):
    result = runner.invoke(
        args=["create-site", "--code", "A", "--name", "A team", "--phone", "0113 496 0000"]
        + ["--on-call-phone", "07400 123456"]
    )
    assert result.exit_code == 0, result.output
    assert _site(engine, "A").on_call_phone == "+447400123456"


def test_create_site_refuses_an_on_call_number_that_cannot_take_texts(runner, engine):
    for bad in ("0113 496 0000", "not a number", "+44 7700"):
        result = runner.invoke(
            args=["create-site", "--code", "B", "--name", "B", "--phone", "0113 496 0000"]
            + ["--on-call-phone", bad]
        )
        assert result.exit_code == 2, result.output
        assert "--on-call-phone" in result.output and "On-call phone" in result.output
        assert _site(engine, "B") is None


def test_the_admin_form_checks_the_on_call_number(client, auth, gen):
    auth.login(gen.user(None, role="admin").email)
    refused = client.post("/admin/sites", data={**SITE, "on_call_phone": "0113 496 0000"})
    assert refused.status_code == 422 and "not a mobile number" in refused.text
    assert 'value="0113 496 0000"' in refused.text  # kept to correct
    assert _site(gen.engine, "LEEDS") is None
    client.post("/admin/sites", data={**SITE, "on_call_phone": "07400 123456"})
    assert _site(gen.engine, "LEEDS").on_call_phone == "+447400123456"


def test_nurses_see_and_clear_their_sites_alerts_only(client, auth, gen):
    from pro_app.models import SiteAlert

    mine, other = _alerts_at_two_sites(gen)
    auth.login(gen.user(mine, role="nurse").email)
    page = client.get("/patients/").data.decode()
    assert "On-call text to +447400900900 failed" in page and "Elsewhere" not in page
    with Session(gen.engine) as session:
        ids = {a.site_id: a.id for a in session.exec(select(SiteAlert))}
    assert client.post(f"/patients/site-alerts/{ids[other.id]}/acknowledge").status_code == 404
    client.post(f"/patients/site-alerts/{ids[mine.id]}/acknowledge")
    assert "On-call text" not in client.get("/patients/").data.decode()


def test_admins_see_the_alerts_of_the_sites_they_manage(client, auth, gen):
    mine, other = _alerts_at_two_sites(gen)
    auth.login(gen.user(mine, role="admin").email)
    page = client.get("/admin/").data.decode()
    assert "On-call text to +447400900900 failed" in page and "Elsewhere" not in page
    auth.logout()
    auth.login(gen.user(None, role="admin").email)
    page = client.get("/admin/").data.decode()
    assert "On-call text to +447400900900 failed" in page and "Elsewhere" in page
