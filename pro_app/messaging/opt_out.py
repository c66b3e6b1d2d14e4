"""A number's opt-out: STOP and START apply to the number, so to every record that uses it.

A record that takes on a number which texted STOP (a new enrolment, a corrected mobile)
is opted out too, until the number texts START: the patient may have said STOP under
another record, and the carrier blocks texts to the number whatever record they are for.
"""

from datetime import datetime

from sqlmodel import Session, select

from ..alerts import raise_alert
from ..models import AlertKind, Message, Patient, PatientEvent, Site
from .outbox import cancel_pending

NURSE_NOTE = (
    "This mobile number texted STOP to the service earlier, so no texts will be sent to it "
    "until it texts START. Follow up by phone meanwhile."
)
INHERITED_SUMMARY = (
    "This mobile number texted STOP to the service: no texts until it texts START. "
    "Follow up by phone."
)


def set_opt_out(session: Session, patients: list[Patient], stop: bool, now: datetime) -> None:
    """STOP (``stop``) or START from a number, for every record that uses it."""
    for patient in patients:
        if patient.sms_opted_out == stop:
            continue
        patient.sms_opted_out = stop
        patient.sms_opted_out_at = now if stop else None
        session.add(
            PatientEvent(
                patient_id=patient.id, kind="sms_opt_out" if stop else "sms_opt_in", at=now
            )
        )
        if stop:
            _stop_texting(
                session,
                patient,
                "The patient texted STOP: no more texts. Follow up by phone.",
                now,
            )


def carry_number_opt_out(
    session: Session, patient: Patient, *, user_id: int | None, now: datetime
) -> bool:
    """Opt ``patient`` out if another record with their number is opted out; True if so.

    Called when a record takes on a number. The record keeps the opt-out's own time.
    """
    if patient.sms_opted_out or not patient.phone_e164:
        return False
    earlier = session.exec(
        select(Patient.id, Patient.sms_opted_out_at)
        .where(
            Patient.phone_e164 == patient.phone_e164,
            Patient.sms_opted_out,
            Patient.id != patient.id,
        )
        .order_by(Patient.sms_opted_out_at)
        .limit(1)
    ).first()
    if earlier is None:
        return False
    patient.sms_opted_out = True
    patient.sms_opted_out_at = earlier.sms_opted_out_at or now
    session.add(
        PatientEvent(
            patient_id=patient.id,
            kind="sms_opt_out",
            detail={"number_opted_out_earlier": True},
            user_id=user_id,
            at=now,
        )
    )
    _stop_texting(session, patient, INHERITED_SUMMARY, now)
    return True


def _stop_texting(session: Session, patient: Patient, summary: str, now: datetime) -> None:
    if patient.id is not None:
        cancel_pending(session, "patient opted out of texts", Message.patient_id == patient.id)
    raise_alert(
        session,
        site=session.get(Site, patient.site_id),
        patient_id=patient.id,
        kind=AlertKind.OPTED_OUT,
        urgency="routine",
        summary=summary,
        dedupe_key=f"opted_out:{patient.id}:{now.isoformat()}",
        now=now,
    )
