"""Arbitrary text, numbers and dates thrown at every way in: the enrolment form, the
patient's survey, staff actions on a patient and Twilio's signed SMS webhook.

Whatever arrives, no response is a server error and nothing out of range is stored.
Bounded (``max_examples``) so each runs in seconds on each database. Under CI the inputs
are the same on every run, so a red build can be run again; elsewhere each run draws new
ones, to keep looking.
"""

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.clinical_dates import EARLIEST_PROCEDURE_DATE, latest_procedure_date
from pro_app.config import Settings
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.models import (
    FollowUpStatus,
    Message,
    Patient,
    Procedure,
    Response,
    SafetyEvent,
)
from pro_app.plain_text import has_control_characters
from surveys import AnswerError, ItemType, get_instrument, validate_answer
from tests.followup.test_patient_survey import answers_for_page
from tests.messaging.test_sms_webhooks import BASE, TOKEN, Twilio
from tests.test_enrolment import form_data
from tests.tick_helpers import SECRET, instances

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
BOUNDED = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"},
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Anything a browser or a script could send as one field.
hostile_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(date.isoformat),
    st.sampled_from(["", " ", "\x00", "9" * 40, "-1", "2147483648", "null", "<script>", "'--"]),
    st.text(alphabet="0123456789", min_size=300, max_size=5000),
)


def maybe(valid: str):
    """Mostly the valid value (so records do get stored), else a hostile one."""
    return st.integers(0, 3).flatmap(lambda n: hostile_text if n == 0 else st.just(valid))


def clean_text(value) -> bool:
    """No control character anywhere in a stored value."""
    if isinstance(value, str):
        return not has_control_characters(value)
    if isinstance(value, dict):
        return all(clean_text(k) and clean_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(clean_text(v) for v in value)
    return True


@pytest.fixture
def pinned(monkeypatch):
    for module in (
        "pro_app.enrolment",
        "pro_app.web.patients",
        "pro_app.web.patient_actions",
        "pro_app.web.patient_survey",
        "pro_app.web.sms",
    ):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)


@pytest.fixture
def signed_in(client, auth, gen, pinned):
    site = gen.site()
    auth.login(gen.user(site).email)
    return site


def assert_procedures_in_range(engine) -> None:
    with Session(engine) as session:
        dates = [p.procedure_date for p in session.exec(select(Procedure))]
    latest = latest_procedure_date(NOW.date())
    assert all(EARLIEST_PROCEDURE_DATE <= d <= latest for d in dates), dates


def assert_patients_sane(engine) -> None:
    with Session(engine) as session:
        for patient in session.exec(select(Patient)):
            assert 1 <= len(patient.first_name) <= 100 and clean_text(patient.first_name)
            assert patient.phone_e164 is None or (
                patient.phone_e164.startswith("+") and patient.phone_e164[1:].isdigit()
            )
            assert patient.status in {s.value for s in FollowUpStatus}
            assert clean_text(patient.status_reason or "")


@st.composite
def enrolment(draw) -> dict:
    """A valid enrolment with up to three fields replaced by hostile values."""
    data = form_data(
        study_id=draw(st.from_regex(r"[A-Z]{3}-[0-9]{1,6}", fullmatch=True)),
        phone=f"07400 {draw(st.integers(100000, 999999))}",
    )
    for name in draw(st.sets(st.sampled_from(sorted(data)), max_size=3)):
        data[name] = draw(hostile_text)
    return data


@given(data=enrolment())
@BOUNDED
def test_the_enrolment_form_never_fails_and_stores_only_plausible_records(
    client, signed_in, gen, data
):
    response = client.post("/patients/enrol", data=data)
    assert response.status_code < 500, response.text[:300]
    assert_procedures_in_range(gen.engine)
    assert_patients_sane(gen.engine)


@pytest.fixture
def link(gen, tick, pinned) -> str:
    gen.patient(gen.site(), now=NOW - timedelta(hours=1))
    tick(NOW - timedelta(hours=1))
    instance = instances(gen.engine)[0]
    return f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"


def _survey_fields(engine) -> dict[str, list[str]]:
    """Every field name the instance's pages read, with values that could be valid."""
    numbers = [str(n) for n in range(-2, 13)]
    fields = {"action": ["next", "back", "submit", "continue"]}
    for instrument_id in instances(engine)[0].instruments:
        for item in get_instrument(instrument_id).items:
            if item.type == ItemType.MEDICATION_LIST:
                for part, values in (
                    ("drug", ["oxycodone", "morphine", "paracetamol"]),
                    ("strength", ["5", "20", "0", "-1", "1e9"]),
                    ("unit", ["mg", "mcg/h", "ml"]),
                    ("doses", ["1", "2", "0", "99"]),
                    ("pattern", ["regular", "as_needed"]),
                    ("name", ["OxyContin"]),
                ):
                    fields[f"{item.id}-0-{part}"] = values
            else:
                codes = [option.code for option in (item.options or [])]
                fields[item.id] = codes + numbers + ["yes", "no"]
    return fields


