"""Logs carry no names, phone numbers or live survey links, even when a request fails."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from pro_app import create_app
from pro_app.log_redaction import redact
from pro_app.messaging.links import survey_token
from tests.test_enrolment import form_data
from tests.tick_helpers import SECRET, instances

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
NAME = "Philippa"
NUMBER = "+447400123456"


@pytest.fixture
def live_app(settings, engine, tmp_path, monkeypatch):
    """The app as it runs in production: a failing request is logged, not raised."""
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path / "instance"))
    app = create_app({"SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False})
    assert not app.testing and not app.config["PROPAGATE_EXCEPTIONS"]
    return app


def test_the_logs_of_failing_requests_hold_no_name_number_or_token(
    live_app, gen, tick, engine, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr("pro_app.enrolment.utcnow", lambda: NOW)
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: NOW + timedelta(hours=1))
    site = gen.site()
    gen.patient(site, now=NOW, study_id="RFA-1", first_name=NAME, phone="07400 123456")
    tick(NOW)
    instance = instances(engine)[0]
    token = survey_token(SECRET, instance.id, instance.link_version)
    client = live_app.test_client()
    client.post("/login", data={"email": gen.user(site).email, "password": gen.PASSWORD})

    # A database error whose SQL parameters are the patient's name and number: the check
    # for an enrolled study id is skipped, so the insert itself fails, and the failure is
    # not recognised as that study id's (as a constraint the app does not expect).
    monkeypatch.setattr("pro_app.enrolment._existing", lambda *a, **k: [])
    monkeypatch.setattr("pro_app.enrolment._study_id_taken", lambda exc: False)
    enrol = form_data(study_id="RFA-1", first_name=NAME, phone="07400 123456")
    assert client.post("/patients/enrol", data=enrol).status_code == 500
    # A failure while a live survey link is open.
    monkeypatch.setattr("pro_app.web.patient_survey.survey_pages", lambda *a, **k: 1 / 0)
    assert client.get(f"/s/{token}").status_code == 500
    # Twilio's error about a number, as the delivery worker logs it.
    logging.getLogger("pro_app.scheduling.outbox").warning(
        "cannot reconcile message %s yet: %s", 7, f"The 'To' number {NUMBER} is not valid"
    )

    logged = caplog.text
    assert "Exception on /patients/enrol [POST]" in logged
    assert "IntegrityError" in logged and "SQL parameters hidden" in logged
    assert "Exception on /s/[redacted] [GET]" in logged and "ZeroDivisionError" in logged
    assert "+*********456" in logged
    for secret in (NAME, NUMBER, "7400123456", "7400 123456", token):
        assert secret not in logged


def test_access_log_lines_lose_the_token_and_the_number():
    token = "p3C4ql-4TRGQA28KUZRwDFgBtHAHg3hj"
    werkzeug_line = f'127.0.0.1 - - "GET /s/{token}?lang=cy HTTP/1.1" 200 -'
    assert redact(werkzeug_line) == '127.0.0.1 - - "GET /s/[redacted]?lang=cy HTTP/1.1" 200 -'
    assert redact(f"POST /s/{token} HTTP/1.1") == "POST /s/[redacted] HTTP/1.1"
    assert redact("to 07400 123456 or +44 7400 123456") == "to 0**** ***456 or +** **** ***456"
    assert (
        redact("at 2027-01-04 09:00:00, id 1234567890") == "at 2027-01-04 09:00:00, id 1234567890"
    )


def test_gunicorn_style_access_records_are_redacted(live_app, caplog):
    """gunicorn logs access lines with a dict of fields; the record is redacted as made."""
    caplog.set_level(logging.INFO, logger="gunicorn.access")
    token = "p3C4ql-4TRGQA28KUZRwDFgBtHAHg3hj"
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": f"GET /s/{token} HTTP/1.1", "s": "200"}
    )
    assert caplog.records[-1].getMessage() == '10.0.0.1 "GET /s/[redacted] HTTP/1.1" 200'


def test_engines_hide_sql_parameters(engine):
    assert engine.hide_parameters
