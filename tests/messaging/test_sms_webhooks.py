"""Twilio webhooks: signatures, opt-out, idempotency, SMS conversations, status callbacks."""

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from pro_app import create_app
from pro_app.config import Settings
from pro_app.messaging.inbound import record_status
from pro_app.messaging.opt_out import remember_number
from pro_app.models import (
    Alert,
    InstanceStatus,
    Message,
    MessageStatus,
    Patient,
    Response,
)
from pro_app.nurse.actions import correct_mobile
from pro_app.nurse.triage import WITHIN_24H, Outcomes, describe, tier_of
from pro_app.storage.engine import session_scope
from tests.tick_helpers import SECRET, instances, messages

TOKEN = "twilio-auth-token-for-tests"
BASE = "https://pro.example.test"
ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def twilio_client(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(
        database_url=str(engine.url),
        secret_key="test-secret",
        public_base_url=BASE,
        twilio_auth_token=TOKEN,
    )
    app = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine})
    return app.test_client()


class Twilio:
    """Posts to the app as Twilio does, signing against the public URL."""

    def __init__(self, client):
        self.client = client
        self.validator = RequestValidator(TOKEN)
        self.sids = 0

    def post(self, path: str, params: dict, *, sign: bool = True, token: str | None = None):
        signature = RequestValidator(token or TOKEN).compute_signature(BASE + path, params)
        headers = {"X-Twilio-Signature": signature} if sign else {}
        # The request reaches the app on an internal address, as behind a proxy.
        return self.client.post(path, data=params, headers=headers, base_url="http://10.0.0.5:8000")

    def text(self, from_number: str, body: str, sid: str | None = None, **extra):
        self.sids += 1
        params = {
            "MessageSid": sid or f"SM{self.sids:032d}",
            "From": from_number,
            "To": "+447400000000",
            "Body": body,
            **extra,
        }
        return self.post("/sms/inbound", params)


@pytest.fixture
def twilio(twilio_client) -> Twilio:
    return Twilio(twilio_client)


def test_unsigned_or_wrongly_signed_requests_are_refused(twilio, gen):
    patient = gen.patient(gen.site(), now=ENROLLED).patient
    params = {"MessageSid": "SM1", "From": patient.phone_e164, "Body": "STOP"}
    assert twilio.post("/sms/inbound", params, sign=False).status_code == 403
    assert twilio.post("/sms/inbound", params, token="another-token").status_code == 403
    assert twilio.post("/sms/status", {"MessageSid": "SM1"}, sign=False).status_code == 403
    with Session(gen.engine) as session:
        assert not session.get(Patient, patient.id).sms_opted_out
        assert session.exec(select(Message)).first() is None


def test_stop_opts_out_tells_the_nurse_and_cancels_pending_texts(twilio, gen, tick):
    enrolled = gen.patient(gen.site(), now=ENROLLED)
    from pro_app.scheduling.invitations import invite_due

    invite_due(gen.engine, ENROLLED, secret_key="test-secret", worker="t")
    response = twilio.text(enrolled.patient.phone_e164, "Stop. Thank you")
    assert response.status_code == 200
    assert "<Message>" in response.text and "STOP" not in response.text.split("<Message>")[0]
    with Session(gen.engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        alerts = session.exec(select(Alert)).all()
    assert patient.sms_opted_out
    assert [a.kind for a in alerts] == ["opted_out"]
    assert messages(gen.engine, kind="invitation")[0].status == MessageStatus.CANCELLED
    # No further texts go out; the follow-up falls back to the nurse.
    report = tick(ENROLLED + timedelta(days=30))
    assert report.delivery.sent == 0
    assert all(m.kind != "reminder" for m in messages(gen.engine))


def test_a_record_that_takes_on_a_number_that_texted_stop_is_opted_out_until_start(
    twilio, gen, tick
):
    """STOP applies to the number: a patient enrolled on it later (at any site), or a
    record whose mobile is corrected to it, gets no text until the number texts START."""
    number = "+447400123456"
    first = gen.patient(gen.site(), now=ENROLLED, phone="07400 123456").patient
    twilio.text(number, "STOP")
    elsewhere = gen.site()
    enrolled = gen.patient(elsewhere, now=ENROLLED + timedelta(hours=1), phone="07400 123456")
    corrected = gen.patient(elsewhere, now=ENROLLED + timedelta(hours=1)).patient
    with session_scope(gen.engine) as session:
        carried = correct_mobile(
            session,
            session.get(Patient, corrected.id),
            "07400 123456",
            secret_key=SECRET,
            user_id=None,
            now=ENROLLED + timedelta(hours=2),
        ).opted_out_with_number
    assert enrolled.number_opted_out and carried
    report = tick(ENROLLED + timedelta(days=1, hours=2))
    assert report.delivery.sent == 0
    texts = [m for m in messages(gen.engine, direction="out") if m.kind != "reply"]
    assert not [m for m in texts if m.status != "cancelled"]
    ids = (first.id, enrolled.patient.id, corrected.id)
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert.patient_id).where(Alert.kind == "opted_out")).all()
        assert all(session.get(Patient, i).sms_opted_out for i in ids)
    assert sorted(alerts) == sorted(ids)
    twilio.text(number, "START")
    with Session(gen.engine) as session:
        assert not any(session.get(Patient, i).sms_opted_out for i in ids)


