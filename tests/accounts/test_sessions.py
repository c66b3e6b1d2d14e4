"""Staff sessions end everywhere at once, and after an idle and an absolute lifetime."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session

from pro_app import create_app
from pro_app.config import ConfigError, Settings
from pro_app.models import User

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The clock stands still at ``T0`` (instead of running on, as in tests/conftest.py)
    until a test moves it: pauses and lifetimes are checked to the second."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _signed_in(response) -> bool:
    return response.status_code == 200


def test_signing_out_ends_every_copy_of_the_session(app, client, auth, gen, clock):
    user = gen.user(gen.site())
    auth.login(user.email)
    copy = _copy_of(app, client)
    assert _signed_in(copy.get("/patients/"))
    auth.logout()
    response = copy.get("/patients/")
    assert response.headers["Location"].startswith("/login")
    assert "Your session has ended" in copy.get(response.headers["Location"]).data.decode()


def test_signing_out_ends_the_users_sessions_in_other_browsers(app, client, auth, gen, clock):
    user = gen.user(gen.site())
    other_browser = app.test_client()
    other_browser.post("/login", data={"email": user.email, "password": gen.PASSWORD})
    auth.login(user.email)
    auth.logout()
    assert other_browser.get("/patients/").status_code == 302


def test_a_password_change_ends_other_sessions_but_not_this_one(app, client, auth, gen, clock):
    user = gen.user(gen.site())
    auth.login(user.email)
    copy = _copy_of(app, client)
    client.post(
        "/account/password",
        data={
            "current": gen.PASSWORD,
            "new": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert _signed_in(client.get("/patients/"))
    assert copy.get("/patients/").status_code == 302


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(
    app, client, auth, gen, clock
):
    site = gen.site()
    nurse = gen.user(site)
    nurse_client = app.test_client()
    nurse_client.post("/login", data={"email": nurse.email, "password": gen.PASSWORD})
    assert _signed_in(nurse_client.get("/patients/"))
    auth.login(gen.user(None, role="admin").email)
    client.post(f"/admin/users/{nurse.id}/active", data={"active": "0"})
    assert nurse_client.get("/patients/").status_code == 302
    client.post(f"/admin/users/{nurse.id}/active", data={"active": "1"})
    assert nurse_client.get("/patients/").status_code == 302
    with Session(gen.engine) as session:
        assert session.get(User, nurse.id).active


def test_a_session_ends_after_30_minutes_idle(client, auth, gen, clock):
    auth.login(gen.user(gen.site()).email)
    for _ in range(4):  # active every 29 minutes: still signed in after 2 hours
        clock.shift(timedelta(minutes=29))
        assert _signed_in(client.get("/patients/"))
    clock.shift(timedelta(minutes=30, seconds=1))
    response = client.get("/patients/")
    assert response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"]).data.decode()
    assert "signed out after 30 minutes without activity" in page


def test_a_session_ends_12_hours_after_signing_in_however_busy(client, auth, gen, clock):
    auth.login(gen.user(gen.site()).email)
    for _ in range(36):  # a request every 20 minutes for 12 hours
        clock.shift(timedelta(minutes=20))
        assert _signed_in(client.get("/patients/"))
    clock.shift(timedelta(seconds=1))
    response = client.get("/patients/")
    assert response.headers["Location"].startswith("/login")
    assert "12 hours after signing in" in client.get(response.headers["Location"]).data.decode()


def test_lifetimes_come_from_the_environment(engine, gen, tmp_path, monkeypatch, clock):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    env = {
        "PRO_INSTANCE_DIR": str(tmp_path),
        "PRO_SESSION_IDLE_MINUTES": "5",
        "PRO_SESSION_MAX_HOURS": "1",
    }
    settings = Settings.from_env(env)
    assert (settings.session_idle_minutes, settings.session_max_hours) == (5, 1)
    app = create_app(
        {"TESTING": True, "SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False}
    )
    client = app.test_client()
    client.post("/login", data={"email": gen.user(gen.site()).email, "password": gen.PASSWORD})
    clock.shift(timedelta(minutes=4))
    assert _signed_in(client.get("/patients/"))
    clock.shift(timedelta(minutes=5, seconds=1))
    assert client.get("/patients/").status_code == 302


@pytest.mark.parametrize("value", ["0", "-5", "half an hour", "1.5"])
def test_a_lifetime_that_is_not_a_whole_number_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="PRO_SESSION_IDLE_MINUTES must be a whole number"):
        Settings.from_env({"PRO_INSTANCE_DIR": str(tmp_path), "PRO_SESSION_IDLE_MINUTES": value})


def test_the_defaults_are_30_minutes_idle_and_12_hours(tmp_path):
    settings = Settings.from_env({"PRO_INSTANCE_DIR": str(tmp_path)})
    assert (settings.session_idle_minutes, settings.session_max_hours) == (30, 12)


def test_a_cookie_without_a_session_version_is_refused(app, client, auth, gen, clock):
    """Sessions made before versions existed (``_user_id`` = the bare id) no longer work."""
    user = gen.user(gen.site())
    auth.login(user.email)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user.id)
    assert client.get("/patients/").status_code == 302
