"""The dev outbox: texts with working links and segment counts; replying as the patient.

Off unless asked for; even then each member of staff sees and answers for their own
site's patients only.
"""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from pro_app import create_app
from pro_app.config import ConfigError, Settings
from pro_app.models import Patient
from tests.factories import Factory
from tests.tick_helpers import messages

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings):
    """The app of these tests has the dev outbox turned on, as ``pro-app demo`` does."""
    return replace(settings, dev_outbox=True)


def test_outbox_shows_the_real_link_and_segments(client, auth, gen, tick):
    site = gen.site()
    enrolled = gen.patient(site, now=ENROLLED)
    tick(ENROLLED)
    auth.login(gen.user(site).email)
    page = client.get("/dev/outbox").data.decode()
    assert "https://pro.example.test/s/" in page
    assert "{link}" not in page
    assert "2 (GSM-7)" in page or "1 (GSM-7)" in page
    assert enrolled.patient.phone_e164 in page


def test_outbox_lists_only_the_nurses_site(client, auth, gen, tick):
    mine, theirs = gen.site(), gen.site()
    gen.patient(mine, now=ENROLLED)
    other = gen.patient(theirs, now=ENROLLED)
    tick(ENROLLED)
    auth.login(gen.user(mine).email)
    assert other.patient.phone_e164 not in client.get("/dev/outbox").data.decode()


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_only_nurses_see_the_outbox_or_answer_as_a_patient(client, auth, gen, tick, role):
    """It shows names, numbers and live links: auditors see de-identified data only, and
    admins no patient records."""
    site = gen.site()
    enrolled = gen.patient(site, now=ENROLLED)
    tick(ENROLLED)
    auth.login(gen.user(site, role=role).email)
    assert client.get("/dev/outbox").status_code == 403
    reply = {"from": enrolled.patient.phone_e164, "body": "STOP"}
    assert client.post("/dev/reply", data=reply).status_code == 403
    with Session(gen.engine) as session:
        assert not session.get(Patient, enrolled.patient.id).sms_opted_out


def test_replying_as_the_patient_uses_the_inbound_handler(client, auth, gen, tick):
    site = gen.site()
    enrolled = gen.patient(site, now=ENROLLED)
    tick(ENROLLED)
    auth.login(gen.user(site).email)
    response = client.post("/dev/reply", data={"from": enrolled.patient.phone_e164, "body": "STOP"})
    assert response.status_code == 302
    with Session(gen.engine) as session:
        assert session.get(Patient, enrolled.patient.id).sms_opted_out
    assert [m.body for m in messages(gen.engine, direction="in")] == ["STOP"]


def test_outbox_shows_nothing_to_registry_wide_staff(client, auth, gen, tick):
    site = gen.site()
    enrolled = gen.patient(site, now=ENROLLED)
    tick(ENROLLED)
    auth.login(gen.user(None, role="auditor").email)
    response = client.get("/dev/outbox")
    assert response.status_code == 403
    assert enrolled.patient.phone_e164 not in response.text and "/s/" not in response.text


def test_staff_of_another_site_cannot_reply_as_the_patient(client, auth, gen, tick):
    mine, theirs = gen.site(), gen.site()
    other = gen.patient(theirs, now=ENROLLED)
    tick(ENROLLED)
    number = other.patient.phone_e164
    users = [(gen.user(mine), 404), (gen.user(mine, role="auditor"), 403)]
    users.append((gen.user(None, role="admin"), 403))
    for user, refused in users:
        auth.login(user.email)
        response = client.post("/dev/reply", data={"from": number, "body": "STOP"})
        assert response.status_code == refused
        auth.logout()
    with Session(gen.engine) as session:
        assert not session.get(Patient, other.patient.id).sms_opted_out
    assert messages(gen.engine, direction="in") == []


def test_a_number_shared_with_another_site_is_refused(client, auth, gen, tick):
    """STOP opts out every patient with the number, so every one must be this site's."""
    mine, theirs = gen.site(), gen.site()
    here = gen.patient(mine, now=ENROLLED)
    there = gen.patient(theirs, now=ENROLLED, phone=here.patient.phone_e164)
    tick(ENROLLED)
    auth.login(gen.user(mine).email)
    response = client.post("/dev/reply", data={"from": here.patient.phone_e164, "body": "STOP"})
    assert response.status_code == 404
    with Session(gen.engine) as session:
        assert not session.get(Patient, there.patient.id).sms_opted_out


def _outbox_status(engine, nurse_email: str, **fields) -> int:
    """What a site's nurse gets at /dev/outbox from an app with these settings."""
    settings = Settings(
        database_url=str(engine.url),
        secret_key="x",
        public_base_url="https://pro.example.org",
        **fields,
    )
    app = create_app(
        {"TESTING": True, "SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False}
    )
    client = app.test_client()
    client.post("/login", data={"email": nurse_email, "password": Factory.PASSWORD})
    return client.get("/dev/outbox").status_code


def test_no_dev_outbox_unless_asked_for(engine, gen, tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    nurse = gen.user(gen.site()).email
    assert _outbox_status(engine, nurse) == 404
    assert _outbox_status(engine, nurse, dev_outbox=True, sms_backend="twilio") == 404
    assert _outbox_status(engine, nurse, dev_outbox=True) == 200
    production = Settings(
        database_url=str(engine.url),
        secret_key="x",
        public_base_url="https://pro.example.org",
        production=True,
        dev_outbox=True,
    )
    app = create_app({"TESTING": True, "SETTINGS": production, "ENGINE": engine})
    assert "dev.outbox" not in app.view_functions  # not even registered in production


def test_the_outbox_setting_comes_from_the_environment(tmp_path):
    base = {"PRO_INSTANCE_DIR": str(tmp_path)}
    assert not Settings.from_env(base).dev_outbox_enabled
    assert Settings.from_env(base | {"PRO_DEV_OUTBOX": "1"}).dev_outbox_enabled
    production = base | {
        "PRO_ENV": "production",
        "SECRET_KEY": "k" * 32,
        "PUBLIC_BASE_URL": "https://pro.example.org",
        "PRO_DEV_OUTBOX": "1",
    }
    with pytest.raises(ConfigError, match="PRO_DEV_OUTBOX"):
        Settings.from_env(production)
