"""A text conversation left part way, and bad input to the SMS webhook."""

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from notifications import templates
from notifications.templates import find_clinical_words
from pro_app.audit.outcomes import OutcomeAccumulator
from pro_app.audit.timelines import AuditFilters, timelines
from pro_app.followup.conversation import answer_text, opening_text
from pro_app.followup.instruments import sms_questions
from pro_app.messaging.inbound import handle_inbound
from pro_app.models import Alert, InstanceStatus, Message, Response, SurveyInstance
from pro_app.storage.engine import session_scope
from tests.messaging.test_sms_webhooks import twilio, twilio_client  # noqa: F401 (fixtures)
from tests.tick_helpers import instances, messages

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def _text(engine, number: str, body: str, sid: str, at: datetime) -> list[str]:
    with session_scope(engine) as session:
        return handle_inbound(
            session,
            sid=sid,
            from_number=number,
            to_number="+447400000000",
            body=body,
            opt_out_type=None,
            now=at,
            answer_text=answer_text,
        )


def test_a_conversation_left_part_way_stays_partly_answered(gen, tick, clock, client, auth):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    at = ENROLLED + timedelta(minutes=10)
    for n, body in enumerate(("7", "6", "5")):  # the three pain scores, then silence
        _text(gen.engine, patient.phone_e164, body, f"SMp{n}", at)
    baseline = instances(gen.engine, patient.id)[0]
    assert baseline.status == InstanceStatus.IN_PROGRESS and baseline.completed_at is None

    # The nurse's page lists what is still missing.
    clock.move_to(at)
    auth.login(gen.user(site).email)
    page = client.get(f"/patients/{patient.id}").text
    assert "Partly answered by text" in page
    assert "Do you have NEW weakness or heaviness in your legs or arms?" in page
    assert "Overall, how would you rate your quality of life" in page
    assert "what was your WORST pain" not in page.split("Not yet answered")[1].split("</ul>")[0]

    # Reminders go on while the window is open, naming the question waiting (not its words),
    # the text to answer and the reply it takes: a pain score meant for another question
    # must not be read as the warning signs' "0 for none" or "6".
    tick(baseline.next_reminder_at + timedelta(minutes=1))
    reminder = messages(gen.engine, kind="reminder")
    assert len(reminder) == 1 and "question 4 of 5" in reminder[0].body
    assert 'reply to our text with "Question 4 of 5" in it' in reminder[0].body
    assert "with the numbers of any that are new, or 0 for none" in reminder[0].body
    assert "last text" not in reminder[0].body
    assert find_clinical_words(reminder[0].body.replace(site.name, "")) == []  # bar the team's

    # After the window closes the audit counts it as partly answered, not answered.
    closed = baseline.closes_at + timedelta(hours=1)
    tick(closed)
    with Session(gen.engine) as session:
        accumulator = OutcomeAccumulator(closed)
        for timeline in timelines(session, AuditFilters(), closed):
            accumulator.add(timeline)
    report = {o.timepoint: o for o in accumulator.report().timepoints}
    assert (report["baseline"].answered, report["baseline"].partly_answered) == (0, 1)
    assert instances(gen.engine, patient.id)[0].status == InstanceStatus.EXPIRED


