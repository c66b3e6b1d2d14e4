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
from ..followup.answer_saving import SURVEY_LOCK, read_locked
from ..followup.conversation import first_question, in_conversation, pending_question
from ..followup.unsent import complete_if_answered_in_full
from ..messaging.links import LINK_PLACEHOLDER, token_hash_for
from ..messaging.outbox import (
    Clock,
    cancel_pending,
    enqueue,
    enqueue_many,
    message_values,
    pass_clock,
)
from ..models import (
    NOT_FINISHED_STATUSES,
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
from .reminder_times import reminder_times

# Seconds of each pass a stage may use; what is left waits for the next pass.
EXPIRE_BUDGET_S = 10.0
INVITE_BUDGET_S = 10.0
REMIND_BUDGET_S = 5.0
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
        session.exec(
            statement.limit(limit).with_for_update(
                skip_locked=True, of=SurveyInstance, **SURVEY_LOCK
            )
        )
    )


def invite_due(
    engine: Engine,
    now: datetime,
    *,
    secret_key: str,
    worker: str,
    limit: int = 500,
    clock: Clock | None = None,
    budget_s: float = INVITE_BUDGET_S,
) -> int:
    """Write the invitation of every due instance into the outbox, once.

    Only instances that can still be invited are read (window open, follow-up active),
    so every batch makes progress; closed windows are left to ``expire_closed``. Stops
    after ``budget_s`` seconds; the rest is invited by the next pass.
    """
    clock = clock or pass_clock(now)
    deadline = clock() + timedelta(seconds=budget_s)
    invited = 0
    while True:
        with session_scope(engine) as session:
            batch = _claim_candidates(
                session,
                select(SurveyInstance)
                .join(Patient, Patient.id == SurveyInstance.patient_id)
                .where(
                    SurveyInstance.status == InstanceStatus.SCHEDULED,
                    SurveyInstance.due_at <= now,
                    SurveyInstance.closes_at > now,
                    Patient.status == FollowUpStatus.ACTIVE,
                )
                .order_by(SurveyInstance.due_at, SurveyInstance.id),
                limit,
            )
            if not batch:
                return invited
            invited += _invite_batch(session, batch, now, secret_key, worker)
        if len(batch) < limit or clock() >= deadline:
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
    estimates: dict[tuple, str] = {}  # one estimate per timepoint, not per patient
    for instance_id in sorted(claimed):
        instance = eligible[instance_id]
        instance.invited_at = now
        reminders = reminder_times(procedures[instance.procedure_id].protocol_id, instance)
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
            site = sites[patient.site_id]
            texts.append(_invitation(instance, patient, site, procedure, now, estimates))
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
    instance: SurveyInstance,
    patient: Patient,
    site: Site,
    procedure: Procedure,
    now: datetime,
    estimates: dict[tuple, str],
) -> dict:
    """The first text of a timepoint: a link, or the first question of a text conversation.

    ``estimates`` keeps the time estimates already worked out in this batch.
    """
    if patient.channel == ContactChannel.SMS:
        kind, body = "question", first_question(instance, patient, site)
    else:
        kind = "invitation"
        key = (procedure.protocol_id, instance.timepoint, tuple(instance.instruments))
        if key not in estimates:
            estimates[key] = web_estimate(procedure, instance)
        estimate = estimates[key]
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


def remind_due(
    engine: Engine,
    now: datetime,
    *,
    limit: int = 500,
    clock: Clock | None = None,
    budget_s: float = REMIND_BUDGET_S,
) -> int:
    """Queue the reminders that are due, once each, for surveys still unanswered."""
    clock = clock or pass_clock(now)
    deadline = clock() + timedelta(seconds=budget_s)
    reminded = 0
    while True:
        with session_scope(engine) as session:
            batch = _claim_candidates(
                session,
                select(SurveyInstance)
                .where(
                    SurveyInstance.status.in_(ACTIVE_WINDOW),
                    SurveyInstance.next_reminder_at <= now,
                )
                .order_by(SurveyInstance.next_reminder_at, SurveyInstance.id),
                limit,
            )
            reminded += _remind_batch(session, batch, now)
        if len(batch) < limit or clock() >= deadline:
            return reminded