def test_the_opt_out_stays_with_the_number_when_a_record_moves_off_it(twilio, gen, tick):
    """A wrong number texted STOP; the patient's mobile is corrected. The patient stays
    opted out (until they text START from the new number), the new number is not opted
    out for others, and the old number still is: a patient enrolled on it gets no text."""
    site = gen.site()
    wrong = "+447400123456"
    patient = gen.patient(site, now=ENROLLED, phone="07400 123456").patient
    twilio.text(wrong, "STOP")
    with session_scope(gen.engine) as session:
        correction = correct_mobile(
            session,
            session.get(Patient, patient.id),
            "07400 555111",
            secret_key=SECRET,
            user_id=None,
            now=ENROLLED,
        )
        assert correction.changed and not correction.opted_out_with_number
    on_new = gen.patient(site, now=ENROLLED, phone="07400 555111")
    on_old = gen.patient(site, now=ENROLLED, phone="07400 123456")
    assert not on_new.number_opted_out and on_old.number_opted_out
    twilio.text("+447400555111", "START")
    with Session(gen.engine) as session:
        assert not session.get(Patient, patient.id).sms_opted_out
        assert session.get(Patient, on_old.patient.id).sms_opted_out


def test_a_stop_from_a_number_no_record_uses_is_kept_for_a_later_enrolment(twilio, gen):
    twilio.text("+447400123456", "STOP")
    assert gen.patient(gen.site(), now=ENROLLED, phone="07400 123456").number_opted_out


def test_the_outbox_refuses_a_patients_text_to_a_number_that_texted_stop(twilio, gen, tick):
    """However the record missed it (a STOP that crossed an enrolment in flight), the
    outbox reads the number's opt-out when it sends."""
    patient = gen.patient(gen.site(), now=ENROLLED, phone="07400 123456").patient
    with session_scope(gen.engine) as session:
        remember_number(session, "+447400123456", True, ENROLLED)
    report = tick(ENROLLED)
    assert report.delivery.sent == 0
    (invitation,) = messages(gen.engine, kind="invitation")
    assert (invitation.status, invitation.last_error) == (
        MessageStatus.CANCELLED,
        "not sent: number opted out of texts",
    )
    with Session(gen.engine) as session:
        assert not session.get(Patient, patient.id).sms_opted_out  # the record missed it


def test_twilio_handled_opt_out_gets_no_second_confirmation(twilio, gen):
    enrolled = gen.patient(gen.site(), now=ENROLLED)
    response = twilio.text(enrolled.patient.phone_e164, "STOP", OptOutType="STOP")
    assert "<Message>" not in response.text
    with Session(gen.engine) as session:
        assert session.get(Patient, enrolled.patient.id).sms_opted_out


