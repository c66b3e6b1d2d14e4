"""What happens when a text cannot be delivered: alert, and stop texting a dead number."""

from datetime import datetime

from sqlmodel import Session

from notifications import stops_sms_to_number

from ..alerts import raise_alert
from ..models import AlertKind, Message, MessageStatus, Patient, Site
from .outbox import cancel_pending

UNSUBSCRIBED = 21610


def record_delivery_failure(
    session: Session, message: Message, *, code: int | None, reason: str, now: datetime
) -> None:
    """Mark ``message`` failed, alert the nurses, and stop texting a number that cannot take it."""
    message.status = MessageStatus.FAILED
    message.error_code = code
    message.last_error = reason[:500]
    if message.patient_id is None:
        return
    patient = session.get(Patient, message.patient_id)
    if code == UNSUBSCRIBED:
        patient.sms_opted_out = True
        patient.sms_opted_out_at = now
    elif stops_sms_to_number(code):
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
