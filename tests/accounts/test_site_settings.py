"""A site's settings from the admin page: the protocol and the time zone are chosen from
lists, the site's own zone first; the account page names the site."""

from sqlmodel import Session

from pro_app.models import Site
from tests.accounts.test_admin import SETTINGS
from tests.test_new_site import SHORT_PROTOCOL


def test_an_admin_chooses_the_sites_protocol_from_those_that_load(
    client, auth, gen, tmp_path, monkeypatch
):
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "leeds_short.yaml").write_text(SHORT_PROTOCOL)
    (folder / "broken.yaml").write_text("id: broken\ntimepoints: []\n")
    monkeypatch.setenv("PRO_PROTOCOLS_DIR", str(folder))
    mine = gen.site(timezone="Europe/Dublin")
    auth.login(gen.user(None, role="admin").email)
    page = client.get(f"/admin/sites/{mine.id}").text
    assert '<option value="leeds_short">Three timepoints (leeds_short)</option>' in page
    assert '<option selected value="default">' in page and 'value="broken"' not in page
    zones = page.index('<option selected value="Europe/Dublin">Ireland (Europe/Dublin)')
    assert zones < page.index('<option value="Europe/London">')
    refused = client.post(f"/admin/sites/{mine.id}", data=SETTINGS | {"protocol_id": "broken"})
    assert refused.status_code == 400
    chosen = SETTINGS | {"protocol_id": "leeds_short", "timezone": "Europe/Jersey"}
    assert client.post(f"/admin/sites/{mine.id}", data=chosen).status_code == 302
    with Session(gen.engine) as session:
        site = session.get(Site, mine.id)
        assert (site.protocol_id, site.timezone) == ("leeds_short", "Europe/Jersey")
    listing = client.get("/admin/").text
    assert "<td>leeds_short</td>" in listing


def test_a_settings_form_without_a_protocol_keeps_the_sites(client, auth, gen):
    mine = gen.site(protocol_id="default")
    auth.login(gen.user(mine, role="admin").email)
    assert client.post(f"/admin/sites/{mine.id}", data=SETTINGS).status_code == 302
    with Session(gen.engine) as session:
        assert session.get(Site, mine.id).protocol_id == "default"


def test_the_account_page_names_the_users_site(client, auth, gen):
    mine = gen.site(code="YORK", name="York Spinal Team")
    auth.login(gen.user(mine).email)
    assert "at site YORK (York Spinal Team)" in client.get("/account").text
