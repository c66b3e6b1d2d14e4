"""Hostile input ends in a clear 4xx and stores nothing out of range, on both databases.

NUL is what PostgreSQL refuses in text; the other control characters are refused alike.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.clinical_dates import EARLIEST_PROCEDURE_DATE
from pro_app.config import Settings
from pro_app.messaging.links import survey_token
from pro_app.models import ExportJob, Message, Patient, PatientEvent, Procedure, Response, Site
from pro_app.storage import database
from tests.messaging.test_sms_webhooks import BASE, TOKEN, Twilio
from tests.nurse.entry_form import post_entry
from tests.test_enrolment import form_data
from tests.tick_helpers import SECRET, instances

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def pinned(monkeypatch):
    """Every clock the staff and patient pages read shows NOW."""
    for module in (
        "pro_app.enrolment",
        "pro_app.web.patients",
        "pro_app.web.patient_actions",
        "pro_app.web.patient_survey",
    ):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)


@pytest.fixture
def nurse(client, auth, gen, pinned):
    site = gen.site()
    auth.login(gen.user(site).email)
    return site


@pytest.fixture
def twilio(engine, tmp_path, monkeypatch) -> Twilio:
    """Twilio's signed webhooks against an app that knows the auth token."""
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(
        database_url=str(engine.url),
        secret_key=SECRET,
        public_base_url=BASE,
        twilio_auth_token=TOKEN,
    )
    app = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine})
    return Twilio(app.test_client())


def patients(engine) -> list[Patient]:
    with Session(engine) as session:
        return list(session.exec(select(Patient)))


def test_a_control_character_in_the_enrolment_form_is_refused_by_name(client, nurse, gen):
    cases = [("first_name", "\x00"), ("study_id", "\x1b"), ("levels", "\x7f"), ("phone", "\x00")]
    for field, character in cases:
        data = form_data()
        data[field] = data[field][:2] + character + data[field][2:]
        response = client.post("/patients/enrol", data=data)
        assert response.status_code == 400
        assert f"“{field}” contains a control character" in response.text
    assert patients(gen.engine) == []


def test_tabs_and_line_breaks_are_not_control_characters_here(client, nurse, gen):
    enrolled = gen.patient(nurse, now=NOW)
    response = client.post(
        f"/patients/{enrolled.patient.id}/pause", data={"reason": "in hospital\r\nward 7\tbed 2"}
    )
    assert response.status_code == 302
    with Session(gen.engine) as session:
        assert "ward 7\tbed 2" in session.get(Patient, enrolled.patient.id).status_reason


def test_a_control_character_in_a_search_or_filter_is_a_400(client, nurse, gen):
    gen.patient(nurse, now=NOW)
    for query in ["q=Al%00ex", "status=%00", "procedure=kypho%00", "alerts=%01", "q%00=x"]:
        response = client.get(f"/patients/?{query}")
        assert response.status_code == 400
        assert "control character" in response.text
    assert client.get("/audit/?from=2027-01-01%00").status_code in (400, 403)


@pytest.mark.parametrize("extra", ["endpoint=x", "_method=POST", "_external=1", "values=x"])
def test_a_query_parameter_named_like_a_link_builders_own_is_ignored(
    client, nurse, gen, monkeypatch, extra
):
    """The list's links carried every parameter into ``url_for``: ``endpoint=x`` was its
    own argument twice, a 500."""
    monkeypatch.setattr("pro_app.nurse.dashboard.PER_PAGE", 1)  # so there is a next page
    for _ in range(2):
        gen.patient(nurse, now=NOW)
    response = client.get(f"/patients/?status=active&{extra}")
    assert response.status_code == 200
    assert "/patients/?page=2&amp;status=active" in response.text
    assert extra.split("=")[0] not in response.text.split("<main", 1)[1]


def test_any_page_number_shows_a_page(client, nurse, gen):
    enrolled = gen.patient(nurse, now=NOW)
    for page in ["9223372036854775807", "99999999999999999999999", "-3", "x"]:
        response = client.get(f"/patients/?page={page}")
        assert response.status_code == 200
        shown = enrolled.patient.study_id in response.text
        assert shown == (page in ("-3", "x"))  # a huge page is the last (empty) page


def test_an_id_too_large_for_the_database_is_a_404(client, nurse):
    for patient_id in ["2147483648", "9223372036854775808", "1" * 40]:
        assert client.get(f"/patients/{patient_id}").status_code == 404
        pause = client.post(f"/patients/{patient_id}/pause", data={"reason": "x"})
        assert pause.status_code == 404


