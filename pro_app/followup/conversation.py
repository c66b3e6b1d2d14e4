"""SMS conversation mode: one question per text, answered by a number.

The state lives in ``instance.progress["sms"]``: which question is out, how many
unreadable replies it has had, and the answers so far. Each answer is saved at once.
"""

from datetime import datetime

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session

from notifications import parse_reply, templates

from ..alerts import raise_alert
from ..models import AlertKind, AnswerChannel, Patient, Site, SurveyInstance
from .answer_saving import complete, save_answers
from .instruments import SmsQuestion, instrument, red_flags, sms_questions

MAX_RETRIES = 2


def in_conversation(instance: SurveyInstance) -> bool:
    return "sms" in (instance.progress or {})


def _question_text(question: SmsQuestion, number: int, total: int) -> str:
    return templates.conversation_question(
        question.text,
        minimum=question.minimum,
        maximum=question.maximum,
        low_label=question.low_label,
        high_label=question.high_label,
        number=number,
        total=total,
    )


def first_question(instance: SurveyInstance, patient: Patient, site: Site) -> str:
    """Start the conversation and return the first text (a greeting and question 1)."""
    questions = sms_questions(instance.instruments)
    instance.progress = {**(instance.progress or {}), "sms": {"position": 0, "retries": 0}}
    flag_modified(instance, "progress")
    greeting = f"Hello {patient.first_name}, {site.name} has {len(questions)} short questions."
    return f"{greeting} {_question_text(questions[0], 1, len(questions))}"


def handle_conversation_reply(
    session: Session,
    instance: SurveyInstance,
    patient: Patient,
    site: Site,
    body: str,
    now: datetime,
) -> list[str]:
    """Record a reply to the question that is out; return the next text(s)."""
    questions = sms_questions(instance.instruments)
    state = dict(instance.progress["sms"])
    position = state["position"]
    if position >= len(questions):
        return [templates.thank_you(site.name)]
    question = questions[position]
    reply = parse_reply(body, minimum=question.minimum, maximum=question.maximum)
    if reply.kind != "number":
        state["retries"] += 1
        _store(instance, state)
        if state["retries"] > MAX_RETRIES:
            raise_alert(
                session,
                site=site,
                patient_id=patient.id,
                kind=AlertKind.UNREADABLE_REPLY,
                urgency="routine",
                summary=f"Replies to a text question at {instance.timepoint} could not be read.",
                dedupe_key=f"unreadable:{instance.id}:{position}",
                now=now,
                instance_id=instance.id,
            )
            return []  # left for the nurse in the message trail
        return [templates.unreadable_reply(question.minimum, question.maximum)]
    answer = {question.item_id: question.answer_for(reply.value)}
    save_answers(
        session, instance, question.instrument_id, answer, channel=AnswerChannel.SMS, now=now
    )
    advice = [
        f"{flag.advice} {site.name}: {site.team_phone}"
        for flag in red_flags(instrument(question.instrument_id), answer)
    ]
    state = {"position": position + 1, "retries": 0}
    _store(instance, state)
    if state["position"] >= len(questions):
        complete(session, instance, now=now)
        return [*advice, templates.thank_you(site.name)]
    following = questions[state["position"]]
    return [*advice, _question_text(following, state["position"] + 1, len(questions))]


def answer_text(
    session: Session,
    instance: SurveyInstance,
    patient: Patient,
    site: Site,
    body: str,
    now: datetime,
) -> list[str] | None:
    """A text from a patient with an open survey: the next text(s) when the survey is being
    answered by text, None otherwise (the inbound router then sends its help reply)."""
    if not in_conversation(instance):
        return None
    return handle_conversation_reply(session, instance, patient, site, body, now)


def _store(instance: SurveyInstance, state: dict) -> None:
    instance.progress = {**instance.progress, "sms": state}
    flag_modified(instance, "progress")
