"""The demo cohort, seeded through the real code paths, works end to end for each role."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.audit.command import export_pass_for_app
from pro_app.config import Settings
from pro_app.demo.seed import LOGINS, prepare_settings, seed
from pro_app.models import Alert, Patient, Response, SafetyEvent

# Seeded at 08:00 UTC, before the demo's 09:30 morning round: the last patient, due to be
# enrolled today, must still be enrolled.
SEEDED_AT = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, sqlite_template):
    """One seeded demo database for the module (seeding replays a year: about 20 s)."""
    folder = tmp_path_factory.mktemp("demo")
    engine = sqlite_template.fresh(folder)
    settings = Settings(
        database_url=str(engine.url), secret_key="demo-test", export_dir=str(folder / "exports")
    )
    said: list[str] = []
    with time_machine.travel(SEEDED_AT, tick=False):
        seed(engine, settings, now=SEEDED_AT, echo=said.append)
    assert said[-1].startswith("Seeded 30 patients")
    app = create_app({"SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False})
    yield app, engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _an_hour_after_seeding(clock):
    clock.move_to(SEEDED_AT + timedelta(hours=1))


def test_every_planned_patient_is_enrolled_whatever_the_hour(demo):
    _app, engine = demo
    with Session(engine) as session:
        assert len(session.exec(select(Patient)).all()) == 30


def login(client, role: str) -> None:
    _, email, _, password, _ = next(login for login in LOGINS if login[0] == role)
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302


def test_the_nurse_sees_red_flags_first_and_a_drawn_trajectory(demo):
    app, engine = demo
    client = app.test_client()
    login(client, "nurse")
    listing = client.get("/patients/").text
    with Session(engine) as session:
        flagged = session.exec(
            select(Alert).where(Alert.kind == "red_flag", Alert.acknowledged_at.is_(None))
        ).first()
    assert flagged is not None
    first_link = re.search(r'href="/patients/(\d+)"', listing).group(1)
    assert int(first_link) == flagged.patient_id
    page = client.get(f"/patients/{flagged.patient_id}").text
    pain = json.loads(re.search(r'id="fig-pain-data">(.*?)</script>', page).group(1))
    worst = next(trace for trace in pain["data"] if trace["name"] == "Worst pain")
    assert len(worst["y"]) >= 2 and all(0 <= value <= 10 for value in worst["y"])
    assert any(trace["name"].endswith("median") for trace in pain["data"])


def test_the_auditor_sees_outcomes_safety_events_and_exports(demo):
    app, engine = demo
    client = app.test_client()
    login(client, "auditor")
    page = client.get("/audit/").text
    with Session(engine) as session:
        events = session.exec(select(SafetyEvent)).all()
    assert events and "Cement leakage" in page and "week4" in page
    queued = client.post("/audit/jobs", data={"level": "patients", "fmt": "fhir"})
    assert queued.status_code == 303
    assert export_pass_for_app(app)() == 1  # the worker the demo runs beside the server
    listing = client.get("/audit/jobs").text
    link = re.search(r'href="(/audit/jobs/\d+/download)"', listing).group(1)
    bundle = json.loads(client.get(link).data)
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) > 100
    csv_text = client.get("/audit/export/aggregate.csv").text
    assert csv_text.startswith("section,row,column,value")


def test_the_demo_turns_the_dev_outbox_on_for_its_site_staff(demo, monkeypatch):
    app, engine = demo
    plain = app.test_client()
    login(plain, "nurse")
    assert plain.get("/dev/outbox").status_code == 404  # off unless asked for
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    settings = replace(app.extensions["pro_settings"])
    prepare_settings(settings, "127.0.0.1", 5050)
    served = create_app(
        {"SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False, "TESTING": True}
    )
    client = served.test_client()
    login(client, "nurse")
    page = client.get("/dev/outbox").text
    assert "http://127.0.0.1:5050/s/" in page  # live links for the demo site's patients


def test_a_demo_served_on_every_interface_links_to_this_machines_address(monkeypatch):
    """``make demo HOST=0.0.0.0``: the outbox's links must open on a phone on the network."""
    from pro_app.demo import seed as demo_seed

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr(demo_seed, "network_address", lambda: "192.168.1.23")
    settings = Settings(database_url="sqlite://", secret_key="k")
    prepare_settings(settings, "0.0.0.0", 5000)
    assert settings.public_base_url == "http://192.168.1.23:5000"
    prepare_settings(settings, "::", 5000)
    assert settings.public_base_url == "http://192.168.1.23:5000"
    prepare_settings(settings, "fe80::1", 5000)
    assert settings.public_base_url == "http://[fe80::1]:5000"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://demo.example.org")
    settings.public_base_url = "https://demo.example.org"
    prepare_settings(settings, "0.0.0.0", 5000)
    assert settings.public_base_url == "https://demo.example.org"


def test_this_machines_address_is_one_others_can_reach():
    from pro_app.demo.seed import network_address

    address = network_address()
    assert address not in ("0.0.0.0", "")


def test_every_demo_medicine_says_regularly_or_when_needed(demo):
    """As the form asks of every medicine: the record never shows a blank for it."""
    _app, engine = demo
    with Session(engine) as session:
        answers = session.exec(
            select(Response.answers).where(Response.instrument_id == "analgesic_use")
        ).all()
    medicines = [medicine for answer in answers for medicine in answer.get("medicines", [])]
    assert medicines
    assert {medicine.get("pattern") for medicine in medicines} == {"regular", "as_needed"}