def test_start_opts_back_in_and_help_gives_the_team(twilio, gen):
    site = gen.site(team_phone="0113 496 0123")
    enrolled = gen.patient(site, now=ENROLLED)
    twilio.text(enrolled.patient.phone_e164, "please stop texting me")
    twilio.text(enrolled.patient.phone_e164, "START")
    with Session(gen.engine) as session:
        assert not session.get(Patient, enrolled.patient.id).sms_opted_out
    assert "0113 496 0123" in twilio.text(enrolled.patient.phone_e164, "HELP").text


@pytest.mark.parametrize("opt_out_type", [None, "HELP"])
def test_a_plea_for_help_reaches_a_nurse_and_the_keyword_alone_does_not(twilio, gen, opt_out_type):
    """ "I need help" got the help text, which says replies are not read straight away,
    whether or not Twilio had taken it for its HELP keyword; a nurse never saw it."""
    site = gen.site(team_phone="0113 496 0123")
    number = gen.patient(site, now=ENROLLED).patient.phone_e164
    extra = {"OptOutType": opt_out_type} if opt_out_type else {}
    bare = twilio.text(number, "HELP", **extra).text
    assert "passed what you wrote on" not in bare
    with Session(gen.engine) as session:
        assert session.exec(select(Alert)).all() == []
    plea = twilio.text(number, "I need help, can someone call me", **extra).text
    assert "passed what you wrote on" in plea and "0113 496 0123" in plea
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
    assert [(a.kind, a.urgency) for a in alerts] == [("words_in_reply", "24h")]


def test_a_repeated_webhook_changes_nothing_and_gets_the_same_answer(twilio, gen):
    """Twilio asks again only when our first answer did not reach it (a timeout): the
    patient had no reply, so the retry gets the one kept, and nothing more is stored."""
    enrolled = gen.patient(gen.site(), now=ENROLLED)
    first = twilio.text(enrolled.patient.phone_e164, "help", sid="SM" + "7" * 32)
    again = twilio.text(enrolled.patient.phone_e164, "help", sid="SM" + "7" * 32)
    assert "<Message>" in first.text and again.text == first.text
    assert len(messages(gen.engine, direction="in")) == 1
    assert len(messages(gen.engine, direction="out")) == 1


def test_a_repeated_answer_or_stop_is_undone_and_changes_nothing(twilio, gen, tick):
    """A retried text is handled again, then found kept already: all it did is undone."""
    enrolled = gen.patient(
        gen.site(), now=ENROLLED, channel="sms", procedure_date=date(2027, 1, 11)
    )
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    assert "Question 2 of 5" in twilio.text(number, "7", sid="SM" + "1" * 32).text
    with Session(gen.engine) as session:
        before = session.exec(select(Response)).all()
        progress = session.exec(select(Message)).all()
    again = twilio.text(number, "3", sid="SM" + "1" * 32)  # the retry (a body it never had)
    assert again.status_code == 200 and "Question 2 of 5" in again.text  # the reply kept
    with Session(gen.engine) as session:
        assert [r.answers for r in session.exec(select(Response))] == [r.answers for r in before]
        assert len(session.exec(select(Message)).all()) == len(progress)
    assert "Question 3 of 5" in twilio.text(number, "6").text  # the conversation goes on
    twilio.text(number, "STOP", sid="SM" + "2" * 32)
    twilio.text(number, "START")
    again = twilio.text(number, "STOP", sid="SM" + "2" * 32)
    assert "<Message>" not in again.text
    with Session(gen.engine) as session:
        assert not session.get(Patient, enrolled.patient.id).sms_opted_out
    assert len(messages(gen.engine, direction="in")) == 4


def test_an_unknown_number_is_stored_and_answered_politely(twilio, gen):
    gen.patient(gen.site(), now=ENROLLED)
    response = twilio.text("+447400999999", "7")
    assert "<Message>" in response.text
    stored = messages(gen.engine, direction="in")
    assert [(m.patient_id, m.body) for m in stored] == [(None, "7")]
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).first() is None


