"""Admins manage sites and staff; nobody else can."""

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
    client.post("/admin/users", data=data)
    assert "must belong to a site" in client.get("/admin/").data.decode()
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
