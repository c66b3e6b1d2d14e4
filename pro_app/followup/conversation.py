"""SMS conversation mode: one question per text, answered by a number or a yes/no.

The state lives in ``instance.progress["sms"]``: how many unreadable replies the question
that is out has had. Which question is out is worked out from the saved answers (the first
text question with an item not yet answered), so an answer given another way (the web
link, a nurse on the phone) is never asked again. Each answer is saved at once through
``save_answers``, as the web form's are: the same records, the same alerts, the same
on-call text. The survey completes only when every texted item has an answer; until then
it stays partly answered and the reminders go on while its window is open.
"""

from datetime import datetime

from sqlalchemy.orm import object_session
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from notifications import (
    SAYS_MORE,
    corrects_an_answer,
    parse_checklist,
    parse_choice,
    parse_reply,
    parse_scale_end,
    parse_yes_no,
    templates,
    without_signature,
    words_beside,
)

from ..alerts import raise_alert
from ..models import (
    Alert,
    AlertKind,
    AnswerChannel,
    InstanceStatus,
    Patient,
    Procedure,
    Site,
    SurveyInstance,
)
from .answer_saving import complete, current_responses, lock_answers, save_answers
from .instruments import (
    SmsKind,
    SmsQuestion,
    concern_words,
    instrument,
    red_flags,
    sms_questions,
)
from .survey_pages import timepoint_place

MAX_RETRIES = 2  # the third unreadable reply to one question goes to the nurse


def in_conversation(instance: SurveyInstance) -> bool:
    return instance.asked_by_text


def is_baseline(instance: SurveyInstance, session: Session | None = None) -> bool:
    """Whether ``instance`` is its protocol's baseline (some items are follow-up only)."""
    session = session or object_session(instance)
    procedure = session.get(Procedure, instance.procedure_id) if session else None
    if procedure is None:
        return False
    return timepoint_place(procedure.protocol_id, instance.timepoint).is_baseline


def questions_for(instance: SurveyInstance, session: Session | None = None) -> list[SmsQuestion]:
    """The texts of ``instance``'s conversation, in order."""
    return sms_questions(instance.instruments, baseline=is_baseline(instance, session))


def question_text(question: SmsQuestion, number: int, total: int) -> str:
    """The text that asks ``question``, numbered ``number`` of ``total``."""
    if question.kind == SmsKind.CHECKLIST:
        return templates.checklist_question(
            question.text, list(question.labels), number=number, total=total
        )
    if question.kind == SmsKind.YES_NO:
        return templates.yes_no_question(question.text, number=number, total=total)
    if question.kind == SmsKind.CHOICE:
        return templates.choice_question(
            question.text, list(question.labels), number=number, total=total
        )
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
    questions = questions_for(instance)
    instance.progress = {**(instance.progress or {}), "sms": {"position": 0, "retries": 0}}
    flag_modified(instance, "progress")
    return opening_text(questions, patient.first_name, site.name)


def opening_text(questions: list[SmsQuestion], first_name: str, team_name: str) -> str:
    """A conversation's first text: a greeting, how many questions, question 1, and how to
    stop (as every first text of a timepoint says, and carriers expect)."""
    greeting = f"Hello {first_name}, {team_name} has {len(questions)} short questions."
    return f"{greeting} {question_text(questions[0], 1, len(questions))}\n{templates.STOP_LINE}"


def saved_answers(session: Session, instance: SurveyInstance) -> dict[str, dict]:
    """The current answers of each questionnaire at ``instance``."""
    return {k: dict(r.answers) for k, r in current_responses(session, instance.id).items()}


def next_position(questions: list[SmsQuestion], saved: dict[str, dict]) -> int:
    """The first question with an item still unanswered (``len(questions)`` if none)."""
    for position, question in enumerate(questions):
        answers = saved.get(question.instrument_id, {})
        if any(answers.get(item_id) is None for item_id in question.item_ids):
            return position
    return len(questions)


def _waiting(session: Session, instance: SurveyInstance) -> tuple[list[SmsQuestion], int]:
    """``instance``'s questions and the position of the one waiting for a reply
    (``len(questions)`` when all are answered)."""
    questions = questions_for(instance, session)
    return questions, next_position(questions, saved_answers(session, instance))


def question_again(session: Session, instance: SurveyInstance) -> str | None:
    """The text asking the question ``instance``'s conversation waits on, or None if the
    survey is not being answered by text or has nothing left to ask."""
    if not in_conversation(instance):
        return None
    questions, position = _waiting(session, instance)
    if position >= len(questions):
        return None
    return question_text(questions[position], position + 1, len(questions))


def pending_question(session: Session, instance: SurveyInstance) -> tuple[int, int, str] | None:
    """(number, total, the reply it takes) of the question waiting for a reply, or None if
    all are answered. The reply it takes names no symptom ("a number from 0 to 10")."""
    questions, position = _waiting(session, instance)
    if position >= len(questions):
        return None
    return position + 1, len(questions), reply_it_takes(questions[position])