def test_sms_conversation_asks_one_question_per_text(twilio, gen, tick):
    enrolled = gen.patient(
        gen.site(), now=ENROLLED, channel="sms", procedure_date=date(2027, 1, 11)
    )
    tick(ENROLLED)
    first = messages(gen.engine, kind="question")
    assert len(first) == 1 and "Question 1 of 5" in first[0].body and "{link}" not in first[0].body
    assert first[0].body.endswith("\nReply STOP to stop these texts.")  # as a link's first text
    number = enrolled.patient.phone_e164
    assert "Question 2 of 5" in twilio.text(number, "7").text
    unreadable = twilio.text(number, "stop the pain? eleven").text
    assert "number from 0" in unreadable  # asked again, and told a nurse will read it
    assert "passed what you wrote on" in unreadable
    # At baseline (before the treatment) the change in pain medicine is not asked.
    replies = [twilio.text(number, body).text for body in ("6", "5", "3", "8")]
    assert "0 for none" in replies[1] and "yes" not in replies[1].lower()
    assert "Call the team now" in replies[2]  # "3", new numbness, is a red flag
    assert "999" in replies[2]
    assert "Thank you" in replies[-1]
    with Session(gen.engine) as session:
        rows = session.exec(select(Response).order_by(Response.id)).all()
        alerts = session.exec(select(Alert)).all()
    current = {r.instrument_id: r for r in rows if r.id not in {x.supersedes_id for x in rows}}
    assert current["pain_nrs"].answers == {"worst": 7, "average": 6, "now": 5}
    assert current["pain_nrs"].channel == "sms"
    flags = current["red_flags"].answers
    assert len(flags) == 9 and [k for k, v in flags.items() if v] == ["numbness"]
    assert current["qol_overall"].answers == {"overall": 8}
    assert "analgesic_use" not in current
    # "stop the pain? eleven" says more than a number: a nurse reads it the same day.
    assert [(a.kind, a.urgency) for a in alerts] == [
        ("words_in_reply", "24h"),
        ("red_flag", "now"),
    ]
    assert instances(gen.engine)[0].status == InstanceStatus.COMPLETED


def test_unreadable_replies_are_asked_again_twice_then_left_for_the_nurse(twilio, gen, tick):
    gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = messages(gen.engine, kind="question")[0].to_number
    assert "number from 0 to 10" in twilio.text(number, "a bit sore").text
    assert "number from 0 to 10" in twilio.text(number, "11").text
    third = twilio.text(number, "not sure").text
    assert "we have asked" in third and "to contact you" in third  # told, once
    assert "<Message>" not in twilio.text(number, "hmm").text
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
    assert [(a.kind, a.urgency) for a in alerts] == [("unreadable_reply", "routine")]


def _at_the_warning_signs(twilio, gen, tick) -> str:
    """A texted patient who has answered the three pain questions; their number."""
    enrolled = gen.patient(
        gen.site(), now=ENROLLED, channel="sms", procedure_date=date(2027, 1, 11)
    )
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    for body in ("7", "6", "5"):
        twilio.text(number, body)
    return number


def test_a_none_that_describes_a_warning_sign_is_asked_again_with_whom_to_call(twilio, gen, tick):
    """At the warning signs, "no but my legs have gone weak" is not taken for "none":
    every unreadable reply says whom to call now, the first alerts the nurse (once, within
    24 hours), and a later "yes" still gets the call-now advice."""
    number = _at_the_warning_signs(twilio, gen, tick)
    first = twilio.text(number, "No but my legs have gone weak since yesterday").text
    with Session(gen.engine) as session:
        alerted_at_once = [(a.kind, a.urgency) for a in session.exec(select(Alert))]
    assert alerted_at_once == [("unreadable_reply", "24h")]
    replies = [first] + [twilio.text(number, body).text for body in ("legs weak", "??", "yes")]
    assert all("999" in reply and "now on" in reply for reply in replies), replies
    assert "0 for none" in replies[0]
    assert "we have asked" in replies[2] and "we have asked" in replies[3]
    with Session(gen.engine) as session:
        flags = [r for r in session.exec(select(Response)) if r.instrument_id == "red_flags"]
        alerts = session.exec(select(Alert)).all()
    assert flags == []  # nothing stored as "none"
    assert [(a.kind, a.urgency) for a in alerts] == [("unreadable_reply", "24h")]
    assert "warning signs" in alerts[0].summary