def test_finishing_the_conversation_completes_it_and_stops_the_reminders(gen, tick):
    patient = gen.patient(gen.site(), now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    at = ENROLLED + timedelta(minutes=10)
    for n, body in enumerate(("7", "6", "5", "none", "8")):
        replies = _text(gen.engine, patient.phone_e164, body, f"SMc{n}", at)
    assert "Thank you" in replies[-1]
    baseline = instances(gen.engine, patient.id)[0]
    assert baseline.status == InstanceStatus.COMPLETED
    tick(ENROLLED + timedelta(days=2))
    assert messages(gen.engine, kind="reminder") == []


def _in_range(engine) -> bool:
    with Session(engine) as session:
        rows = session.exec(select(Response)).all()
    for row in rows:
        for value in row.answers.values():
            if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= 10:
                return False
    return True


def _reply(response) -> str:
    text = response.text
    return text.split("<Message>")[1].split("</Message>")[0] if "<Message>" in text else ""


def test_bad_input_gets_a_short_reply_or_none_and_stores_nothing_out_of_range(
    twilio,  # noqa: F811
    gen,
    tick,
):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    number = patient.phone_e164
    bodies = [
        ("", {}),
        ("9" * 5000, {}),
        ("😀👍", {}),
        ("", {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m.jpg"}),  # a photo only
    ]
    for body, extra in bodies:
        response = twilio.text(number, body, **extra)
        assert response.status_code == 200
        assert len(_reply(response)) <= 160
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
        assert session.exec(select(Response)).first() is None
    # The third unreadable reply went to the nurse; the fourth adds no second alert.
    assert [a.kind for a in alerts] == ["unreadable_reply"]
    assert "Question 2 of 5" in twilio.text(number, "7").text  # still answerable
    for body in ("1" * 5000, "12"):  # out of range: asked again
        assert "Sorry" in _reply(twilio.text(number, body))
    third = _reply(twilio.text(number, "-3"))  # the third: left for the nurse, who is told
    assert third.startswith("We could not read your replies")
    assert "Question 3 of 5" in twilio.text(number, "６").text  # a full-width digit reads
    assert _in_range(gen.engine)
    with Session(gen.engine) as session:
        saved = session.exec(select(Response).where(Response.is_current)).one()
        alerts = session.exec(select(Alert)).all()
    assert saved.answers == {"worst": 7, "average": 6}
    assert [a.kind for a in alerts] == ["unreadable_reply"] * 2  # one per question


def test_a_reply_after_the_window_closed_is_not_stored(twilio, gen, tick, clock):  # noqa: F811
    patient = gen.patient(gen.site(), now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    baseline = instances(gen.engine, patient.id)[0]
    replied_at = ENROLLED + timedelta(hours=5)
    clock.move_to(replied_at)
    with session_scope(gen.engine) as session:  # the window closed an hour before the reply
        live = session.get(SurveyInstance, baseline.id)
        live.closes_at = replied_at - timedelta(hours=1)
    response = twilio.text(patient.phone_e164, "7")
    assert response.status_code == 200 and len(_reply(response)) <= 200
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).first() is None
        assert session.exec(select(Alert)).first() is None  # a number alone: the help text


def _every_window_closed(engine, clock) -> datetime:
    """Five hours after enrolment, with every survey's window closed an hour before."""
    now = ENROLLED + timedelta(hours=5)
    clock.move_to(now)
    with session_scope(engine) as session:
        for instance in session.exec(select(SurveyInstance)):
            instance.closes_at = now - timedelta(hours=1)
    return now


def test_words_texted_when_no_question_waits_reach_a_nurse(twilio, gen, tick, clock):  # noqa: F811
    """After the window closed, "my legs went weak last night" got the help text ("replies
    are not read straight away") and no one read it."""
    patient = gen.patient(gen.site(), now=ENROLLED, channel="sms").patient
    tick(ENROLLED)
    replied_at = _every_window_closed(gen.engine, clock)
    first = _reply(twilio.text(patient.phone_e164, "my legs went weak last night"))
    second = _reply(twilio.text(patient.phone_e164, "and now I can't walk"))
    assert "passed what you wrote on" in first and "999" in first
    assert "passed what you wrote on" in second  # read with the first: its alert is open
    with session_scope(gen.engine) as session:
        (alert,) = session.exec(select(Alert)).all()
        assert (alert.kind, alert.urgency, alert.instance_id) == ("words_in_reply", "24h", None)
        alert.acknowledged_at = replied_at + timedelta(hours=1)
    third = _reply(twilio.text(patient.phone_e164, "still can't walk, please call"))
    assert "passed what you wrote on" in third
    with Session(gen.engine) as session:
        opened = session.exec(select(Alert).where(Alert.acknowledged_at.is_(None))).all()
        assert session.exec(select(Response)).first() is None
    assert [a.kind for a in opened] == ["words_in_reply"]  # raised again once acknowledged


def test_a_number_shared_by_two_patients_with_open_surveys_is_left_for_a_nurse(
    twilio,  # noqa: F811
    gen,
    tick,
):
    """Stored on neither record, saved as neither's answer; the sender is asked to call
    (``test_sms_webhooks`` checks the nurses' alerts)."""
    site = gen.site()
    first = gen.patient(site, now=ENROLLED, channel="sms", phone="07400 123456").patient
    second = gen.patient(site, now=ENROLLED, channel="sms", phone="07400 123456").patient
    tick(ENROLLED)
    response = twilio.text(first.phone_e164, "7")
    assert response.status_code == 200 and "more than one patient" in _reply(response)
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).first() is None
        stored = session.exec(select(Message).where(Message.direction == "in")).all()
    assert [(m.body, m.patient_id) for m in stored] == [("7", None)]
    assert second.phone_e164 == first.phone_e164


def test_words_from_a_number_two_teams_patients_use_alert_neither_team(
    twilio,  # noqa: F811
    gen,
    tick,
    clock,
):
    """With no survey open, the text is kept on the newest record; its words would have
    raised an alert at that record's team, which may not be the sender's."""
    first = gen.patient(gen.site(), now=ENROLLED, channel="sms", phone="07400 123456").patient
    gen.patient(gen.site(), now=ENROLLED, channel="sms", phone="07400 123456")
    tick(ENROLLED)
    _every_window_closed(gen.engine, clock)
    reply = _reply(twilio.text(first.phone_e164, "my legs went weak last night"))
    assert "passed what you wrote on" not in reply and "for help call" in reply
    with Session(gen.engine) as session:
        assert session.exec(select(Alert)).all() == []


def test_the_reminder_names_words_the_text_to_answer_has_even_for_question_1() -> None:
    """Question 1's text starts with a greeting: a reminder to answer "our text that
    starts 'Question 1 of 5'" named a text the patient never got."""
    questions = sms_questions(["pain_nrs", "red_flags", "qol_overall"])
    first = opening_text(questions, "Alex", "Spine team")
    reminder = templates.conversation_reminder("Alex", "Spine team", 1, len(questions), "1")
    quoted = re.search(r'text with "([^"]+)" in it', reminder)[1]
    assert quoted == f"Question 1 of {len(questions)}" and quoted in first
    assert not first.startswith(quoted)
