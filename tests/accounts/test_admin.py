"""Admins manage sites and staff; nobody else can."""

import pytest
from sqlmodel import Session, select

from pro_app.models import Site, User


def test_only_admins_reach_administration(client, auth, gen):
    site = gen.site()
    for role in ("nurse", "auditor"):
        user = gen.user(site if role == "nurse" else None, role=role)
        auth.login(user.email)
        assert client.get("/admin/").status_code == 403
        assert client.post("/admin/sites", data={"code": "X"}).status_code == 403
        auth.logout()


def test_an_admin_adds_a_site_and_a_nurse(client, auth, gen):
    admin = gen.user(None, role="admin")
    response = auth.login(admin.email)
    assert response.headers["Location"] == "/admin/"
    site = {
        "code": "LEEDS",
        "name": "Leeds Spinal Team",
        "team_phone": "0113 496 0000",
        "timezone": "Europe/London",
        "omed_table": "opioids_aware",
        "alert_target_hours": "48",
        "min_cell_count": "5",
    }
    assert client.post("/admin/sites", data=site).status_code == 302
    nurse = {
        "email": "Nurse@Leeds.example",
        "name": "N",
        "role": "nurse",
        "site_code": "LEEDS",
        "password": "long enough password",
    }
    assert client.post("/admin/users", data=nurse).status_code == 302
    page = client.get("/admin/").data.decode()
    assert "Leeds Spinal Team" in page and "nurse@leeds.example" in page
    assert "Public domain (RAND)" in page  # each questionnaire's licence note
    with Session(gen.engine) as session:
        added = session.exec(select(User).where(User.email == "nurse@leeds.example")).one()
        leeds = session.exec(select(Site).where(Site.code == "LEEDS")).one()
    assert (added.role, added.site_id, leeds.alert_target_hours) == ("nurse", leeds.id, 48)


def test_a_nurse_without_a_site_is_refused(client, auth, gen):
    admin = gen.user(None, role="admin")
    auth.login(admin.email)
    data = {
        "email": "x@example.org",
        "name": "X",
        "role": "nurse",
        "site_code": "",
        "password": "long enough password",
    }
    refused = client.post("/admin/users", data=data)
    assert refused.status_code == 422 and "must belong to a site" in refused.text
    assert 'value="x@example.org"' in refused.text  # what was typed comes back
    assert "long enough password" not in refused.text
    assert "<details open><summary>Add a member of staff" in refused.text


@pytest.mark.parametrize(
    ("code", "status", "problem"),
    [
        ("rfa1", 409, "A site with code RFA1 already exists."),
        ("RFA/2", 422, "Use letters, digits, - and _ only (up to 32)"),
        ("RFA 2", 422, "Use letters, digits, - and _ only"),
    ],
)
def test_a_site_code_taken_in_other_capitals_or_unfit_for_a_file_name_is_refused(
    client, auth, gen, code, status, problem
):
    gen.site(code="RFA1")
    auth.login(gen.user(None, role="admin").email)
    data = {"code": code, "name": "Leeds spine team", "team_phone": "0113 496 0000"}
    data |= {"timezone": "Europe/London", "protocol_id": "default", "omed_table": "opioids_aware"}
    data |= {"alert_target_hours": "72", "min_cell_count": "5"}
    refused = client.post("/admin/sites", data=data)
    assert refused.status_code == status and problem in refused.text
    assert 'value="Leeds spine team"' in refused.text
    with Session(gen.engine) as session:
        assert [s.code for s in session.exec(select(Site))] == ["RFA1"]
    assert client.post("/admin/sites", data={**data, "code": "RFA2"}).status_code == 302
    with Session(gen.engine) as session:
        assert session.exec(select(User).where(User.email == "x@example.org")).first() is None


def test_a_deactivated_user_cannot_sign_in(client, auth, gen):
    admin = gen.user(None, role="admin")
    nurse = gen.user(gen.site())
    auth.login(admin.email)
    client.post(f"/admin/users/{nurse.id}/active", data={"active": "0"})
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})  # refused: own account
    auth.logout()
    assert auth.login(nurse.email).status_code == 401
    assert auth.login(admin.email).status_code == 302


# Scoped administration: a site admin manages its own site only.