def test_words_beside_or_instead_of_a_texted_answer_reach_a_nurse_the_same_day(twilio, gen, tick):
    """The web form takes no words; a text can. "8 help my legs are weak" is the answer 8
    and words a nurse must read; "I want to end it all" is no answer and must not wait
    for three unreadable replies. Politeness beside an answer alerts no one. While a
    nurse is due to read the texts, more words are read with them; once she has
    acknowledged, the next words raise a new alert."""
    enrolled = gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    first = twilio.text(number, "8 help my legs are weak").text
    assert "passed what you wrote on" in first and "999" in first
    assert "Question 2 of 5" in first  # the answer is kept and the next question asked
    second = twilio.text(number, "About a 7 thanks x").text
    assert "passed what you wrote on" not in second and "Question 3 of 5" in second
    third = twilio.text(number, "I want to end it all").text
    assert "passed what you wrote on" in third and "number from 0 to 10" in third
    with Session(gen.engine) as session:
        pain = session.exec(
            select(Response).where(Response.instrument_id == "pain_nrs").order_by(Response.id)
        ).all()
        alerts = session.exec(select(Alert).order_by(Alert.id)).all()
    assert pain[-1].answers == {"worst": 8, "average": 7}
    assert [(a.kind, a.urgency) for a in alerts] == [("words_in_reply", "24h")]
    assert tier_of(alerts[0]) == WITHIN_24H  # listed with the 24-hour red flags
    assert describe(alerts[0], Outcomes()) == "Texted words: read them, call"
    assert "legs" not in alerts[0].summary  # the words are read in the message trail
    with session_scope(gen.engine) as session:
        session.get(Alert, alerts[0].id).acknowledged_at = ENROLLED + timedelta(hours=1)
    again = twilio.text(number, "i want to end it all").text
    assert "passed what you wrote on" in again and "number from 0 to 10" in again
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert).order_by(Alert.id)).all()
    assert [(a.kind, a.acknowledged_at is None) for a in alerts] == [
        ("words_in_reply", False),
        ("words_in_reply", True),
    ]


@pytest.mark.parametrize("body", ["6 numb", "7 suicidal", "9 help", "8, make it stop"])
def test_one_word_about_a_warning_sign_or_distress_beside_an_answer_reaches_a_nurse(
    twilio, gen, tick, body
):
    enrolled = gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    assert "passed what you wrote on" not in twilio.text(number, "7 Jean").text  # a sign-off
    assert "passed what you wrote on" in twilio.text(number, body).text
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
        answers = session.exec(select(Response).where(Response.is_current)).one().answers
    assert [(a.kind, a.urgency) for a in alerts] == [("words_in_reply", "24h")]
    assert len(answers) == 2  # the number beside the words is the answer


def test_a_signature_on_every_text_is_neither_unreadable_nor_words_for_a_nurse(twilio, gen, tick):
    """A phone that adds "John Smith 07700 900123" to every text made each reply
    unreadable (its digits); counted as words, it would have a nurse read every reply."""
    enrolled = gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    for score in (7, 6, 5):
        reply = twilio.text(number, f"{score}\nJohn Smith 07700 900123\nSent from my iPhone")
        assert "passed what you wrote on" not in reply.text
    with Session(gen.engine) as session:
        pain = session.exec(select(Response).where(Response.is_current)).one()
        assert session.exec(select(Alert)).all() == []
    assert pain.answers == {"worst": 7, "average": 6, "now": 5}