def assert_answers_valid(engine) -> None:
    """Every stored answer is one the questionnaire itself accepts."""
    with Session(engine) as session:
        rows = session.exec(select(Response)).all()
    for row in rows:
        instrument = get_instrument(row.instrument_id)
        assert clean_text(row.answers)
        for item_id, value in row.answers.items():
            if instrument.item(item_id).type == ItemType.MEDICATION_LIST:
                continue
            try:
                assert validate_answer(instrument, item_id, value) == value
            except AnswerError as exc:  # pragma: no cover - the failure message
                pytest.fail(f"stored {row.instrument_id}.{item_id}={value!r}: {exc}")


@given(st.data())
@BOUNDED
def test_survey_posts_never_fail_and_store_only_valid_answers(client, gen, link, data):
    fields = _survey_fields(gen.engine)
    form = {"action": "next"}
    for page in survey_pages(instances(gen.engine)[0].instruments):
        form.update(answers_for_page(page))  # a valid answer to every question
    for name in data.draw(st.sets(st.sampled_from(sorted(fields)), max_size=3)):
        form[name] = data.draw(st.one_of(st.sampled_from(fields[name]), hostile_text))
    form.update(data.draw(st.dictionaries(hostile_text, hostile_text, max_size=2)))
    response = client.post(link, data=form)
    assert response.status_code < 500, response.text[:300]
    assert client.get(link).status_code < 500
    assert_answers_valid(gen.engine)


ACTIONS = [
    "pause",
    "resume",
    "stop",
    "restart",
    "mobile",
    "channel",
    "procedure-date",
    "safety-events",
    "alerts/acknowledge",
]
VALID_ACTION_FORM = {
    "reason": "withdrew",
    "note": "spoke to the patient",
    "mobile": "07400 765432",
    "channel": "sms",
    "procedure_date": "2027-01-20",
    "kind": "infection",
    "grade": "2",
    "symptomatic": "",
    "event_date": "2027-01-03",
    "notes": "treated at home",
    "action": "called",
    "confirm": "y",
    "retry_hours": "2",
}


@st.composite
def action_form(draw) -> dict:
    """A valid form for any action with up to two fields hostile (dates: any date)."""
    form = dict(VALID_ACTION_FORM)
    for name in draw(st.sets(st.sampled_from(sorted(form)), max_size=2)):
        if name.endswith("date"):
            form[name] = draw(st.one_of(st.dates().map(date.isoformat), hostile_text))
        else:
            form[name] = draw(hostile_text)
    return form


listing = st.fixed_dictionaries(
    {},
    optional={
        "q": hostile_text,
        "page": hostile_text,
        "status": hostile_text,
        "procedure": hostile_text,
        "alerts": hostile_text,
    },
)


@given(action=st.sampled_from(ACTIONS), form=action_form(), query=listing)
@BOUNDED
def test_staff_actions_on_a_patient_never_fail_and_keep_records_in_range(
    client, signed_in, gen, action, form, query
):
    enrolled = gen.patient(signed_in, now=NOW - timedelta(days=2), procedure_date=date(2027, 1, 2))
    path = f"/patients/{enrolled.patient.id}"
    response = client.post(f"{path}/{action}", data=form)
    assert response.status_code < 500, response.text[:300]
    assert client.get(path).status_code == 200
    assert client.get("/patients/", query_string=query).status_code < 500
    assert_procedures_in_range(gen.engine)
    assert_patients_sane(gen.engine)
    with Session(gen.engine) as session:
        procedures = {p.id: p for p in session.exec(select(Procedure))}
        for event in session.exec(select(SafetyEvent)):
            assert 1 <= event.grade <= 5
            assert procedures[event.procedure_id].procedure_date <= event.event_date <= NOW.date()
            assert clean_text(event.notes or "")


@pytest.fixture
def twilio(engine, tmp_path, monkeypatch, pinned) -> Twilio:
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(
        database_url=str(engine.url),
        secret_key=SECRET,
        public_base_url=BASE,
        twilio_auth_token=TOKEN,
    )
    app = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine})
    return Twilio(app.test_client())


@pytest.fixture
def texting_patient(gen, tick, pinned) -> Patient:
    enrolled = gen.patient(gen.site(), now=NOW - timedelta(hours=1), channel="sms")
    tick(NOW - timedelta(hours=1))
    return enrolled.patient


@given(st.data())
@BOUNDED
def test_the_signed_sms_webhook_never_fails_and_stores_bounded_clean_text(
    twilio, texting_patient, gen, data
):
    params = {
        "MessageSid": data.draw(maybe(f"SM{data.draw(st.uuids()).hex}")),
        "From": data.draw(maybe(texting_patient.phone_e164)),
        "To": data.draw(maybe("+447400000000")),
        "Body": data.draw(
            st.one_of(st.integers(-2, 12).map(str), st.sampled_from(["STOP", "HELP"]), hostile_text)
        ),
    }
    if data.draw(st.booleans()):
        params["OptOutType"] = data.draw(maybe("STOP"))
    response = twilio.post("/sms/inbound", params)
    assert response.status_code == 200, response.text[:300]
    with Session(gen.engine) as session:
        for message in session.exec(select(Message)):
            assert len(message.body) <= 1600 and clean_text(message.body)
            assert len(message.from_number or "") <= 20 and clean_text(message.from_number or "")
            assert clean_text(message.provider_sid or "")
    with Session(gen.engine) as session:
        assert_answers_valid(gen.engine)
