"""The tick's survey passes: send invitations, send reminders, expire closed windows."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from notifications import templates
from surveys.burden import web_burden

from ..alerts import raise_alert
from ..followup.conversation import first_question, in_conversation, pending_question
from ..messaging.links import LINK_PLACEHOLDER, token_hash_for
from ..messaging.outbox import cancel_pending, enqueue, enqueue_many, message_values
from ..models import (
    AlertKind,
    ContactChannel,
    FollowUpStatus,
    InstanceStatus,
    Message,
    Patient,
    Procedure,
    Site,
    SurveyInstance,
)
from ..storage.engine import session_scope
from .protocols import timepoints_for

LATE_AFTER = timedelta(hours=2)
VALIDITY_S = 4 * 3600  # a reminder or late text not delivered within 4 hours is dropped
ACTIVE_WINDOW = (InstanceStatus.SENT, InstanceStatus.IN_PROGRESS)


@dataclass
class SurveyPassReport:
    invited: int = 0
    reminded: int = 0
    expired: int = 0
    non_response_alerts: int = 0


def _context(session: Session, instances: Sequence[SurveyInstance]):
    """Patients, procedures and sites for a batch of instances, in three queries."""
    patient_ids = {i.patient_id for i in instances}
    patients = {p.id: p for p in session.exec(select(Patient).where(Patient.id.in_(patient_ids)))}
    procedures = {
        p.id: p
        for p in session.exec(
            select(Procedure).where(Procedure.id.in_({i.procedure_id for i in instances}))
        )
    }
    sites = {
        s.id: s
        for s in session.exec(
            select(Site).where(Site.id.in_({p.site_id for p in patients.values()}))
        )
    }
    return patients, procedures, sites


def _claim_candidates(session: Session, statement, limit: int) -> list[SurveyInstance]:
    return list(
        session.exec(statement.limit(limit).with_for_update(skip_locked=True, of=SurveyInstance))
    )


def _reminder_times(procedure: Procedure, instance: SurveyInstance) -> list[datetime]:
    plan = {tp.id: tp for tp in timepoints_for(procedure.protocol_id)}.get(instance.timepoint)
    hours = plan.reminder_hours if plan else ()
    base = instance.invited_at
    return [
        base + timedelta(hours=h) for h in hours if base + timedelta(hours=h) < instance.closes_at
    ]


def invite_due(
    engine: Engine, now: datetime, *, secret_key: str, worker: str, limit: int = 500
) -> int:
    """Write the invitation of every due instance into the outbox, once."""
    invited = 0
    while True:
        with session_scope(engine) as session:
            batch = _claim_candidates(
                session,
                select(SurveyInstance)
                .where(
                    SurveyInstance.status == InstanceStatus.SCHEDULED,
                    SurveyInstance.due_at <= now,
                )
                .order_by(SurveyInstance.due_at, SurveyInstance.id),
                limit,
            )
            if not batch:
                return invited
            invited += _invite_batch(session, batch, now, secret_key, worker)
        if len(batch) < limit:
            return invited


def _invite_batch(session: Session, batch, now: datetime, secret_key: str, worker: str) -> int:
    """Claim a batch (compare-and-set on status), then set links and queue texts in bulk."""
    patients, procedures, sites = _context(session, batch)
    eligible = {
        instance.id: instance
        for instance in batch
        if patients[instance.patient_id].status == FollowUpStatus.ACTIVE
        and instance.closes_at > now  # otherwise expiry takes it
    }
    if not eligible:
        return 0
    claimed = session.execute(
        update(SurveyInstance)
        .where(
            SurveyInstance.id.in_(list(eligible)),
            SurveyInstance.status == InstanceStatus.SCHEDULED,
        )
        .values(status=InstanceStatus.SENT, invited_at=now, claimed_by=worker)
        .returning(SurveyInstance.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    details, texts = [], []
    for instance_id in sorted(claimed):
        instance = eligible[instance_id]
        instance.invited_at = now
        reminders = _reminder_times(procedures[instance.procedure_id], instance)
        details.append(
            {
                "b_id": instance_id,
                "b_hash": token_hash_for(secret_key, instance_id, instance.link_version),
                "b_next": reminders[0] if reminders else None,
            }
        )
        patient = patients[instance.patient_id]
        if patient.textable:  # otherwise the nurse follows up by phone
            procedure = procedures[instance.procedure_id]
            texts.append(_invitation(instance, patient, sites[patient.site_id], procedure, now))
    if details:
        table = SurveyInstance.__table__
        session.connection().execute(
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(token_hash=bindparam("b_hash"), next_reminder_at=bindparam("b_next")),
            details,
        )
    enqueue_many(session, texts)
    return len(details)


def web_estimate(procedure: Procedure, instance: SurveyInstance) -> str:
    """How long the timepoint's web form takes, as "about 3 minutes"."""
    plan = {tp.id: tp for tp in timepoints_for(procedure.protocol_id)}.get(instance.timepoint)
    baseline = bool(plan and plan.is_baseline)
    return web_burden(list(instance.instruments), baseline=baseline).phrase


