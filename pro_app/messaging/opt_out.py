"""A number's opt-out: STOP and START apply to the number, so to every record that uses it.

The number itself is remembered (``NumberOptOut``), as the carrier remembers it: a record
that takes on a number which texted STOP (a new enrolment, a corrected mobile) is opted
out too, until the number texts START, and the outbox sends no patient's text to it.
A record whose own number texted STOP stays opted out when its mobile is corrected (the
patient asked to stop): they turn texts back on by texting START from the new number. One
opted out only because its number had texted STOP before (a mistyped mobile) is opted in
again when the number is corrected away from it.
"""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

from ..alerts import raise_alert
from ..models import AlertKind, Message, NumberOptOut, Patient, PatientEvent, Site
from ..storage.upsert import insert_ignore_statement
from .outbox import cancel_pending

# For the nurse who enrols on, or corrects a mobile to, such a number; and its alert.
NURSE_NOTE = (
    "This mobile number texted STOP to the service earlier, so no texts will be sent to it "
    "until it texts START. Follow up by phone meanwhile."
)
STILL_OFF_NOTE = (
    "Texts stay off for this patient, who texted STOP. They can text START from this "
    "number to turn them back on."
)


BACK_ON_NOTE = (
    "Texts are on again for this patient: the STOP came with the number replaced, which had "
    "texted it before this patient had it."
)
# The detail of an opt-out a record took on with its number (the number's STOP, not theirs).
CARRIED = "number_opted_out_earlier"


def mobile_note(patient: Patient, carried: bool, lifted: bool = False) -> str | None:
    """What a nurse who has just set a patient's mobile is told about their texts."""
    if carried:
        return NURSE_NOTE
    if lifted:
        return BACK_ON_NOTE
    return STILL_OFF_NOTE if patient.sms_opted_out else None


def drop_opt_out_of_old_number(
    session: Session, patient: Patient, *, user_id: int | None, now: datetime
) -> bool:
    """Lift ``patient``'s opt-out if it only came with a number they no longer have: the
    number had texted STOP before the record took it (a mobile mistyped as a number that
    once opted out, say), and the patient never did. Call once the number is replaced.
    An opt-out of the patient's own (a STOP, the provider's "unsubscribed") stays.
    True if lifted."""
    if not patient.sms_opted_out or not _opted_out_by_the_number_only(session, patient):
        return False
    patient.sms_opted_out = False
    patient.sms_opted_out_at = None
    session.add(
        PatientEvent(
            patient_id=patient.id,
            kind="sms_opt_in",
            detail={"opt_out_left_with_the_number": True},
            user_id=user_id,
            at=now,
        )
    )
    return True


def _opted_out_by_the_number_only(session: Session, patient: Patient) -> bool:
    """Whether the patient's last opt-out came with their number, not from them."""
    last = session.exec(
        select(PatientEvent.detail)
        .where(PatientEvent.patient_id == patient.id, PatientEvent.kind == "sms_opt_out")
        .order_by(PatientEvent.at.desc(), PatientEvent.id.desc())
        .limit(1)
    ).first()
    return bool(last and last.get(CARRIED))


STOP_NOTE = "The patient texted STOP: no more texts. Follow up by phone."
UNSUBSCRIBED_NOTE = (
    "The text provider reports this mobile number unsubscribed (it texted STOP to the "
    "service): no more texts until it texts START. Follow up by phone."
)


def set_opt_out(
    session: Session,
    number: str,
    patients: list[Patient],
    stop: bool,
    now: datetime,
    *,
    note: str = STOP_NOTE,
    detail: dict | None = None,
) -> None:
    """STOP (``stop``) or START from ``number``: for the number, and every record using it.

    Each record opted out gets an event (with ``detail``) and an alert saying ``note``.
    """
    remember_number(session, number, stop, now)
    for patient in patients:
        if patient.sms_opted_out == stop:
            if stop and _opted_out_by_the_number_only(session, patient):
                # Their own STOP now: it stays when the number is corrected away.
                session.add(
                    PatientEvent(
                        patient_id=patient.id, kind="sms_opt_out", detail=detail or {}, at=now
                    )
                )
            continue
        patient.sms_opted_out = stop
        patient.sms_opted_out_at = now if stop else None
        session.add(
            PatientEvent(
                patient_id=patient.id,
                kind="sms_opt_out" if stop else "sms_opt_in",
                detail=detail or {},
                at=now,
            )
        )
        if stop:
            _stop_texting(session, patient, note, now)


def records_on_number(session: Session, number: str) -> list[Patient]:
    """Every patient record with this mobile number, at any site."""
    return list(session.exec(select(Patient).where(Patient.phone_e164 == number)))


def remember_number(session: Session, number: str, stop: bool, now: datetime) -> None:
    """Keep (``stop``) or forget a number's opt-out."""
    if not number:
        return
    table = NumberOptOut.__table__
    if stop:
        session.connection().execute(
            insert_ignore_statement(session, NumberOptOut),
            {"phone_e164": number, "opted_out_at": now},
        )
    else:
        session.connection().execute(delete(table).where(table.c.phone_e164 == number))


def carry_number_opt_out(
    session: Session, patient: Patient, *, user_id: int | None, now: datetime
) -> bool:
    """Opt ``patient`` out if their number texted STOP and has not texted START since;
    True if so. Called when a record takes on a number; it keeps the opt-out's own time.
    """
    if patient.sms_opted_out or not patient.phone_e164:
        return False
    since = session.exec(
        select(NumberOptOut.opted_out_at).where(NumberOptOut.phone_e164 == patient.phone_e164)
    ).first()
    if since is None:
        return False
    patient.sms_opted_out = True
    patient.sms_opted_out_at = since
    session.add(
        PatientEvent(
            patient_id=patient.id,
            kind="sms_opt_out",
            detail={CARRIED: True},
            user_id=user_id,
            at=now,
        )
    )
    _stop_texting(session, patient, NURSE_NOTE, now)
    return True


def _stop_texting(session: Session, patient: Patient, summary: str, now: datetime) -> None:
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
