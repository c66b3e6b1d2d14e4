"""The outbox: queue texts once, deliver them with leases, retries and reconciliation.

A message is written once (its idempotency key is unique), claimed with a lease before
it is handed to the channel, and its outcome recorded straight after. A process that
dies in between leaves the message ``sending`` with a lapsed lease; the next tick marks
it ``unknown`` and asks the channel whether it went out before sending it again.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
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

from ..db import session_scope
from ..models import (
    Direction,
    Message,
    MessageStatus,
    Patient,
    SurveyInstance,
)
from ..upsert import insert_ignore
from .links import LINK_PLACEHOLDER, render_body, survey_url
from .timing import SendPolicy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12
BACKOFF_BASE_S = 60
BACKOFF_CAP_S = 30 * 60
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


def enqueue(
    session: Session,
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
) -> int | None:
    """Queue one outgoing text under a unique key; a second call with the key does nothing."""
    info = segment_info(body.replace(LINK_PLACEHOLDER, SAMPLE_LINK))
    return insert_ignore(
        session,
        Message,
        {
            "patient_id": patient_id,
            "instance_id": instance_id,
            "direction": Direction.OUT,
            "kind": kind,
            "to_number": to,
            "body": body,
            "status": status,
            "idempotency_key": key,
            "next_attempt_at": now,
            "validity_period_s": validity_period_s,
            "segments": info.segments,
            "encoding": info.encoding,
            "created_at": now,
        },
    )


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
        for message, zone in rows:
            if message.kind in QUIET_HOURS_KINDS and zone:
                allowed = policy.next_allowed(now, zone)
                if allowed > now:
                    message.next_attempt_at = allowed
                    deferred += 1
                    continue
            # Compare-and-set: on SQLite, where FOR UPDATE is ignored, this is the claim.
            result = session.execute(
                update(Message)
                .where(Message.id == message.id, Message.status == MessageStatus.PENDING)
                .values(
                    status=MessageStatus.SENDING,
                    claimed_by=worker,
                    claimed_until=now + LEASE,
                    attempts=Message.attempts + 1,
                )
            )
            if result.rowcount == 1:
                claimed.append(message.id)
    return claimed, deferred


def deliver(
    engine: Engine,
    channel: Channel,
    links: LinkContext,
    *,
    worker: str,
    now: datetime,
    policy: SendPolicy,
    limit: int = 500,
    on_permanent_failure=None,
) -> DeliveryReport:
    """Hand due messages to the channel and record each outcome as it comes."""
    report = DeliveryReport()
    report.unknown = mark_lapsed_unknown(engine, now)
    report.reconciled = reconcile_unknown(engine, channel, links, now)
    claimed, report.deferred = claim_batch(engine, worker, now, policy, limit)
    for message_id in claimed:
        with session_scope(engine) as session:
            message = session.get(Message, message_id)
            instance = (
                session.get(SurveyInstance, message.instance_id) if message.instance_id else None
            )
            outgoing = OutgoingSms(
                to=message.to_number,
                body=render_body(
                    message.body,
                    secret_key=links.secret_key,
                    base_url=links.base_url,
                    instance=instance,
                ),
                idempotency_key=message.idempotency_key or f"message:{message.id}",
                status_callback=links.callback_for(message.id),
                validity_period_s=message.validity_period_s,
            )
        _send_one(engine, channel, message_id, outgoing, now, report, on_permanent_failure)
    return report


def _send_one(engine, channel, message_id, outgoing, now, report, on_permanent_failure) -> None:
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
        with session_scope(engine) as session:
            message = session.get(Message, message_id)
            message.status = (
                MessageStatus.DELIVERED if receipt.status == "delivered" else MessageStatus.SENT
            )
            message.provider_sid = receipt.provider_sid
            message.sent_at = now
            if receipt.status == "delivered":
                message.delivered_at = now
            message.claimed_by = message.claimed_until = None
        report.sent += 1


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
