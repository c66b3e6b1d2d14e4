"""The outbox: queue texts once, deliver them with leases, retries and reconciliation.

A message is written once (its idempotency key is unique), claimed with a lease before
it is handed to the channel, and its outcome recorded straight after. A process that
dies in between leaves the message ``sending`` with a lapsed lease; the next tick marks
it ``unknown`` and asks the channel whether it went out before sending it again.
"""

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from notifications import (
    Channel,
    OutgoingSms,
    PermanentSendError,
    SendError,
    TransientSendError,
    UnknownOutcomeError,
)
from notifications.sms_text import segment_info

from ..models import Direction, Message, MessageStatus, Patient, SurveyInstance
from ..storage.engine import session_scope
from ..storage.upsert import insert_ignore, insert_ignore_statement
from .links import LINK_PLACEHOLDER, render_body, survey_url
from .timing import SendPolicy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12
BACKOFF_BASE_S = 60
BACKOFF_CAP_S = 30 * 60
DELIVERY_BUDGET_S = 45.0  # real seconds a pass may spend handing texts to the channel
# Kinds that wait for the morning; replies and on-call notices go at once.
QUIET_HOURS_KINDS = frozenset({"invitation", "reminder", "last_reminder", "question"})
SAMPLE_LINK = survey_url("https://pro.example.org", "x" * 32)


@dataclass
class LinkContext:
    """What turns a stored ``{link}`` into a real one at send time."""

    secret_key: str
    base_url: str
    status_callback_url: str | None = None

    def callback_for(self, message_id: int) -> str | None:
        """The status callback URL, carrying the message's own id (settles unknown sends)."""
        if not self.status_callback_url:
            return None
        return f"{self.status_callback_url}?m={message_id}"


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    reconciled: int = 0
    unknown: int = 0
    failures: list[int] = field(default_factory=list)


def message_values(
    *,
    key: str,
    kind: str,
    to: str,
    body: str,
    now: datetime,
    patient_id: int | None,
    instance_id: int | None = None,
    validity_period_s: int | None = None,
    status: MessageStatus = MessageStatus.PENDING,
) -> dict:
    """Every column of an outgoing message row, ready to insert."""
    info = segment_info(body.replace(LINK_PLACEHOLDER, SAMPLE_LINK))
    return {
        "patient_id": patient_id,
        "instance_id": instance_id,
        "direction": Direction.OUT.value,
        "kind": kind,
        "to_number": to,
        "from_number": None,
        "body": body,
        "status": MessageStatus(status).value,
        "idempotency_key": key,
        "provider_sid": None,
        "attempts": 0,
        "next_attempt_at": now,
        "claimed_by": None,
        "claimed_until": None,
        "last_error": None,
        "error_code": None,
        "validity_period_s": validity_period_s,
        "segments": info.segments,
        "encoding": info.encoding,
        "created_at": now,
        "sent_at": None,
        "delivered_at": None,
    }


def enqueue(session: Session, **fields) -> int | None:
    """Queue one outgoing text under a unique key; a second call with the key does nothing.

    Takes the keyword arguments of ``message_values``; returns the new id or None.
    """
    return insert_ignore(session, Message, message_values(**fields))


def enqueue_many(session: Session, rows: list[dict]) -> None:
    """Queue many texts at once (rows from ``message_values``); known keys are skipped."""
    if rows:
        session.execute(insert_ignore_statement(session, Message), rows)


