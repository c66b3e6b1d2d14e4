"""The dev outbox: texts with working links and segment counts; replying as the patient."""

from datetime import UTC, datetime

from sqlmodel import Session

from pro_app import create_app
from pro_app.config import Settings
from pro_app.models import Patient
from tests.tick_helpers import messages

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


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


def test_no_dev_outbox_in_production(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(
        database_url=str(engine.url),
        secret_key="x",
        public_base_url="https://pro.example.org",
        production=True,
    )
    app = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine})
    assert "dev.outbox" not in app.view_functions