def _invitation(
    instance: SurveyInstance, patient: Patient, site: Site, procedure: Procedure, now: datetime
) -> dict:
    """The first text of a timepoint: a link, or the first question of a text conversation."""
    if patient.channel == ContactChannel.SMS:
        kind, body = "question", first_question(instance, patient, site)
    else:
        kind = "invitation"
        estimate = web_estimate(procedure, instance)
        body = templates.invitation(patient.first_name, site.name, LINK_PLACEHOLDER, estimate)
    late = now - instance.due_at > LATE_AFTER
    return message_values(
        key=f"invite:{instance.id}",
        kind=kind,
        to=patient.phone_e164,
        body=body,
        now=now,
        patient_id=patient.id,
        instance_id=instance.id,
        validity_period_s=VALIDITY_S if late else None,
    )


def remind_due(engine: Engine, now: datetime, *, limit: int = 500) -> int:
    """Queue the reminders that are due, once each, for surveys still unanswered."""
    reminded = 0
    with session_scope(engine) as session:
        batch = _claim_candidates(
            session,
            select(SurveyInstance)
            .where(
                SurveyInstance.status.in_(ACTIVE_WINDOW),
                SurveyInstance.next_reminder_at <= now,
            )
            .order_by(SurveyInstance.next_reminder_at),
            limit,
        )
        if not batch:
            return 0
        patients, procedures, sites = _context(session, batch)
        for instance in batch:
            patient = patients[instance.patient_id]
            times = _reminder_times(procedures[instance.procedure_id], instance)
            number = instance.reminders_sent + 1
            following = times[number] if number < len(times) else None
            claimed = session.execute(
                update(SurveyInstance)
                .where(
                    SurveyInstance.id == instance.id,
                    SurveyInstance.reminders_sent == instance.reminders_sent,
                    SurveyInstance.next_reminder_at == instance.next_reminder_at,
                )
                .values(reminders_sent=number, next_reminder_at=following)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1 or instance.closes_at <= now:
                continue
            if patient.status != FollowUpStatus.ACTIVE or not patient.textable:
                continue
            site = sites[patient.site_id]
            last = following is None
            if patient.channel == ContactChannel.SMS and in_conversation(instance):
                # A partly answered text conversation: the question waiting is asked again.
                pending = pending_question(session, instance)
                if pending is None:
                    continue
                body = templates.conversation_reminder(patient.first_name, site.name, *pending)
            elif patient.channel == ContactChannel.SMS:
                continue
            else:
                body = (
                    templates.last_reminder(patient.first_name, site.name, LINK_PLACEHOLDER)
                    if last
                    else templates.reminder(patient.first_name, site.name, LINK_PLACEHOLDER)
                )
            enqueue(
                session,
                key=f"remind:{instance.id}:{number}",
                kind="last_reminder" if last else "reminder",
                to=patient.phone_e164,
                body=body,
                now=now,
                patient_id=patient.id,
                instance_id=instance.id,
                validity_period_s=VALIDITY_S,
            )
            reminded += 1
    return reminded


def expire_closed(engine: Engine, now: datetime, *, limit: int = 1000) -> tuple[int, int]:
    """Close instances whose window has passed; alert after two misses in a row."""
    expired = alerts = 0
    with session_scope(engine) as session:
        batch = _claim_candidates(
            session,
            select(SurveyInstance).where(
                SurveyInstance.status.in_((InstanceStatus.SCHEDULED, *ACTIVE_WINDOW)),
                SurveyInstance.closes_at <= now,
            ),
            limit,
        )
        if not batch:
            return 0, 0
        patients, _procedures, sites = _context(session, batch)
        for instance in batch:
            done = session.execute(
                update(SurveyInstance)
                .where(SurveyInstance.id == instance.id, SurveyInstance.status == instance.status)
                .values(status=InstanceStatus.EXPIRED, next_reminder_at=None)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:
                continue
            expired += 1
            cancel_pending(session, "survey window closed", Message.instance_id == instance.id)
            patient = patients[instance.patient_id]
            if patient.status != FollowUpStatus.ACTIVE or not _missed_twice(session, instance):
                continue
            raised = raise_alert(
                session,
                site=sites[patient.site_id],
                patient_id=patient.id,
                kind=AlertKind.NON_RESPONSE,
                urgency="routine",
                summary=f"No answer at two timepoints in a row ({instance.timepoint}).",
                dedupe_key=f"non_response:{instance.id}",
                now=now,
                instance_id=instance.id,
            )
            alerts += 1 if raised else 0
    return expired, alerts


def _missed_twice(session: Session, instance: SurveyInstance) -> bool:
    """Whether this and the previous finished timepoint both went unanswered."""
    finished = session.exec(
        select(SurveyInstance.status)
        .where(
            SurveyInstance.procedure_id == instance.procedure_id,
            SurveyInstance.due_at <= instance.due_at,
            SurveyInstance.status.in_((InstanceStatus.EXPIRED, InstanceStatus.COMPLETED)),
        )
        .order_by(SurveyInstance.due_at.desc())
        .limit(2)
    ).all()
    return len(finished) == 2 and all(status == InstanceStatus.EXPIRED for status in finished)