def test_an_implausible_procedure_date_is_refused_with_the_range(client, nurse, gen):
    latest_day = NOW.date() + timedelta(days=365)
    latest = latest_day.isoformat()
    for value in ["9999-12-31", "0001-01-01", "2099-01-01", "1999-12-31", "2028-01-05"]:
        response = client.post("/patients/enrol", data=form_data(procedure_date=value))
        assert response.status_code == 422
        expected = f"from {EARLIEST_PROCEDURE_DATE:%-d %B %Y} to {latest_day:%-d %B %Y}"
        assert expected in response.text
    assert patients(gen.engine) == []
    ends = [("2000-01-01", "y"), (latest, "")]  # both ends are included
    for number, (value, record_only) in enumerate(ends):  # the first for the record only
        data = form_data(
            procedure_date=value,
            study_id=f"END-{number}",
            phone=f"07400 12345{number}",
            record_only=record_only,
        )
        assert client.post("/patients/enrol", data=data).status_code == 302
    assert len(patients(gen.engine)) == 2


def test_moving_the_procedure_to_an_implausible_date_changes_nothing(client, nurse, gen):
    enrolled = gen.patient(nurse, now=NOW, procedure_date=date(2027, 1, 11))
    path = f"/patients/{enrolled.patient.id}"
    for value in ["9999-12-31", "0001-01-01", "2099-01-01"]:
        response = client.post(f"{path}/procedure-date", data={"procedure_date": value})
        assert response.status_code == 422  # the record again, with what was typed
        assert "Give a procedure date from 1 January 2000" in response.text
        assert f'value="{value}"' in response.text
    with Session(gen.engine) as session:
        assert session.get(Procedure, enrolled.procedure.id).procedure_date == date(2027, 1, 11)


def test_a_time_zone_name_longer_than_any_file_name_is_refused(client, nurse, gen):
    response = client.post("/patients/enrol", data=form_data(timezone="Europe/" + "x" * 400))
    assert response.status_code == 422
    assert "unknown time zone" in response.text


def test_staff_actions_refuse_control_characters_and_keep_nothing(client, nurse, gen):
    enrolled = gen.patient(nurse, now=NOW)
    with Session(gen.engine) as session:
        events_before = len(session.exec(select(PatientEvent)).all())
    for path, data in [
        ("pause", {"reason": "away\x00"}),
        ("stop", {"reason": "other", "note": "\x00"}),
        ("mobile", {"mobile": "07400\x00123456"}),
        (
            "safety-events",
            {"kind": "infection", "grade": "1", "event_date": "2027-01-05", "notes": "fever\x00"},
        ),
    ]:
        response = client.post(f"/patients/{enrolled.patient.id}/{path}", data=data)
        assert response.status_code == 400
    with Session(gen.engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        assert len(session.exec(select(PatientEvent)).all()) == events_before
    assert (patient.status, patient.phone_e164) == ("active", enrolled.patient.phone_e164)


def test_a_survey_answer_with_a_control_character_is_refused_and_not_stored(
    client, gen, tick, pinned
):
    gen.patient(gen.site(), now=NOW - timedelta(hours=1))
    tick(NOW - timedelta(hours=1))
    instance = instances(gen.engine)[0]
    link = f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"
    response = client.post(link, data={"action": "next", "worst": "7\x00", "average": "5"})
    assert response.status_code == 400
    assert "cannot be saved" in response.text
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).first() is None


def test_an_sms_with_control_characters_is_stored_clean(twilio, gen):
    enrolled = gen.patient(gen.site(), now=NOW)
    response = twilio.text(enrolled.patient.phone_e164, "HE\x00LP\x07", sid="SM\x00" + "1" * 30)
    assert response.status_code == 200
    assert "Spine team" in response.text  # read as HELP once cleaned
    with Session(gen.engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == "in")).one()
    assert (inbound.body, inbound.provider_sid) == ("HELP", "SM" + "1" * 30)


def test_a_5000_digit_sms_is_bounded_before_it_is_read(twilio, gen):
    enrolled = gen.patient(gen.site(), now=NOW)
    response = twilio.text(enrolled.patient.phone_e164, "7" * 5000)
    assert response.status_code == 200
    with Session(gen.engine) as session:
        inbound = session.exec(select(Message).where(Message.direction == "in")).one()
    assert inbound.body == "7" * 1600


def test_a_sender_number_with_nul_is_an_unknown_sender(twilio, gen):
    enrolled = gen.patient(gen.site(), now=NOW)
    response = twilio.text(enrolled.patient.phone_e164 + "\x00", "7")
    assert response.status_code == 200
    assert len(twilio.text("\x00" * 50, "STOP").text) > 0


def test_a_status_callback_for_an_impossible_message_id_is_ignored(twilio):
    params = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"}
    response = twilio.post("/sms/status?m=99999999999999999999", params)
    assert response.status_code == 204