def cancel_pending(session: Session, reason: str, *criteria) -> int:
    """Cancel outgoing texts still waiting to go that match ``criteria``; return how many."""
    result = session.execute(
        update(Message)
        .where(Message.status == MessageStatus.PENDING, *criteria)
        .values(status=MessageStatus.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter, never sooner than the provider's Retry-After."""
    delay = min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S)
    delay *= random.uniform(0.8, 1.2)
    if retry_after:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def mark_lapsed_unknown(engine: Engine, now: datetime) -> int:
    """Messages whose sender died mid-send: their outcome is unknown until reconciled."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Message)
            .where(Message.status == MessageStatus.SENDING, Message.claimed_until < now)
            .values(status=MessageStatus.UNKNOWN, last_error="sender stopped before recording")
        )
        return result.rowcount or 0


def reconcile_unknown(engine: Engine, channel: Channel, links: LinkContext, now: datetime) -> int:
    """Ask the channel whether each ``unknown`` message went out; requeue those that did not."""
    finder = getattr(channel, "find_sent", None)
    resolved = 0
    with session_scope(engine) as session:
        messages = session.exec(
            select(Message).where(Message.status == MessageStatus.UNKNOWN).limit(200)
        ).all()
        for message in messages:
            since = (message.claimed_until or now) - LEASE - timedelta(minutes=1)
            body = render_body(
                message.body,
                secret_key=links.secret_key,
                base_url=links.base_url,
                instance=session.get(SurveyInstance, message.instance_id)
                if message.instance_id
                else None,
            )
            try:
                found = finder(message.to_number, since, body) if finder else []
            except SendError as exc:  # ask again next tick; never resend blind
                log.warning("cannot reconcile message %s yet: %s", message.id, exc)
                continue
            if found:
                message.status = MessageStatus.SENT
                message.provider_sid = found[0].provider_sid
                message.sent_at = message.sent_at or now
                message.last_error = "reconciled: it had been sent"
            else:
                message.status = MessageStatus.PENDING
                message.next_attempt_at = now
                message.last_error = "reconciled: not sent, queued again"
            message.claimed_by = message.claimed_until = None
            resolved += 1
    return resolved


def claim_batch(
    engine: Engine, worker: str, now: datetime, policy: SendPolicy, limit: int
) -> tuple[list[int], int]:
    """Lease up to ``limit`` due messages to ``worker``; quiet-hour ones wait for morning."""
    claimed: list[int] = []
    deferred = 0
    with session_scope(engine) as session:
        rows = session.exec(
            select(Message, Patient.timezone)
            .join(Patient, Patient.id == Message.patient_id, isouter=True)
            .where(
                Message.status == MessageStatus.PENDING,
                Message.direction == Direction.OUT,
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            )
            .order_by(Message.next_attempt_at, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Message)
        ).all()
        wanted: list[int] = []
        waits: list[dict] = []
        for message, zone in rows:
            allowed = (
                policy.next_allowed(now, zone)
                if message.kind in QUIET_HOURS_KINDS and zone
                else now
            )
            if allowed > now:
                waits.append({"b_id": message.id, "b_at": allowed})
            else:
                wanted.append(message.id)
        if waits:
            table = Message.__table__
            session.connection().execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(next_attempt_at=bindparam("b_at")),
                waits,
            )
        deferred = len(waits)
        if wanted:
            # Compare-and-set: on SQLite, where FOR UPDATE is ignored, this is the claim.
            claimed = list(
                session.execute(
                    update(Message)
                    .where(Message.id.in_(wanted), Message.status == MessageStatus.PENDING)
                    .values(
                        status=MessageStatus.SENDING,
                        claimed_by=worker,
                        claimed_until=now + LEASE,
                        attempts=Message.attempts + 1,
                    )
                    .returning(Message.id)
                    .execution_options(synchronize_session=False)
                ).scalars()
            )
    return claimed, deferred


def deliver(
    engine: Engine,
    channel: Channel,
    links: LinkContext,
    *,
    worker: str,
    now: datetime,
    policy: SendPolicy,
    batch: int = 500,
    budget_s: float = DELIVERY_BUDGET_S,
    on_permanent_failure=None,
) -> DeliveryReport:
    """Hand due messages to the channel, batch by batch, recording each outcome as it comes.

    Stops when nothing is due or after ``budget_s`` seconds of real time, so that a slow
    provider never holds up the rest of the scheduling pass for long.
    """
    report = DeliveryReport()
    report.unknown = mark_lapsed_unknown(engine, now)
    report.reconciled = reconcile_unknown(engine, channel, links, now)
    started = time.monotonic()
    while time.monotonic() - started < budget_s:
        claimed, deferred = claim_batch(engine, worker, now, policy, batch)
        report.deferred += deferred
        with _recording_connection(engine) as connection:
            for message_id, outgoing in _outgoing(engine, claimed, links):
                _send_one(
                    engine,
                    connection,
                    channel,
                    message_id,
                    outgoing,
                    now,
                    report,
                    on_permanent_failure,
                )
        if len(claimed) + deferred < batch:
            break
    return report


def _outgoing(
    engine: Engine, message_ids: list[int], links: LinkContext
) -> list[tuple[int, OutgoingSms]]:
    """The texts to send for a batch of claimed messages, links filled in (two queries)."""
    if not message_ids:
        return []
    with Session(engine) as session:
        rows = session.exec(select(Message).where(Message.id.in_(message_ids))).all()
        instance_ids = {m.instance_id for m in rows if m.instance_id}
        instances = {
            i.id: i
            for i in session.exec(select(SurveyInstance).where(SurveyInstance.id.in_(instance_ids)))
        }
    prepared = []
    for message in sorted(rows, key=lambda m: m.id):
        body = render_body(
            message.body,
            secret_key=links.secret_key,
            base_url=links.base_url,
            instance=instances.get(message.instance_id),
        )
        prepared.append(
            (
                message.id,
                OutgoingSms(
                    to=message.to_number,
                    body=body,
                    idempotency_key=message.idempotency_key or f"message:{message.id}",
                    status_callback=links.callback_for(message.id),
                    validity_period_s=message.validity_period_s,
                ),
            )
        )
    return prepared


def _send_one(
    engine, connection, channel, message_id, outgoing, now, report, on_permanent_failure
) -> None:
    """Send one text and record what happened straight away."""
    try:
        receipt = channel.send(outgoing)
    except TransientSendError as exc:
        _record(engine, message_id, now, error=exc, transient=True, report=report)
    except PermanentSendError as exc:
        _record(engine, message_id, now, error=exc, transient=False, report=report)
        if on_permanent_failure:
            on_permanent_failure(message_id, exc, now)
    except UnknownOutcomeError as exc:
        with session_scope(engine) as session:
            message = session.get(Message, message_id)
            message.status = MessageStatus.UNKNOWN
            message.last_error = str(exc)[:500]
        report.unknown += 1
    else:
        delivered = receipt.status == "delivered"
        with connection.begin():
            connection.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(
                    status=MessageStatus.DELIVERED if delivered else MessageStatus.SENT,
                    provider_sid=receipt.provider_sid,
                    sent_at=now,
                    delivered_at=now if delivered else None,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
        report.sent += 1


@contextmanager
def _recording_connection(engine: Engine) -> Iterator[Connection]:
    """One connection to record a batch's outcomes, not waiting for the disk on PostgreSQL.

    If the server crashed before a write reached disk, that message would be back in
    ``sending``, then ``unknown``, and reconciled with the provider: never sent blind.
    """
    with engine.connect() as connection:
        relaxed = connection.dialect.name == "postgresql"
        if relaxed:
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
            connection.commit()
        try:
            yield connection
        finally:
            if relaxed:
                connection.rollback()
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()


def _record(engine, message_id, now, *, error, transient: bool, report: DeliveryReport) -> None:
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        message.last_error = str(error)[:500]
        message.error_code = getattr(error, "code", None)
        message.claimed_by = message.claimed_until = None
        if transient and message.attempts < MAX_ATTEMPTS:
            message.status = MessageStatus.PENDING
            message.next_attempt_at = now + backoff(
                message.attempts, getattr(error, "retry_after", None)
            )
            report.retried += 1
        else:
            message.status = MessageStatus.FAILED
            report.failed += 1
            report.failures.append(message_id)
