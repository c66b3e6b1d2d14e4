"""Expanding a protocol into survey instances, re-planning them, and stopping follow-up."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from ..messaging.outbox import cancel_pending
from ..messaging.timing import SendPolicy, local_midnight
from ..models import (
    OPEN_STATUSES,
    FollowUpStatus,
    InstanceStatus,
    Message,
    Patient,
    PatientEvent,
    Procedure,
    SurveyInstance,
)
from .protocols import TimepointPlan, timepoints_for
from .reminder_times import resume_reminders

NOT_YET_SENT = (InstanceStatus.SCHEDULED,)
# Why a survey never sent is cancelled by the plan (a later date move may plan it again).
CLOSED_BEFORE_ENROLMENT = "window closed before enrolment"
CLOSED_BY_THE_NEW_DATE = "window had closed by the new procedure date"
STILL_OPEN = (InstanceStatus.SCHEDULED, InstanceStatus.SENT, InstanceStatus.IN_PROGRESS)


@dataclass(frozen=True)
class DateChange:
    """What moving a procedure's date did to its surveys."""

    replanned: int  # not yet sent: planned again from the new date
    closed_early: int  # already sent, open, and due to close earlier: the window now ends
    reopened: int  # closed by an earlier move, open again now the date moved back
    window_passed: int  # not yet sent, whose window from the new date has closed


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    due_at: datetime
    closes_at: datetime


def window_for(
    timepoint: TimepointPlan,
    procedure_date: date,
    zone: str,
    *,
    enrolled_at: datetime,
    policy: SendPolicy,
) -> Window:
    """When a timepoint opens, is sent and closes, as UTC moments in the patient's zone.

    The baseline opens at enrolment, is sent at once (outside quiet hours) and closes at
    the end of the procedure day. Other timepoints are sent at the local send hour on their
    day and accept answers from the start of the first day to the end of the last day
    of their window.
    """
    closes_at = closes_at_for(timepoint, procedure_date, zone)
    if timepoint.is_baseline:
        due_at = policy.next_allowed(enrolled_at, zone)
        return Window(opens_at=enrolled_at, due_at=due_at, closes_at=closes_at)
    due_day = procedure_date + timedelta(days=timepoint.offset_days)
    opens_at = local_midnight(due_day - timedelta(days=timepoint.days_before), zone)
    return Window(opens_at=opens_at, due_at=policy.send_time_on(due_day, zone), closes_at=closes_at)


def closes_at_for(timepoint: TimepointPlan, procedure_date: date, zone: str) -> datetime:
    """When a timepoint stops accepting answers: the end of its window's last local day."""
    if timepoint.is_baseline:
        return local_midnight(procedure_date + timedelta(days=1), zone)
    last_day = procedure_date + timedelta(days=timepoint.offset_days + timepoint.days_after)
    return local_midnight(last_day + timedelta(days=1), zone)


def follow_up_ends_at(protocol_id: str, procedure_date: date, zone: str) -> datetime:
    """When the protocol's last window closes for a procedure on ``procedure_date``.

    From then on no survey of the procedure can be answered, so enrolling it would send
    nothing.
    """
    return max(closes_at_for(tp, procedure_date, zone) for tp in timepoints_for(protocol_id))


def plan_follow_up(
    session: Session,
    patient: Patient,
    procedure: Procedure,
    *,
    now: datetime,
    policy: SendPolicy | None = None,
) -> list[SurveyInstance]:
    """Create one instance per protocol timepoint that does not exist yet (idempotent)."""
    policy = policy or SendPolicy.from_env()
    existing = {
        instance.timepoint
        for instance in session.exec(
            select(SurveyInstance).where(SurveyInstance.procedure_id == procedure.id)
        )
    }
    created = []
    for timepoint in timepoints_for(procedure.protocol_id):
        if timepoint.id in existing:
            continue
        window = window_for(
            timepoint, procedure.procedure_date, patient.timezone, enrolled_at=now, policy=policy
        )
        instance = SurveyInstance(
            procedure_id=procedure.id,
            patient_id=patient.id,
            timepoint=timepoint.id,
            day_offset=timepoint.offset_days,
            instruments=list(timepoint.instruments),
            opens_at=window.opens_at,
            due_at=window.due_at,
            closes_at=window.closes_at,
        )
        if window.closes_at <= now or window.due_at >= window.closes_at:
            instance.status = InstanceStatus.CANCELLED
            instance.status_reason = CLOSED_BEFORE_ENROLMENT
        session.add(instance)
        created.append(instance)
    session.flush()
    return created