def test_a_value_too_long_for_its_column_is_refused_not_a_500(app, client, auth, gen, engine):
    """The site form bounds its fields; behind it, PostgreSQL's refusal of a value too long
    for its column (a form without a length check) is a 400, never a 500."""

    def unbounded_form():
        session = database.session()
        session.add(Site(code="LONG2", name="x" * 300, team_phone="0113 496 0000"))
        session.commit()
        return "stored"

    app.add_url_rule("/unbounded-form", view_func=unbounded_form, methods=["POST"])
    auth.login(gen.user(None, role="admin").email)
    site = {"code": "LONG1", "name": "x" * 300, "team_phone": "0113 496 0000"}
    site |= {"timezone": "Europe/London", "omed_table": "opioids_aware"}
    site |= {"alert_target_hours": "72", "min_cell_count": "5"}
    response = client.post("/admin/sites", data=site)
    assert response.status_code == 422 and "200 characters" in response.text
    with Session(gen.engine) as session:
        assert session.exec(select(Site).where(Site.code == "LONG1")).first() is None
    if engine.dialect.name == "sqlite":
        return  # SQLite stores any length: the safety net is PostgreSQL's
    response = client.post("/unbounded-form")
    assert response.status_code == 400
    assert "longer or larger than the record can hold" in response.text


def test_audit_filters_out_of_any_range_are_answered(client, auth, gen):
    site = gen.site()
    gen.patient(site, now=NOW)
    auth.login(gen.user(site, role="auditor").email)
    query = "from=0001-01-01&to=9999-12-31"
    assert client.get(f"/audit/?{query}").status_code == 200
    assert client.get("/audit/?site=99999999999999999999").status_code == 400
    assert client.get("/audit/?from=99999-01-01").status_code == 400
    backwards = client.get("/audit/export/aggregate.csv?from=2027-02-02&to=2027-01-01")
    assert backwards.status_code == 400
    assert "from must not be after to" in backwards.get_data(as_text=True)


def test_an_export_asked_for_with_a_stray_parameter_is_queued_once(client, auth, gen, engine):
    """``endpoint=x`` made the redirect a 500 after the job was kept: each retry queued
    another."""
    site = gen.site()
    auth.login(gen.user(site, role="auditor").email)
    asked = client.post(
        "/audit/jobs?endpoint=x&procedure=kyphoplasty", data={"level": "patients", "fmt": "xlsx"}
    )
    assert asked.status_code == 303
    assert "endpoint" not in asked.location and "procedure=kyphoplasty" in asked.location
    with Session(engine) as session:
        assert len(session.exec(select(ExportJob)).all()) == 1


HUGE = "1" * 4301  # past the 4,300 digits Python reads as an int at all


def test_numbers_too_long_to_read_are_refused_not_a_server_error(client, auth, gen, tick, pinned):
    """A page, a row, an answer, a day or a site given as thousands of digits."""
    site = gen.site()
    enrolled = gen.patient(site, now=NOW - timedelta(hours=1))
    tick(NOW - timedelta(hours=1))
    survey = instances(gen.engine)[0]
    link = f"/s/{survey_token(SECRET, survey.id, survey.link_version)}"
    assert client.get(f"{link}?page={HUGE}").status_code == 200  # the page it is on
    answer = client.post(link, data={"action": "next", "worst": HUGE, "average": "5", "now": "5"})
    assert answer.status_code == 422 and "Please choose a number from 0 to 10" in answer.text
    removed = client.post(link, data={"action": f"remove-medicines-{HUGE}"})
    assert removed.status_code < 500
    auth.login(gen.user(site).email)
    listed = client.get(f"/patients/?days_from={HUGE}")
    assert listed.status_code == 400 and "days" in listed.text.lower()
    entry = post_entry(
        client,
        f"/patients/{enrolled.patient.id}/surveys/{survey.id}/enter",
        {"pain_nrs.worst": HUGE},
    )
    assert entry.status_code == 422 and "from 0 to 10" in entry.text
    auth.logout()
    auth.login(gen.user(site, role="auditor").email)
    assert client.get(f"/audit/?site={HUGE}").status_code == 400
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).all() == []


def test_a_search_of_any_length_is_answered(client, nurse, gen):
    """SQLite refuses a LIKE pattern of 50,000 characters: the search is cut, and said."""
    gen.patient(nurse, now=NOW, study_id="RFA-77")
    response = client.get("/patients/", query_string={"q": "RFA-77" + "x" * 100_000})
    assert response.status_code == 400
    assert "The search is cut to its first 100 characters." in response.text
    assert client.get("/patients/", query_string={"q": "RFA-77"}).status_code == 200