def _remind_batch(session: Session, batch: list[SurveyInstance], now: datetime) -> int:
    """Advance each instance's reminder (compare-and-set) and queue the text if it may go."""
    reminded = 0
    if batch:
        patients, procedures, sites = _context(session, batch)
        for instance in batch:
            patient = patients[instance.patient_id]
            times = reminder_times(procedures[instance.procedure_id].protocol_id, instance)
            number = instance.reminders_sent + 1
            while number < len(times) and times[number] <= now:
                number += 1  # after an outage, only the latest overdue reminder goes
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


def expire_closed(
    engine: Engine,
    now: datetime,
    *,
    limit: int = 1000,
    clock: Clock | None = None,
    budget_s: float = EXPIRE_BUDGET_S,
) -> tuple[int, int]:
    """Close instances whose window has passed; alert after two misses in a row.

    Works in batches, the earliest closed first, for at most ``budget_s`` seconds; a
    larger backlog is closed by the following passes. On PostgreSQL the candidates are
    read in ``closes_at`` order from a partial index over the unfinished rows only, so
    with a year of finished surveys in the table "nothing to expire" is one index probe.
    """
    clock = clock or pass_clock(now)
    deadline = clock() + timedelta(seconds=budget_s)
    expired = alerts = 0
    while True:
        with session_scope(engine) as session:
            batch = _claim_candidates(
                session,
                select(SurveyInstance)
                .where(_not_finished(), SurveyInstance.closes_at <= now)
                .order_by(SurveyInstance.closes_at, SurveyInstance.id),
                limit,
            )
            done, raised = _expire_batch(session, batch, now)
            expired, alerts = expired + done, alerts + raised
        if len(batch) < limit or clock() >= deadline:
            return expired, alerts


def _not_finished():
    """``status IN ('scheduled', 'sent', 'in_progress')`` with the values written into the
    SQL, so that PostgreSQL can match the partial index's predicate in every plan
    (a prepared statement's generic plan cannot prove it from parameters)."""
    statuses = [status.value for status in NOT_FINISHED_STATUSES]
    return SurveyInstance.status.in_(
        bindparam("not_finished", statuses, expanding=True, literal_execute=True)
    )


def _expire_batch(session: Session, batch: list[SurveyInstance], now: datetime) -> tuple[int, int]:
    if not batch:
        return 0, 0
    # Answered in full but never sent: completed, not expired (see followup.unsent). The
    # batch was claimed FOR UPDATE, so the save lock is already held for each.
    for instance in batch:
        read_locked(session, instance)
    batch = [i for i in batch if not complete_if_answered_in_full(session, i, now=now)]
    if not batch:
        return 0, 0
    session.flush()
    closed = set(
        session.execute(
            update(SurveyInstance)
            .where(
                SurveyInstance.id.in_([i.id for i in batch]),
                _not_finished(),
                SurveyInstance.closes_at <= now,
            )
            .values(status=InstanceStatus.EXPIRED, next_reminder_at=None)
            .returning(SurveyInstance.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if not closed:
        return 0, 0
    cancel_pending(session, "survey window closed", Message.instance_id.in_(closed))
    patients, _procedures, sites = _context(session, batch)
    expired = [i for i in batch if i.id in closed]
    missed_twice = _missed_twice(session, expired)
    alerts = 0
    for instance in expired:
        patient = patients[instance.patient_id]
        if patient.status != FollowUpStatus.ACTIVE or instance.id not in missed_twice:
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
    return len(closed), alerts


def _missed_twice(session: Session, instances: list[SurveyInstance]) -> set[int]:
    """The instances for which this and the previous finished timepoint both went
    unanswered (one query for the whole batch)."""
    if not instances:
        return set()
    finished: dict[int, list[tuple[datetime, int, str]]] = {}
    for procedure_id, due_at, instance_id, status in session.exec(
        select(
            SurveyInstance.procedure_id,
            SurveyInstance.due_at,
            SurveyInstance.id,
            SurveyInstance.status,
        ).where(
            SurveyInstance.procedure_id.in_({i.procedure_id for i in instances}),
            SurveyInstance.status.in_((InstanceStatus.EXPIRED, InstanceStatus.COMPLETED)),
        )
    ):
        finished.setdefault(procedure_id, []).append((due_at, instance_id, status))
    missed = set()
    for instance in instances:
        earlier = sorted(
            (f for f in finished.get(instance.procedure_id, []) if f[0] <= instance.due_at),
            key=lambda f: f[0],
            reverse=True,
        )[:2]
        if len(earlier) == 2 and all(f[2] == InstanceStatus.EXPIRED for f in earlier):
            missed.add(instance.id)
    return missed