NEW_SITE = {
    "code": "YORK",
    "name": "York Spinal Team",
    "team_phone": "01904 496 000",
    "timezone": "Europe/London",
    "omed_table": "opioids_aware",
    "alert_target_hours": "48",
    "min_cell_count": "5",
}
SETTINGS = {key: value for key, value in NEW_SITE.items() if key != "code"}


def _new_user(site_code: str = "", role: str = "nurse", email: str = "new@example.org") -> dict:
    return {
        "email": email,
        "name": "New",
        "role": role,
        "site_code": site_code,
        "password": "long enough password",
    }


def _admin_routes(theirs: Site, their_nurse: User) -> dict[str, tuple[str, str, dict]]:
    """Every admin route, aimed at another site's records."""
    return {
        "admin.edit_site": ("POST", f"/admin/sites/{theirs.id}", SETTINGS),
        "admin.set_active": ("POST", f"/admin/users/{their_nurse.id}/active", {"active": "0"}),
        "admin.reset_user_password": (
            "POST",
            f"/admin/users/{their_nurse.id}/password",
            {"password": "a temporary password"},
        ),
        "admin.add_user": ("POST", "/admin/users", _new_user(theirs.code)),
    }


def test_every_admin_route_answers_404_for_another_sites_records(app, client, auth, gen):
    mine, theirs = gen.site(), gen.site()
    their_nurse = gen.user(theirs)
    auth.login(gen.user(mine, role="admin").email)
    routes = _admin_routes(theirs, their_nurse)
    for method, path, data in routes.values():
        response = client.open(path, method=method, data=data)
        assert response.status_code == 404, path
    assert client.get(f"/admin/sites/{theirs.id}").status_code == 404
    # Only the routes that take no other site's record are left out above.
    site_wide = {"admin.index", "admin.add_site"}
    admin_endpoints = {endpoint for endpoint in app.view_functions if endpoint.startswith("admin.")}
    assert admin_endpoints == set(routes) | site_wide
    with Session(gen.engine) as session:
        unchanged = session.get(User, their_nurse.id)
        assert (unchanged.active, unchanged.must_change_password) == (True, False)
        assert session.get(Site, theirs.id).name == theirs.name
        assert session.exec(select(User).where(User.email == "new@example.org")).first() is None
    assert auth.login(their_nurse.email).status_code == 302  # password untouched


def test_a_site_admin_sees_only_its_own_site(client, auth, gen):
    mine, theirs = gen.site(), gen.site()
    colleague = gen.user(mine, email="colleague@mine.example")
    gen.user(theirs, email="stranger@theirs.example")
    gen.user(None, role="admin", email="registry@example.org")
    auth.login(gen.user(mine, role="admin").email)
    page = client.get("/admin/").data.decode()
    assert colleague.email in page and mine.name in page
    assert "stranger@theirs.example" not in page and theirs.name not in page
    assert "registry@example.org" not in page
    assert "Add a site" not in page


def test_only_a_registry_admin_adds_sites(client, auth, gen):
    auth.login(gen.user(gen.site(), role="admin").email)
    assert client.post("/admin/sites", data=NEW_SITE).status_code == 403
    with Session(gen.engine) as session:
        assert session.exec(select(Site).where(Site.code == "YORK")).first() is None


def test_a_site_admin_adds_staff_only_to_its_own_site(client, auth, gen):
    mine = gen.site()
    auth.login(gen.user(mine, role="admin").email)
    for n, (role, site_code) in enumerate(
        [("admin", ""), ("auditor", ""), ("nurse", mine.code)], start=1
    ):
        email = f"added{n}@example.org"
        assert (
            client.post("/admin/users", data=_new_user(site_code, role, email)).status_code == 302
        )
    with Session(gen.engine) as session:
        added = session.exec(select(User).where(User.email.startswith("added"))).all()
    # Nobody registry-wide: the admin and the auditor belong to the site admin's site.
    assert sorted((u.role, u.site_id, u.must_change_password) for u in added) == [
        ("admin", mine.id, True),
        ("auditor", mine.id, True),
        ("nurse", mine.id, True),
    ]


def test_a_registry_admin_adds_another_registry_admin(client, auth, gen):
    auth.login(gen.user(None, role="admin").email)
    client.post("/admin/users", data=_new_user("", "admin", "second@example.org"))
    with Session(gen.engine) as session:
        added = session.exec(select(User).where(User.email == "second@example.org")).one()
    assert (added.role, added.site_id) == ("admin", None)


