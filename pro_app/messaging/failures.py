"""What happens when a text cannot be delivered: alert, and stop texting a dead number.

A text to a patient alerts the patient's nurses; a notice to a site's staff (the on-call
phone) raises a site alert for the site's nurses and admins and never touches a patient.
"""

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, or_
from sqlmodel import Session, select

from notifications import stops_sms_to_number

from ..alerts import raise_alert, raise_site_alert
from ..models import (
    Alert,
    AlertKind,
    Direction,
    Message,
    MessageStatus,
    Patient,
    Site,
    SiteAlert,
)
from .opt_out import UNSUBSCRIBED_NOTE, records_on_number, set_opt_out
from .outbox import LEASE, MAX_ATTEMPTS, cancel_pending

UNSUBSCRIBED = 21610
KIND_NAMES = {
    "invitation": "invitation",
    "question": "invitation",
    "reminder": "reminder",
    "last_reminder": "reminder",
    "alert_notify": "on-call notice",
}


def record_delivery_failure(
    session: Session, message: Message, *, code: int | None, reason: str, now: datetime
) -> None:
    """Mark ``message`` failed, alert the nurses, and stop texting a number that cannot take it."""
    message.status = MessageStatus.FAILED
    message.error_code = code
    message.last_error = reason[:500]
    if message.patient_id is None:
        _site_notice_failed(session, message, f"error {code}: {reason}", now)
        return
    if code == UNSUBSCRIBED:
        _unsubscribed(session, message.to_number, now)
        return
    patient = session.get(Patient, message.patient_id)
    if stops_sms_to_number(code):
        patient.phone_problem = f"Twilio error {code}: {reason}"[:200]
    if not patient.textable:
        cancel_pending(
            session, "number cannot receive texts", Message.to_number == message.to_number
        )
    raise_alert(
        session,
        site=session.get(Site, patient.site_id),
        patient_id=patient.id,
        kind=AlertKind.DELIVERY_FAILURE,
        urgency="routine",
        summary=f"A text could not be delivered (error {code}): {reason}",
        dedupe_key=f"delivery_failure:{message.id}",
        now=now,
        instance_id=message.instance_id,
    )


def _unsubscribed(session: Session, number: str, now: datetime) -> None:
    """The provider refused the text as the number texted STOP (error 21610): the number
    is opted out as by a STOP the app received, every record on it, with the nurses told
    once a record (the opt-out alert says why and what to do; the message keeps the code)."""
    set_opt_out(
        session,
        number,
        records_on_number(session, number),
        True,
        now,
        note=UNSUBSCRIBED_NOTE,
        detail={"provider_error": UNSUBSCRIBED},
    )
    cancel_pending(session, "number cannot receive texts", Message.to_number == number)


def record_not_sent(session: Session, message: Message, *, reason: str, now: datetime) -> None:
    """A text that ran out of retries: failed, and someone is told to follow up by phone."""
    message.status = MessageStatus.FAILED
    message.last_error = reason[:500]
    what = KIND_NAMES.get(message.kind, "text")
    if message.patient_id is None:
        _site_notice_failed(session, message, reason, now)
        return
    patient = session.get(Patient, message.patient_id)
    raise_alert(
        session,
        site=session.get(Site, patient.site_id),
        patient_id=patient.id,
        kind=AlertKind.NOT_SENT,
        urgency="routine",
        summary=f"The {what} could not be sent ({reason}). Please contact the patient.",
        dedupe_key=f"not_sent:{message.id}",
        now=now,
        instance_id=message.instance_id,
    )


def _site_notice_failed(session: Session, message: Message, reason: str, now: datetime) -> None:
    if message.site_id is None:
        return
    what = KIND_NAMES.get(message.kind, "text")
    raise_site_alert(
        session,
        site_id=message.site_id,
        kind="staff_text_failed",
        summary=(
            f"The {what} to {message.to_number} could not be delivered ({reason}). "
            "Check the site's on-call number."
        ),
        dedupe_key=f"staff_text_failed:{message.id}",
        now=now,
    )


def report_unreported_failures(
    session: Session, now: datetime, *, within: timedelta = timedelta(days=1), limit: int = 200
) -> int:
    """Alert about texts tried in the last ``within`` that failed for good with no one
    told: the process that failed one stopped (a deploy, a crash) before raising its
    alert, which it does after the batch. A text tried within a lease is left to its
    batch, which may still be running. A refusal as unsubscribed (21610) opts the number
    out instead, so it is left to that. Returns how many were reported."""
    key = cast(Message.id, String)
    alerted = exists().where(
        or_(Alert.dedupe_key == "delivery_failure:" + key, Alert.dedupe_key == "not_sent:" + key)
    )
    site_told = exists().where(SiteAlert.dedupe_key == "staff_text_failed:" + key)
    unreported = session.exec(
        select(Message)
        .where(
            Message.status == MessageStatus.FAILED,
            Message.direction == Direction.OUT,
            Message.attempted_at >= now - within,
            Message.attempted_at < now - LEASE,
            or_(Message.patient_id.is_not(None), Message.site_id.is_not(None)),
            or_(Message.error_code.is_(None), Message.error_code != UNSUBSCRIBED),
            ~alerted,
            ~site_told,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()
    for message in unreported:
        reason = message.last_error or "no reason recorded"
        if message.error_code is None or message.attempts >= MAX_ATTEMPTS:  # out of retries
            record_not_sent(session, message, reason=reason, now=now)
        else:
            record_delivery_failure(
                session, message, code=message.error_code, reason=reason, now=now
            )
    return len(unreported)