@pytest.mark.parametrize("reply", ["No pain at all, thanks", "none", "Nil"])
def test_the_end_of_a_scale_in_the_questions_own_words_is_its_number(twilio, gen, tick, reply):
    """The question says "0 (No pain)"; "No pain at all, thanks", "none" or "nil" was
    asked again, twice, then passed to a nurse as unreadable."""
    enrolled = gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    assert "Question 2 of 5" in twilio.text(number, reply).text
    with Session(gen.engine) as session:
        pain = session.exec(select(Response).where(Response.is_current)).one()
        assert session.exec(select(Alert)).all() == []
    assert pain.answers == {"worst": 0}


def test_a_correction_of_the_last_answer_is_not_saved_as_the_next_one(twilio, gen, tick):
    """ "Sorry, I meant 8", sent after the worst pain was saved as 7, was saved as the
    average pain: the first answer stayed wrong and the second was one never given."""
    enrolled = gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    twilio.text(number, "7")
    again = twilio.text(number, "Sorry, I meant 8").text
    assert "passed what you wrote on" in again and "number from 0 to 10" in again
    with Session(gen.engine) as session:
        pain = session.exec(select(Response).where(Response.is_current)).one()
        alerts = session.exec(select(Alert)).all()
    assert pain.answers == {"worst": 7}  # for the nurse to correct; nothing put on average
    assert [(a.kind, a.urgency) for a in alerts] == [("words_in_reply", "24h")]


def test_words_after_the_last_unreadable_reply_still_reach_a_nurse_the_same_day(twilio, gen, tick):
    """After three unreadable replies the question is left for the nurse (a routine
    alert); words that come later were not read any sooner, and got no reply at all."""
    enrolled = gen.patient(gen.site(), now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    for body in ("??", "?", "eh"):
        twilio.text(number, body)
    late = twilio.text(number, "I want to end it all, my legs have gone weak").text
    assert "passed what you wrote on" in late and "999" in late
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert).order_by(Alert.id)).all()
    assert [(a.kind, a.urgency) for a in alerts] == [
        ("unreadable_reply", "routine"),
        ("words_in_reply", "24h"),
    ]


def test_help_with_a_warning_sign_is_not_passed_over_and_a_range_names_every_sign(
    twilio, gen, tick
):
    """At the warning signs, "help my legs have gone weak" gets whom to call now (not the
    general help text), and "6-8" ticks 6, 7 and 8: the middle one is never a "no"."""
    number = _at_the_warning_signs(twilio, gen, tick)
    asked_again = twilio.text(number, "help my legs have gone weak").text
    assert "999" in asked_again and "now on" in asked_again
    twilio.text(number, "6-8")
    with Session(gen.engine) as session:
        flags = [r for r in session.exec(select(Response)) if r.instrument_id == "red_flags"]
        raised = session.exec(select(Alert).where(Alert.kind == "red_flag")).all()
    ticked = [item for item, answer in flags[0].answers.items() if answer in (True, "yes")]
    assert len(ticked) == 3 and len(raised) == 3, (ticked, [a.summary for a in raised])


def test_status_callbacks_are_recorded_once_and_never_move_back(twilio, gen, tick):
    from tests.tick_helpers import RecordingChannel

    gen.patient(gen.site(), now=ENROLLED)
    tick(ENROLLED, RecordingChannel())
    sid = messages(gen.engine)[0].provider_sid
    for status in ("sent", "delivered", "delivered", "sent"):
        assert (
            twilio.post("/sms/status", {"MessageSid": sid, "MessageStatus": status}).status_code
            == 204
        )
    message = messages(gen.engine)[0]
    assert message.status == MessageStatus.DELIVERED and message.delivered_at is not None