def test_a_site_admin_changes_its_own_sites_settings(client, auth, gen):
    mine = gen.site()
    auth.login(gen.user(mine, role="admin").email)
    assert client.get(f"/admin/sites/{mine.id}").status_code == 200
    changed = SETTINGS | {"alert_target_hours": "24", "on_call_phone": "07400 900123"}
    assert client.post(f"/admin/sites/{mine.id}", data=changed).status_code == 302
    with Session(gen.engine) as session:
        site = session.get(Site, mine.id)
    assert (site.name, site.alert_target_hours, site.on_call_phone, site.code) == (
        "York Spinal Team",
        24,
        "+447400900123",
        mine.code,
    )


def test_site_settings_read_phone_numbers_in_the_sites_region(client, auth, gen):
    """An Irish site's admin writes its numbers as Irish staff do, without +353."""
    mine = gen.site(phone_region="IE")
    auth.login(gen.user(None, role="admin").email)
    irish = SETTINGS | {"team_phone": "01 896 1000", "on_call_phone": "087 123 4567"}
    assert client.post(f"/admin/sites/{mine.id}", data=irish).status_code == 302
    with Session(gen.engine) as session:
        site = session.get(Site, mine.id)
    assert (site.team_phone, site.on_call_phone) == ("01 896 1000", "+353871234567")


@pytest.mark.parametrize(
    "zone", ["Mars/Base", "Factory", "localtime", "posix/Asia/Tokyo", "right/Europe/London"]
)
def test_site_settings_refuse_an_unknown_time_zone(client, auth, gen, zone):
    """A zone must be a place's: not the server's own setting, nor a placeholder or a
    copy of the database that counts leap seconds."""
    mine = gen.site()
    auth.login(gen.user(None, role="admin").email)
    response = client.post(f"/admin/sites/{mine.id}", data=SETTINGS | {"timezone": zone})
    assert response.status_code == 400
    assert "Give a time zone such as Europe/London." in response.data.decode()
    with Session(gen.engine) as session:
        assert session.get(Site, mine.id).timezone == "Europe/London"


@pytest.mark.parametrize(
    "phone", ["(0113) 496 0123", "0113 496 0123 ext 4", "+44 (0)113 496 0123", "01904 496000"]
)
def test_site_settings_take_a_team_phone_as_teams_write_it(client, auth, gen, phone):
    mine = gen.site()
    auth.login(gen.user(None, role="admin").email)
    response = client.post(f"/admin/sites/{mine.id}", data=SETTINGS | {"team_phone": phone})
    assert response.status_code == 302
    with Session(gen.engine) as session:
        assert session.get(Site, mine.id).team_phone == phone


@pytest.mark.parametrize("phone", ["abc", "call 999 NOW!!", "999", "0113 496"])
def test_site_settings_refuse_a_team_phone_patients_could_not_call(client, auth, gen, phone):
    """The team's number is in every urgent advice text and page: it must be a number."""
    mine = gen.site()
    auth.login(gen.user(None, role="admin").email)
    response = client.post(f"/admin/sites/{mine.id}", data=SETTINGS | {"team_phone": phone})
    assert response.status_code == 400
    assert "give the number patients should call" in response.text
    with Session(gen.engine) as session:
        assert session.get(Site, mine.id).team_phone == "0113 496 0000"


def test_a_site_admin_manages_its_own_staff(client, auth, gen):
    mine = gen.site()
    nurse = gen.user(mine)
    auth.login(gen.user(mine, role="admin").email)
    reset = {"password": "a temporary password"}
    assert client.post(f"/admin/users/{nurse.id}/password", data=reset).status_code == 302
    assert client.post(f"/admin/users/{nurse.id}/active", data={"active": "0"}).status_code == 302
    with Session(gen.engine) as session:
        changed = session.get(User, nurse.id)
    assert (changed.active, changed.must_change_password) == (False, True)


def test_admins_do_not_read_patient_records(client, auth, gen):
    site = gen.site()
    enrolled = gen.patient(site)
    for admin in (gen.user(site, role="admin"), gen.user(None, role="admin")):
        auth.login(admin.email)
        assert client.get("/patients/").status_code == 403
        assert client.get(f"/patients/{enrolled.patient.id}").status_code == 403
        auth.logout()