def change_procedure_date(
    session: Session,
    procedure: Procedure,
    new_date: date,
    *,
    user_id: int | None,
    now: datetime,
    policy: SendPolicy | None = None,
) -> DateChange:
    """Move the procedure and re-plan the instances not yet sent.

    Instances already sent keep their times, so a date change never sends anything twice;
    but one not yet finished whose window ends earlier from the new date closes then (at
    once if that has passed), so no answer given after its new window (a "before the
    procedure" answer given after the procedure, say) is kept as if it were inside it.
    Its close as planned is kept, so moving the date back (a typing slip corrected)
    restores it, reopening the survey if it was closed meanwhile.
    While follow-up is stopped or paused nothing is scheduled: the instances the stop
    cancelled and never sent get the new date's windows and stay cancelled for that
    stop, so restarting or resuming plans them from the new date. Calling it again with
    the same date changes nothing.
    """
    if procedure.procedure_date == new_date:
        return DateChange(0, 0, 0, 0)
    policy = policy or SendPolicy.from_env()
    patient = session.get(Patient, procedure.patient_id)
    old_date = procedure.procedure_date
    procedure.procedure_date = new_date
    plans = {tp.id: tp for tp in timepoints_for(procedure.protocol_id)}
    moved = closed = reopened = past = 0
    instances = session.exec(
        select(SurveyInstance).where(SurveyInstance.procedure_id == procedure.id)
    ).all()
    held = patient.status != FollowUpStatus.ACTIVE
    for instance in instances:
        plan = plans.get(instance.timepoint)
        if plan is None:
            continue
        if _sent_and_unfinished(instance, patient):
            new_close = closes_at_for(plan, new_date, patient.timezone)
            brought_in, opened = _follow_the_date(
                instance, new_close, now, active=not held, protocol_id=procedure.protocol_id
            )
            closed, reopened = closed + brought_in, reopened + opened
            continue
        if not _movable(instance, patient):
            continue
        enrolled_at = instance.opens_at if plan.is_baseline else now
        window = window_for(
            plan, new_date, patient.timezone, enrolled_at=enrolled_at, policy=policy
        )
        instance.opens_at, instance.due_at, instance.closes_at = (
            window.opens_at,
            window.due_at,
            window.closes_at,
        )
        if window.closes_at <= now:
            instance.status = InstanceStatus.CANCELLED
            instance.status_reason = CLOSED_BY_THE_NEW_DATE
            past += 1
            continue
        if held:  # planned again when follow-up restarts or resumes
            instance.status = InstanceStatus.CANCELLED
            instance.status_reason = patient.status_reason
        else:
            instance.status = InstanceStatus.SCHEDULED
            instance.status_reason = None
        moved += 1
    session.add(
        PatientEvent(
            patient_id=procedure.patient_id,
            kind="procedure_date_changed",
            detail={
                "from": old_date.isoformat(),
                "to": new_date.isoformat(),
                "replanned": moved,
                "window_passed": past,
                "closed_early": closed,
                "reopened": reopened,
            },
            user_id=user_id,
            at=now,
        )
    )
    session.flush()
    return DateChange(moved, closed, reopened, past)


def _sent_and_unfinished(instance: SurveyInstance, patient: Patient) -> bool:
    """Sent and not completed: open, held by the stop or pause in force, or closed by an
    earlier date move (its close as planned is kept)."""
    if instance.invited_at is None or instance.completed_at is not None:
        return False
    if instance.status in OPEN_STATUSES:
        return True
    if instance.status == InstanceStatus.EXPIRED:
        return instance.closes_at_as_planned is not None
    return (
        instance.status == InstanceStatus.CANCELLED
        and patient.status != FollowUpStatus.ACTIVE
        and instance.status_reason == patient.status_reason
    )


