"""Inbound texts and delivery callbacks: store once, opt out safely, route answers.

A reply to a texted survey question is handed to the ``answer_text`` function that the
caller passes in (``pro_app.followup.conversation.answer_text`` from the SMS webhook), so
messaging never imports the follow-up code that turns a reply into an answer.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import bindparam
from sqlmodel import Session, select

from notifications import (
    only_a_keyword,
    opt_out_type_from_twilio,
    parse_reply,
    parse_yes_no,
    templates,
)

from ..alerts import raise_alert
from ..models import (
    OPEN_STATUSES,
    AlertKind,
    Direction,
    Message,
    MessageStatus,
    Patient,
    Site,
    SurveyInstance,
)
from ..plain_text import without_control_characters
from ..storage.upsert import insert_ignore
from .failures import record_delivery_failure
from .opt_out import remember_number, set_opt_out

MAX_BODY = 1600  # Twilio's limit for one message, however many segments

# Twilio's message states, in the order they move; a callback never moves a message back.
_PROGRESS = {"queued": 1, "accepted": 1, "sending": 2, "sent": 3, "delivered": 4}
_FAILED = {"failed", "undelivered"}

# (session, open instance or None, patient, site, body, now) -> texts to send back, or None
# when the text is neither an answer to a texted survey nor words for a nurse to read.
AnswerText = Callable[
    [Session, SurveyInstance | None, Patient, Site, str, datetime], list[str] | None
]

# (session, open instance) -> the question a texted survey waits on, asked again; or None.
AskAgain = Callable[[Session, SurveyInstance], str | None]


def patients_with_number(session: Session, number: str) -> list[Patient]:
    return list(session.exec(select(Patient).where(Patient.phone_e164 == number)))


Sender = tuple[Patient, SurveyInstance | None, Site]

# Built once (only the number and the time vary), so no request rebuilds it.
_SENDERS = (
    select(Patient, Site, SurveyInstance)
    .join(Site, Site.id == Patient.site_id)
    .outerjoin(
        SurveyInstance,
        (SurveyInstance.patient_id == Patient.id)
        & SurveyInstance.status.in_(OPEN_STATUSES)
        & (SurveyInstance.closes_at > bindparam("now")),
    )
    .where(Patient.phone_e164 == bindparam("number"))
    .order_by(Patient.id)
)


def senders(session: Session, number: str, now: datetime) -> list[Sender]:
    """Every patient with this number, each with their survey open for answers now (the
    most recently invited if several; None if none) and their site: one round trip for
    what an inbound text looks up first (``session.get`` then finds the sites loaded)."""
    rows = session.exec(_SENDERS, params={"number": number, "now": now}).all()
    found: dict[int, Sender] = {}
    for patient, site, instance in rows:
        kept = found.get(patient.id, (patient, None, site))[1]
        if kept is None or (instance is not None and _invited(instance) > _invited(kept)):
            kept = instance
        found[patient.id] = (patient, kept, site)
    return list(found.values())


def _invited(instance: SurveyInstance) -> datetime:
    return instance.invited_at or datetime.min.replace(tzinfo=UTC)


def _choose_patient(pairs: list[Sender]):
    """The sender's record: one with an open survey, else the newest; never a guess across
    two open surveys of different patients (that is left for a nurse). Where several have
    one open but only one of them is being answered by text, the reply is that one's: a
    survey answered by web link takes no texted answer."""
    open_ones = [(p, i) for p, i, _site in pairs if i is not None]
    if len(open_ones) > 1:
        by_text = [(p, i) for p, i in open_ones if i.asked_by_text]
        open_ones = by_text if len(by_text) == 1 else open_ones
    if len(open_ones) == 1:
        return open_ones[0]
    if open_ones:
        return None, None
    return (max((p for p, *_ in pairs), key=lambda p: p.id), None) if pairs else (None, None)


def handle_inbound(
    session: Session,
    *,
    sid: str,
    from_number: str,
    to_number: str,
    body: str,
    opt_out_type: str | None,
    now: datetime,
    answer_text: AnswerText,
    ask_again: AskAgain | None = None,
) -> list[str]:
    """Record an inbound text once and return the replies to send back (TwiML).

    ``answer_text`` takes a reply to a survey question that was texted out; ``ask_again``
    gives the question waiting for a reply, sent again when the number opts back in.

    Every field is cleaned of control characters and cut to what its column holds before
    anything reads it; the body is cut to Twilio's 1,600 characters before it is parsed.
    """
    sid, from_number, to_number = (
        without_control_characters(value)[:limit]
        for value, limit in ((sid, 64), (from_number, 20), (to_number, 20))
    )
    body = without_control_characters(body)[:MAX_BODY]
    pairs = senders(session, from_number, now)
    patients = [patient for patient, *_ in pairs]
    # STOP applies to the number: until START, nothing is texted back to it.
    opted_out = any(p.sms_opted_out for p in patients)
    patient, instance = _choose_patient(pairs)
    stored = insert_ignore(
        session,
        Message,
        {
            "patient_id": patient.id if patient else None,
            "instance_id": instance.id if instance else None,
            "direction": Direction.IN,
            "kind": "inbound",
            "to_number": to_number,
            "from_number": from_number,
            "body": body,
            "status": MessageStatus.RECEIVED,
            "provider_sid": sid or None,
            "created_at": now,
        },
    )
    if stored is None:  # Twilio asks again only when it did not get our answer
        return _replies_given_before(session, sid)
    twilio_kind = opt_out_type_from_twilio(opt_out_type)
    kind = twilio_kind or parse_reply(body).kind
    if kind == "start" and not opted_out and _is_an_answer(instance, body):
        # "Yes" (an opt-in keyword to the carrier) from a patient who never opted out,
        # with a question waiting: an answer, even when Twilio marked it OptOutType=START.
        kind, twilio_kind = "answer", None
    if not patients:
        if kind in ("stop", "start"):  # kept for whoever is enrolled on the number later
            remember_number(session, from_number, kind == "stop", now)
        return _replies(session, None, None, [templates.unknown_sender_reply()], sid, now)
    if kind == "stop":
        set_opt_out(session, from_number, patients, True, now)
        texts = [] if twilio_kind else [_opted_out_text(session, patients[0])]
        return _replies(session, patients[0], None, texts, sid, now)
    if kind == "start":
        set_opt_out(session, from_number, patients, False, now)
        site = session.get(Site, patients[0].site_id)
        # "Yes" from a number that never opted out, with nothing to answer: say who texts.
        text = (
            templates.opted_in(site.name)
            if opted_out
            else templates.help_reply(site.name, site.team_phone)
        )
        texts = [] if twilio_kind else [text]
        # Back in after STOP, with a texted survey still open: its waiting question again,
        # so the next reply answers a question the patient has just read.
        again = ask_again(session, instance) if opted_out and instance and ask_again else None
        if again:
            texts.append(again)
        return _replies(session, patients[0], instance if again else None, texts, sid, now)
    if patient is None:
        texts = _unmatched(session, pairs, sid, now)
        return _replies(session, None, None, [] if opted_out else texts, sid, now)
    site = session.get(Site, patient.site_id)
    # Unless it answers a survey asked by text, a text from a number that patients of two
    # teams use gives no way to tell whose words it holds: it is kept on the record chosen
    # above, as ever, but raises no alert at a team that may not be the sender's.
    whose = (instance is not None and instance.asked_by_text) or len(
        {p.site_id for p in patients}
    ) == 1
    if kind == "help":
        # "I need help", "can someone help me": a plea a nurse reads (the patient is told
        # so and whom to call); HELP or INFO alone gets who texts and whom to call.
        plea = whose and not only_a_keyword(body)
        texts = answer_text(session, None, patient, site, body, now) if plea else None
        if texts is None:
            texts = [] if twilio_kind else [templates.help_reply(site.name, site.team_phone)]
        return _replies(session, patient, instance, [] if opted_out else texts, sid, now)
    texts = answer_text(session, instance, patient, site, body, now) if whose else None
    if texts is None:
        texts = [templates.help_reply(site.name, site.team_phone)]
    return _replies(session, patient, instance, [] if opted_out else texts, sid, now)


def _unmatched(session: Session, pairs: list[Sender], sid: str, now: datetime) -> list[str]:
    """A reply from a number that several patients with open surveys use: nothing can be
    saved, so each of them gets an alert for a nurse to call (within 24 hours: it may
    describe a warning sign), and the sender is asked to call the team."""
    waiting = [(p, i, site) for p, i, site in pairs if i is not None]
    for patient, instance, site in waiting:
        raise_alert(
            session,
            site=site,
            patient_id=patient.id,
            kind=AlertKind.UNMATCHED_REPLY,
            urgency="24h",
            summary=(
                f"A reply came from this patient's mobile number, which {_others(waiting)} "
                "with a survey open also uses, so it could not be saved: call to find out "
                "who sent it and what it says."
            ),
            dedupe_key=f"unmatched:{sid}:{patient.id}",
            now=now,
            instance_id=instance.id,
        )
    sites = {site.id: site for *_, site in waiting}
    site = next(iter(sites.values())) if len(sites) == 1 else None
    return [
        templates.shared_number_reply(
            site.name if site else None, site.team_phone if site else None
        )
    ]


def _others(waiting: list) -> str:
    others = len(waiting) - 1
    return "another patient" if others == 1 else f"each of {others} other patients"


def _is_an_answer(instance: SurveyInstance | None, body: str) -> bool:
    """A yes/no word while a survey is open (asked of a number that never opted out)."""
    return instance is not None and parse_yes_no(body) is not None


def _opted_out_text(session: Session, patient: Patient) -> str:
    site = session.get(Site, patient.site_id)
    return templates.opted_out(site.name, site.team_phone)


def _replies_given_before(session: Session, sid: str) -> list[str]:
    """The replies kept for a text handled already, to answer Twilio's retry with (its
    first answer was lost, so the patient has not had them); none once anything else has
    come from that number, when they would be out of date."""
    first = session.exec(
        select(Message).where(Message.provider_sid == sid, Message.direction == Direction.IN)
    ).first()
    if first is None:
        return []
    later = session.exec(
        select(Message.id).where(
            Message.direction == Direction.IN,
            Message.from_number == first.from_number,
            Message.id > first.id,
        )
    ).first()
    if later is not None:
        return []
    return list(
        session.exec(
            select(Message.body)
            .where(Message.idempotency_key.startswith(f"reply:{sid}:", autoescape=True))
            .order_by(Message.id)
        )
    )


def _replies(session, patient, instance, texts: list[str], sid: str, now: datetime) -> list[str]:
    """Keep each reply in the message trail (sent in the webhook's TwiML answer)."""
    for number, text in enumerate(texts):
        insert_ignore(
            session,
            Message,
            {
                "patient_id": patient.id if patient else None,
                "instance_id": instance.id if instance else None,
                "direction": Direction.OUT,
                "kind": "reply",
                "to_number": "",
                "body": text,
                "status": MessageStatus.SENT,
                "idempotency_key": f"reply:{sid}:{number}",
                "created_at": now,
                "sent_at": now,
            },
        )
    return texts


def record_status(
    session: Session,
    *,
    sid: str,
    status: str,
    error_code: str | None,
    message_id: int | None,
    now: datetime,
) -> None:
    """Apply a delivery callback; repeated or out-of-order callbacks change nothing."""
    sid, status = without_control_characters(sid)[:64], without_control_characters(status)[:32]
    message = (
        session.exec(select(Message).where(Message.provider_sid == sid)).first() if sid else None
    )
    if message is None and message_id is not None:
        candidate = session.get(Message, message_id)
        if candidate is not None and candidate.provider_sid is None:
            message = candidate  # a send whose answer was lost: the callback settles it
            message.provider_sid = sid or None
    if message is None:
        return
    status = status.lower()
    if message.status == MessageStatus.UNKNOWN:
        message.status = MessageStatus.SENT
        message.sent_at = message.sent_at or now
    if status in _FAILED:
        if message.status != MessageStatus.FAILED:
            code = int(error_code) if error_code and error_code.isdecimal() else None
            record_delivery_failure(session, message, code=code, reason=f"{status}", now=now)
        return
    rank = _PROGRESS.get(status)
    if rank is None or message.status == MessageStatus.FAILED:
        return
    if status == "delivered":
        message.status = MessageStatus.DELIVERED
        message.delivered_at = message.delivered_at or now
    elif message.status not in (MessageStatus.DELIVERED,):
        message.status = MessageStatus.SENT