def test_an_undeliverable_number_stops_texts_and_alerts(twilio, gen, tick):
    from tests.tick_helpers import RecordingChannel

    enrolled = gen.patient(gen.site(), now=ENROLLED)
    tick(ENROLLED, RecordingChannel())
    sid = messages(gen.engine)[0].provider_sid
    twilio.post(
        "/sms/status", {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    )
    with Session(gen.engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        alerts = session.exec(select(Alert)).all()
    assert patient.phone_problem and "30006" in patient.phone_problem
    assert [a.kind for a in alerts] == ["delivery_failure"]
    assert messages(gen.engine)[0].status == MessageStatus.FAILED


def test_a_callback_settles_a_send_whose_answer_was_lost(gen):
    gen.patient(gen.site(), now=ENROLLED)
    from pro_app.scheduling.invitations import invite_due

    invite_due(gen.engine, ENROLLED, secret_key="test-secret", worker="t")
    with session_scope(gen.engine) as session:
        message = session.exec(select(Message)).one()
        message.status = MessageStatus.UNKNOWN
        message_id = message.id
    with session_scope(gen.engine) as session:
        record_status(
            session,
            sid="SM" + "9" * 32,
            status="delivered",
            error_code=None,
            message_id=message_id,
            now=ENROLLED,
        )
    settled = messages(gen.engine)[0]
    assert (settled.status, settled.provider_sid) == (MessageStatus.DELIVERED, "SM" + "9" * 32)


def test_yes_marked_as_an_opt_in_by_twilio_is_a_reply_from_a_patient_who_never_opted_out(
    twilio, gen, tick
):
    site = gen.site(team_phone="0113 496 0123")
    enrolled = gen.patient(site, now=ENROLLED, channel="sms")
    tick(ENROLLED)
    number = enrolled.patient.phone_e164
    for body in ("7", "6", "5"):
        twilio.text(number, body)
    which = twilio.text(number, "YES", OptOutType="START").text
    assert "get texts from" not in which  # not read as START
    assert "numbers from 1 to 9" in which and "0113 496 0123" in which and "999" in which
    assert "Call the team now" in twilio.text(number, "1 and 3").text
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
        assert not session.get(Patient, enrolled.patient.id).sms_opted_out
    # "Yes" to the warning signs alerts the nurse at once (it names none), then each
    # sign named raises its own.
    assert sorted((a.kind, a.urgency) for a in alerts) == [
        ("red_flag", "now"),
        ("red_flag", "now"),
        ("unreadable_reply", "24h"),
    ]
    texts = messages(gen.engine, direction="out")
    assert all("reply yes" not in m.body.lower() for m in texts)


def test_a_reply_from_a_number_two_patients_use_asks_to_call_and_alerts_both(twilio, gen, tick):
    """Both have a survey open, so the answer cannot be placed: it is not lost in silence."""
    site = gen.site()
    first = gen.patient(site, now=ENROLLED, channel="sms", phone="07400 111222").patient
    second = gen.patient(site, now=ENROLLED, channel="sms", phone="07400 111222").patient
    tick(ENROLLED)
    reply = twilio.text(first.phone_e164, "9").text
    assert "more than one patient" in reply and site.team_phone in reply and "999" in reply
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert).order_by(Alert.patient_id)).all()
        assert session.exec(select(Response)).first() is None
    assert [(a.patient_id, a.kind, a.urgency) for a in alerts] == [
        (first.id, "unmatched_reply", "24h"),
        (second.id, "unmatched_reply", "24h"),
    ]
    assert "another patient" in alerts[0].summary


def test_a_shared_number_reply_goes_to_the_one_survey_answered_by_text(twilio, gen, tick):
    """A answers by text, B by web link, on one phone: a texted reply can only be A's (a
    link survey takes no texted answer), so a warning sign in it is not left unplaced."""
    site = gen.site(on_call_phone="+447400900001")
    by_text = gen.patient(site, now=ENROLLED, channel="sms", phone="07400 111222").patient
    by_link = gen.patient(site, now=ENROLLED, channel="link", phone="07400 111222").patient
    tick(ENROLLED)
    for body in ("7", "6", "5"):
        twilio.text(by_text.phone_e164, body)
    advice = twilio.text(by_text.phone_e164, "1").text  # new weakness: call now
    assert "more than one patient" not in advice and "999" in advice
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
        answered = {r.instance_id for r in session.exec(select(Response))}
    assert [(a.patient_id, a.kind, a.urgency) for a in alerts] == [(by_text.id, "red_flag", "now")]
    assert {i.id for i in instances(gen.engine, by_link.id)}.isdisjoint(answered)