def reply_it_takes(question: SmsQuestion) -> str:
    """What a question's reply is, in words that name no symptom (for its reminder)."""
    if question.kind == SmsKind.CHECKLIST:
        return "the numbers of any that are new, or 0 for none"
    if question.kind == SmsKind.YES_NO:
        return "1 or 0"
    if question.kind == SmsKind.CHOICE:
        return f"a number from 1 to {len(question.labels)}"
    return f"a number from {question.minimum} to {question.maximum}"


def read_reply(question: SmsQuestion, body: str):
    """What a reply says to ``question``: a number, True/False, a set of list numbers, or
    None when it cannot be read."""
    if question.kind == SmsKind.CHECKLIST:
        return parse_checklist(body, len(question.item_ids))
    if question.kind == SmsKind.YES_NO:
        return parse_yes_no(body)
    if question.kind == SmsKind.CHOICE:
        return parse_choice(body, question.labels)
    reply = parse_reply(body, minimum=question.minimum, maximum=question.maximum)
    if reply.kind == "number":
        return reply.value
    end = parse_scale_end(body, question.low_label, question.high_label)  # "No pain"
    return {"low": question.minimum, "high": question.maximum}.get(end)


def says_more(body: str, question: SmsQuestion | None = None) -> bool:
    """Whether a text says more than an answer to ``question``, for a nurse to read: a
    word about a warning sign ("8 numb") or of distress ("7 suicidal", "9 help"), a stop
    word that was no opt-out ("I just want it to stop"), or ``SAYS_MORE`` words that are
    not the answer's, its options' or politeness ("my back is killing me")."""
    labels = question.labels if question and question.kind == SmsKind.CHOICE else ()
    if concern_words().found_in(words_beside(body, labels)):
        return True
    return len(words_beside(without_signature(body), labels)) >= SAYS_MORE


def _unreadable_text(question: SmsQuestion, body: str, site: Site) -> str:
    if question.kind == SmsKind.CHECKLIST:
        if parse_yes_no(body) is True:
            return templates.which_ones(len(question.item_ids), site.name, site.team_phone)
        return templates.unreadable_checklist(len(question.item_ids), site.name, site.team_phone)
    if question.kind == SmsKind.YES_NO:
        return templates.unreadable_yes_no()
    return templates.unreadable_reply(question.minimum, question.maximum)


def handle_conversation_reply(
    session: Session,
    instance: SurveyInstance,
    patient: Patient,
    site: Site,
    body: str,
    now: datetime,
) -> list[str]:
    """Record a reply to the question that is out; return the next text(s).

    The survey is locked first and the question waiting read under the lock: two replies
    arriving together answer two questions in turn, not the same one twice.
    """
    questions = questions_for(instance, session)
    locked = lock_answers(session, instance)
    if instance.status == InstanceStatus.COMPLETED:  # by a reply that came with this one
        return [templates.thank_you(site.name)]
    position = next_position(questions, {k: r.answers for k, r in locked.items()})
    if position >= len(questions):
        complete(session, instance, now=now)
        return [templates.thank_you(site.name)]
    question = questions[position]
    state = {"position": position, "retries": 0, **dict(instance.progress["sms"])}
    if state.get("position") != position:
        state = {"position": position, "retries": 0}
    value = read_reply(question, body)
    # Words beside the answer, or instead of it, may describe a warning sign or distress
    # ("8 help my legs are weak", "I want to end it all"): a nurse reads them the same day.
    wrote = says_more(body, question)
    if value is not None and corrects_an_answer(body):
        # "Sorry, I meant 8" is about the answer before, not this question's: a nurse
        # corrects it (by phone entry) and this question is asked again.
        value, wrote = None, True
    if value is None:
        state["retries"] += 1
        _store(instance, state)
        if question.kind == SmsKind.CHECKLIST and state["retries"] <= MAX_RETRIES:
            # A reply to the warning signs that cannot be read may describe one ("my legs
            # have gone weak"): the nurse is alerted at once (its text says whom to call).
            _alert_unreadable(session, instance, patient, site, question, state, now, urgent=True)
            if wrote:  # read again if that alert was acknowledged before this text came
                _have_a_nurse_read(session, instance, patient, site, now)
            return [_unreadable_text(question, body, site)]
        told = _have_a_nurse_read(session, instance, patient, site, now) if wrote else []
        if state["retries"] > MAX_RETRIES:
            return [*told, *_passed_on(session, instance, patient, site, question, state, now)]
        return [*told, _unreadable_text(question, body, site)]
    answers = question.answers_for(value)
    save_answers(
        session, instance, question.instrument_id, answers, channel=AnswerChannel.SMS, now=now
    )
    raised = red_flags(instrument(question.instrument_id), answers)
    told = _have_a_nurse_read(session, instance, patient, site, now) if wrote else []
    advice = (
        [templates.red_flag_advice(advice_lines(raised), site.name, site.team_phone)]
        if raised
        else told
    )
    following = next_position(questions, saved_answers(session, instance))
    _store(instance, {"position": following, "retries": 0})
    if following >= len(questions):
        complete(session, instance, now=now)
        return [*advice, templates.thank_you(site.name)]
    return [*advice, question_text(questions[following], following + 1, len(questions))]