def _follow_the_date(
    instance: SurveyInstance, new_close: datetime, now: datetime, *, active: bool, protocol_id: str
) -> tuple[int, int]:
    """Close a sent survey by its window from the new date, never later than planned;
    (1 if its close came in, 1 if it reopened). ``active``: follow-up is not held."""
    planned = instance.closes_at_as_planned or instance.closes_at
    target = min(planned, new_close)
    instance.closes_at_as_planned = planned if target < planned else None
    if instance.status == InstanceStatus.EXPIRED:
        if target <= now or not active:
            instance.closes_at_as_planned = planned
            return 0, 0
        instance.closes_at = target
        instance.status = _open_status(instance)
        resume_reminders(protocol_id, instance, now)
        return 0, 1
    ends = max(target, now)  # the expiry pass closes it as any other
    brought_in = ends < instance.closes_at
    instance.closes_at = ends
    return int(brought_in), 0


def _open_status(instance: SurveyInstance) -> str:
    """A sent survey opened again: in progress if anything was answered, else sent."""
    return InstanceStatus.IN_PROGRESS if instance.progress else InstanceStatus.SENT


def _cancelled_by_plan(instance: SurveyInstance) -> bool:
    return instance.status_reason in (CLOSED_BEFORE_ENROLMENT, CLOSED_BY_THE_NEW_DATE)


def _movable(instance: SurveyInstance, patient: Patient) -> bool:
    """Whether a date change re-plans this instance: never sent, and planned, or cancelled
    by the plan (its window had closed) or by the stop or pause now in force."""
    if instance.status in NOT_YET_SENT:
        return True
    if instance.status != InstanceStatus.CANCELLED or instance.invited_at is not None:
        return False
    held_by_stop = (
        patient.status != FollowUpStatus.ACTIVE
        and instance.completed_at is None
        and instance.status_reason == patient.status_reason
    )
    return _cancelled_by_plan(instance) or held_by_stop


def stop_follow_up(
    session: Session,
    patient: Patient,
    *,
    status: str,
    reason: str,
    user_id: int | None,
    now: datetime,
) -> int:
    """Pause or stop a patient's follow-up: cancel open instances and unsent messages."""
    patient.status = status
    patient.status_reason = reason
    instances = session.exec(
        select(SurveyInstance).where(
            SurveyInstance.patient_id == patient.id, SurveyInstance.status.in_(STILL_OPEN)
        )
    ).all()
    for instance in instances:
        instance.status = InstanceStatus.CANCELLED
        instance.status_reason = reason
        instance.next_reminder_at = None
    cancel_pending(session, f"follow-up {status}: {reason}", Message.patient_id == patient.id)
    session.add(
        PatientEvent(
            patient_id=patient.id,
            kind=f"follow_up_{status}",
            detail={"reason": reason, "cancelled": len(instances)},
            user_id=user_id,
            at=now,
        )
    )
    session.flush()
    return len(instances)


@dataclass
class Reopened:
    """What restarting follow-up did: timepoints open again, and those whose window closed."""

    reopened: list[SurveyInstance]
    closed: list[SurveyInstance]


def reopen_follow_up(
    session: Session, patient: Patient, *, cancelled_reason: str, now: datetime
) -> Reopened:
    """Re-plan the timepoints that ``stop_follow_up`` cancelled with ``cancelled_reason``.

    A timepoint whose window is still open goes back to where it was: scheduled if it was
    never sent (the next tick sends it), otherwise sent or in progress, keeping its link and
    its answers. A timepoint whose window closed meanwhile stays cancelled. Nothing is queued
    here, so nothing already sent goes again.
    """
    cancelled = session.exec(
        select(SurveyInstance)
        .where(
            SurveyInstance.patient_id == patient.id,
            SurveyInstance.status == InstanceStatus.CANCELLED,
            SurveyInstance.status_reason == cancelled_reason,
            SurveyInstance.completed_at.is_(None),
        )
        .order_by(SurveyInstance.due_at)
    ).all()
    result = Reopened(reopened=[], closed=[])
    for instance in cancelled:
        if instance.closes_at <= now:
            result.closed.append(instance)
            continue
        if instance.invited_at is None:
            instance.status = InstanceStatus.SCHEDULED
        else:
            instance.status = _open_status(instance)
            procedure = session.get(Procedure, instance.procedure_id)
            resume_reminders(procedure.protocol_id, instance, now)
        instance.status_reason = None
        result.reopened.append(instance)
    patient.status = FollowUpStatus.ACTIVE
    patient.status_reason = None
    session.flush()
    return result
