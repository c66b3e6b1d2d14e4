"""What a nurse can do to a patient's follow-up besides moving the date or stopping it:
resend a link, switch channel, pause and resume, correct the mobile number, record a
safety event. Each writes a ``PatientEvent`` so the record shows who changed what.
"""

from datetime import date, datetime

from sqlmodel import Session, select

from notifications import templates

from ..clinical_dates import procedure_date_problem
from ..enrolment import normalise_mobile
from ..messaging.links import LINK_PLACEHOLDER, token_hash_for
from ..messaging.outbox import cancel_pending, enqueue
from ..models import (
    OPEN_STATUSES,
    FollowUpStatus,
    InstanceStatus,
    Message,
    Patient,
    PatientEvent,
    Procedure,
    SafetyEvent,
    Site,
    SurveyInstance,
)
from ..scheduling.invitations import web_estimate
from ..scheduling.plan import change_procedure_date, stop_follow_up


class ActionRefused(ValueError):
    """The action cannot be taken; the message says why in words a nurse can act on."""


def _event(session: Session, patient: Patient, kind: str, detail: dict, user_id, now) -> None:
    session.add(
        PatientEvent(patient_id=patient.id, kind=kind, detail=detail, user_id=user_id, at=now)
    )


def resend_link(
    session: Session,
    patient: Patient,
    instance: SurveyInstance,
    *,
    secret_key: str,
    user_id: int,
    now: datetime,
) -> None:
    """Text a fresh link to an open survey; the earlier link stops working."""
    if instance.status not in OPEN_STATUSES or instance.closes_at <= now:
        raise ActionRefused("Only a survey that is open now can be sent again.")
    if not patient.textable:
        raise ActionRefused(
            "Texts cannot reach this patient (opted out, no consent or a number problem)."
        )
    site = session.get(Site, patient.site_id)
    instance.link_version += 1
    instance.token_hash = token_hash_for(secret_key, instance.id, instance.link_version)
    enqueue(
        session,
        key=f"invite:{instance.id}:v{instance.link_version}",
        kind="invitation",
        to=patient.phone_e164,
        body=templates.invitation(
            patient.first_name,
            site.name,
            LINK_PLACEHOLDER,
            web_estimate(session.get(Procedure, instance.procedure_id), instance),
        ),
        now=now,
        patient_id=patient.id,
        instance_id=instance.id,
    )
    _event(
        session,
        patient,
        "link_resent",
        {"timepoint": instance.timepoint, "link_version": instance.link_version},
        user_id,
        now,
    )


def switch_channel(
    session: Session, patient: Patient, channel: str, *, user_id: int, now: datetime
) -> None:
    """Ask by web link or by text conversation from the next survey on."""
    if channel == patient.channel:
        return
    _event(
        session, patient, "channel_changed", {"from": patient.channel, "to": channel}, user_id, now
    )
    patient.channel = channel


def correct_mobile(
    session: Session, patient: Patient, raw: str, *, user_id: int, now: datetime
) -> None:
    """Replace the mobile number; texts still waiting for the old number are cancelled."""
    site = session.get(Site, patient.site_id)
    try:
        number = normalise_mobile(raw, site.phone_region)
    except ValueError as exc:
        raise ActionRefused(str(exc)) from None
    if number == patient.phone_e164 and not patient.phone_problem:
        return
    cancelled = cancel_pending(
        session,
        "mobile number corrected",
        Message.patient_id == patient.id,
        Message.to_number != number,
    )
    _event(
        session,
        patient,
        "mobile_corrected",
        {"cleared_problem": patient.phone_problem, "cancelled_texts": cancelled},
        user_id,
        now,
    )
    patient.phone_e164 = number
    patient.phone_problem = None


def pause(session: Session, patient: Patient, reason: str, *, user_id: int, now: datetime) -> int:
    """Stop texting for now: open and planned surveys are cancelled until resumed."""
    if patient.status != FollowUpStatus.ACTIVE:
        raise ActionRefused("Only active follow-up can be paused.")
    return stop_follow_up(
        session, patient, status=FollowUpStatus.PAUSED, reason=reason, user_id=user_id, now=now
    )


def resume(session: Session, patient: Patient, *, user_id: int, now: datetime) -> int:
    """Restart paused follow-up: surveys whose window has not closed are planned again."""
    if patient.status != FollowUpStatus.PAUSED:
        raise ActionRefused("Only paused follow-up can be resumed.")
    paused_reason = patient.status_reason
    waiting = session.exec(
        select(SurveyInstance).where(
            SurveyInstance.patient_id == patient.id,
            SurveyInstance.status == InstanceStatus.CANCELLED,
            SurveyInstance.status_reason == paused_reason,
            SurveyInstance.completed_at.is_(None),
            SurveyInstance.closes_at > now,
        )
    ).all()
    for instance in waiting:
        instance.status = (
            InstanceStatus.SCHEDULED if instance.invited_at is None else InstanceStatus.SENT
        )
        instance.status_reason = None
        if instance.status == InstanceStatus.SENT and instance.progress:
            instance.status = InstanceStatus.IN_PROGRESS
    patient.status = FollowUpStatus.ACTIVE
    patient.status_reason = None
    _event(session, patient, "follow_up_resumed", {"replanned": len(waiting)}, user_id, now)
    return len(waiting)


def record_safety_event(
    session: Session,
    patient: Patient,
    procedure: Procedure,
    *,
    kind: str,
    grade: int,
    event_date: date,
    symptomatic: bool | None,
    notes: str | None,
    user_id: int,
    now: datetime,
) -> SafetyEvent:
    """Record a clinician-reported complication of the procedure."""
    if event_date < procedure.procedure_date:
        raise ActionRefused("A complication cannot come before the procedure date.")
    if event_date > now.date():
        raise ActionRefused("The event date is in the future.")
    event = SafetyEvent(
        patient_id=patient.id,
        procedure_id=procedure.id,
        kind=kind,
        symptomatic=symptomatic,
        grade=grade,
        event_date=event_date,
        notes=(notes or "").strip()[:2000] or None,
        recorded_by=user_id,
        recorded_at=now,
    )
    session.add(event)
    session.flush()
    return event


def move_procedure_date(
    session: Session, procedure: Procedure, new_date: date, *, user_id: int, now: datetime
) -> int:
    """Correct the procedure date (within the accepted range) and re-plan unsent surveys."""
    problem = procedure_date_problem(new_date, now.date())
    if problem:
        raise ActionRefused(problem[0].upper() + problem[1:] + ".")
    return change_procedure_date(session, procedure, new_date, user_id=user_id, now=now)