def test_after_stop_nothing_is_texted_back(twilio, gen, tick):
    """STOP applies to the number: a later answer is kept, but no question follows it."""
    patient = gen.patient(gen.site(), now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    assert "<Message>" in twilio.text(patient.phone_e164, "STOP").text
    for body in ("5", "6", "HELP"):
        assert "<Message>" not in twilio.text(patient.phone_e164, body).text
    with Session(gen.engine) as session:
        saved = session.exec(select(Response).order_by(Response.id)).all()
        replies = session.exec(select(Message).where(Message.kind == "reply")).all()
    assert [r.answers for r in saved] == [{"worst": 5}, {"worst": 5, "average": 6}]
    assert len(replies) == 1  # the answer to STOP only


def test_start_after_stop_asks_the_waiting_question_again(twilio, gen, tick):
    """Back in after STOP, the patient is sent the question their survey waits on (the one
    a patient who never stopped got after the same answer), so "yes" or "3" answers it."""
    site = gen.site()
    stopped = gen.patient(site, now=ENROLLED, channel="sms").patient
    stayed = gen.patient(site, now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    twilio.text(stopped.phone_e164, "STOP")
    assert "<Message>" not in twilio.text(stopped.phone_e164, "5").text  # kept, no reply
    next_question = re.findall(
        r"<Message>(.*?)</Message>", twilio.text(stayed.phone_e164, "5").text
    )
    back = re.findall(r"<Message>(.*?)</Message>", twilio.text(stopped.phone_e164, "START").text)
    assert len(back) == 2 and "again" in back[0]
    assert back[1] == next_question[-1]


def test_a_yes_with_nothing_to_answer_from_a_number_never_opted_out_says_who_texts(
    twilio, gen, tick
):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED).patient  # answers by link: no question is out
    reply = twilio.text(patient.phone_e164, "Yes").text
    assert site.team_phone in reply and "again" not in reply
    twilio.text(patient.phone_e164, "STOP")
    assert "again" in twilio.text(patient.phone_e164, "START").text  # opted out: back in


def test_two_replies_arriving_together_are_both_kept_and_answered_in_turn(
    gen, tick, twilio_client, clock, monkeypatch
):
    """A phone back in signal sends two replies at once. Each request keeps its text (a
    row pointing at the survey) before saving the answer under the survey's lock: the
    keeping must not stop the other's lock being granted, or PostgreSQL ends one of them
    as a deadlock and that text, a warning sign perhaps, is lost."""
    if gen.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes its write lock at BEGIN, so the two queue before keeping")
    from pro_app.messaging import inbound

    patient = gen.patient(gen.site(), now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    clock.move_to(ENROLLED + timedelta(minutes=10))
    both_kept = threading.Barrier(2, timeout=10)
    insert_ignore, seen = inbound.insert_ignore, set()

    def keep_then_wait_for_the_other(session, *args, **kwargs):
        kept = insert_ignore(session, *args, **kwargs)
        if threading.get_ident() not in seen:  # the text itself, the first row written
            seen.add(threading.get_ident())
            session.flush()
            both_kept.wait()  # each has kept its text: both hold a key-share lock
        return kept

    monkeypatch.setattr(inbound, "insert_ignore", keep_then_wait_for_the_other)
    outcomes = []

    def reply(body: str, sid: str) -> None:
        client = twilio_client.application.test_client()
        try:
            outcomes.append(Twilio(client).text(patient.phone_e164, body, sid=sid).status_code)
        except Exception as error:  # noqa: BLE001 - reported below
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=reply, args=(b, f"SMtogether{b}")) for b in ("7", "6")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [200, 200]
    with Session(gen.engine) as session:
        kept = session.exec(select(Message.body).where(Message.kind == "inbound")).all()
        pain = session.exec(
            select(Response.answers).where(
                Response.instrument_id == "pain_nrs", Response.is_current
            )
        ).one()
    assert sorted(kept) == ["6", "7"]
    assert sorted([pain["worst"], pain["average"]]) == [6, 7]  # one question each, in turn