def _alert_unreadable(
    session, instance, patient, site, question, state: dict, now, *, urgent: bool
) -> None:
    """Alert the nurse to unreadable replies to a question (once per question); due in 24
    hours when a reply may describe a warning sign (``urgent``)."""
    what = "the warning signs" if question.kind == SmsKind.CHECKLIST else "a text question"
    raise_alert(
        session,
        site=site,
        patient_id=patient.id,
        kind=AlertKind.UNREADABLE_REPLY,
        urgency="24h" if urgent else "routine",
        summary=(
            f"Replies to {what} at {instance.timepoint} could not be read: read them under "
            "Messages and call the patient."
        ),
        dedupe_key=f"unreadable:{instance.id}:{state['position']}",
        now=now,
        instance_id=instance.id,
    )


# Alerts that have a nurse read a patient's texts within 24 hours: while one is open, a
# further text with words is read with it, not raised again.
_READ_THEIR_TEXTS = (AlertKind.WORDS_IN_REPLY, AlertKind.UNREADABLE_REPLY)


def _have_a_nurse_read(session, instance, patient, site, now) -> list[str]:
    """Have a nurse read the patient's texts within 24 hours: an alert, unless one that
    does so is still open (a text after it was acknowledged raises a new one). The text
    that tells the patient so."""
    waiting = session.exec(
        select(Alert.id).where(
            Alert.patient_id == patient.id,
            Alert.acknowledged_at.is_(None),
            Alert.kind.in_(_READ_THEIR_TEXTS),
            Alert.urgency == "24h",
        )
    ).first()
    if waiting is None:
        where = f" at {instance.timepoint}" if instance is not None else ""
        raise_alert(
            session,
            site=site,
            patient_id=patient.id,
            kind=AlertKind.WORDS_IN_REPLY,
            urgency="24h",
            summary=(
                f"A text{where} said more than an answer, in words that may describe a "
                "problem: read it under Messages and call the patient."
            ),
            dedupe_key=f"words:{patient.id}:{now.isoformat()}",
            now=now,
            instance_id=instance.id if instance is not None else None,
        )
    return [templates.words_passed_on(site.name, site.team_phone)]


def _passed_on(session, instance, patient, site, question, state: dict, now) -> list[str]:
    """The last unreadable reply: the nurse is alerted (once per question; for the warning
    signs at the first), and the patient told so, the first time; a reply to the warning
    signs is always told whom to call now."""
    warning_signs = question.kind == SmsKind.CHECKLIST
    _alert_unreadable(session, instance, patient, site, question, state, now, urgent=warning_signs)
    if warning_signs or state["retries"] == MAX_RETRIES + 1:
        return [
            templates.unreadable_passed_on(site.name, site.team_phone, warning_signs=warning_signs)
        ]
    return []  # already told: the rest is left for the nurse in the message trail


_MOST_URGENT_FIRST = {"now": 0, "24h": 1, "local": 2}


def advice_lines(raised: list) -> list[str]:
    """The advice for raised flags as the web page gives it: the most urgent first, once
    per level for "now" and "24h" (their advice says the same thing), each local one."""
    lines: list[str] = []
    levels: set[str] = set()
    for flag in sorted(raised, key=lambda f: _MOST_URGENT_FIRST.get(str(f.urgency), 3)):
        urgency = str(flag.urgency)
        if flag.advice not in lines and (urgency == "local" or urgency not in levels):
            lines.append(flag.advice)
        levels.add(urgency)
    return lines


def answer_text(
    session: Session,
    instance: SurveyInstance | None,
    patient: Patient,
    site: Site,
    body: str,
    now: datetime,
) -> list[str] | None:
    """A text from a patient, with ``instance`` their open survey if any: the next text(s)
    when the survey is being answered by text. A text no question waits for (a survey
    answered by web link, or none open: "my legs went weak last night") that says more
    than a number goes to a nurse, and the patient is told so. Otherwise None (the inbound
    router then sends its help reply)."""
    if instance is not None and in_conversation(instance):
        return handle_conversation_reply(session, instance, patient, site, body, now)
    if says_more(body):
        return _have_a_nurse_read(session, instance, patient, site, now)
    return None


def _store(instance: SurveyInstance, state: dict) -> None:
    instance.progress = {**instance.progress, "sms": state}
    flag_modified(instance, "progress")
