"""The outbox: queue texts once, hand each to the provider under a fenced claim, settle doubts.

A message moves ``pending -> sending -> sent`` (or ``failed``, ``cancelled``, ``unknown``):

1. **Claim.** One transaction re-reads the recipient (opted out, follow-up stopped or
   paused, number flagged, survey closed: the message is cancelled with the reason),
   defers quiet-hour texts, and leases the rest: status ``sending``, a claim id unique to
   this attempt, and a lease end. The claim is committed before anything is sent.
2. **Send.** For each message a second transaction checks that the claim is still held
   and the recipient still textable, calls the provider, and records the outcome with a
   compare-and-set on (claim id, ``sending``). On PostgreSQL that transaction holds the
   row lock for as long as the provider takes, so no other process can declare the send
   lost while it is in flight. A sender that finds its claim taken over records nothing
   and sends nothing more. Time left on the lease and on the pass's budget is checked
   before every send, so no batch outlives its lease whatever the provider's latency.
   Several sender threads may run at once (``SenderPool``): each claims its own batches
   under its own claim id, on its own connection, paced by one shared ``SendRate``.
3. **Settle.** A lease that lapsed (the sender died) makes the message ``unknown``; so do
   a lost answer and a 5xx on create (the provider may have created it). After a grace
   period the provider is asked whether it exists; only if not is it queued again, and
   then the claim re-checks the recipient like any other message.

The provider has no idempotency key: "exactly once" means once per outbox row, given the
provider's message list is truthful within ``DeliveryTiming.settle_after``.
"""

import logging
import random
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from notifications import (
    Channel,
    OutgoingSms,
    PermanentSendError,
    SendError,
    TransientSendError,
    UnknownOutcomeError,
)
from notifications.sms_text import segment_info

from ..models import (
    OPEN_STATUSES,
    Direction,
    FollowUpStatus,
    Message,
    MessageStatus,
    NumberOptOut,
    Patient,
    SurveyInstance,
)
from ..storage.engine import session_scope
from ..storage.upsert import insert_ignore, insert_ignore_statement
from .links import LINK_PLACEHOLDER, render_body, survey_url
from .pacing import SenderPool
from .timing import SendPolicy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12
BACKOFF_BASE_S = 60
BACKOFF_CAP_S = 30 * 60
DELIVERY_BUDGET_S = 45.0  # seconds a pass may spend handing texts to the channel
CLAIM_BATCH = 100
# Kinds that wait for the morning; replies and on-call notices go at once.
QUIET_HOURS_KINDS = frozenset({"invitation", "reminder", "last_reminder", "question"})
# Kinds that belong to a survey window: pointless once it has closed.
SURVEY_KINDS = QUIET_HOURS_KINDS
SAMPLE_LINK = survey_url("https://pro.example.org", "x" * 32)

Clock = Callable[[], datetime]
#: Called after a message failed for good: (message id, error code, reason, when, exhausted).
FailureHook = Callable[[int, int | None, str, datetime, bool], None]


@dataclass(frozen=True)
class DeliveryTiming:
    """How long a claim lasts and how long to wait before asking the provider."""

    lease: timedelta = LEASE
    # A claim needs this much lease left to start a send (more than the channel's timeout).
    send_margin: timedelta = timedelta(seconds=60)
    # After an uncertain attempt, wait this long before asking the provider whether it
    # created the message, so that a late acceptance shows in its list.
    settle_after: timedelta = timedelta(minutes=3)
    budget_s: float = DELIVERY_BUDGET_S
    max_attempts: int = MAX_ATTEMPTS
    backoff_base_s: float = BACKOFF_BASE_S
    backoff_cap_s: float = BACKOFF_CAP_S

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        return backoff(attempts, retry_after, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s)


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
    cancelled: int = 0
    reconciled: int = 0
    unknown: int = 0
    fenced: int = 0  # claims found taken over: nothing recorded, nothing more sent
    released: int = 0  # claims handed back unsent (lease or budget running out)
    failures: list[int] = field(default_factory=list)

    def add(self, other: "DeliveryReport") -> None:
        """Add another sender's counts to this report."""
        for column in fields(self):
            mine, theirs = getattr(self, column.name), getattr(other, column.name)
            setattr(self, column.name, mine + theirs)


@dataclass
class ClaimedBatch:
    claim_id: str
    ids: list[int]
    lease_ends: datetime
    deferred: int = 0
    cancelled: int = 0
    segments: dict[int, int] = field(default_factory=dict)  # message id -> SMS segments

    @property
    def examined(self) -> int:
        return len(self.ids) + self.deferred + self.cancelled


def pass_clock(now: datetime) -> Clock:
    """``now``, moved on by the time elapsed since (a monotonic clock, never the wall clock)."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def new_claim_id(worker: str) -> str:
    """An id for one claim, unique across processes and passes (fits ``claimed_by``)."""
    return f"{worker[:47]}/{secrets.token_hex(8)}"


def message_values(
    *,
    key: str,
    kind: str,
    to: str,
    body: str,
    now: datetime,
    patient_id: int | None,
    site_id: int | None = None,
    instance_id: int | None = None,
    validity_period_s: int | None = None,
    status: MessageStatus = MessageStatus.PENDING,
) -> dict:
    """Every column of an outgoing message row, ready to insert.

    A text to a patient carries ``patient_id``; a notice to a site's staff (the on-call
    phone) carries ``site_id`` instead, so its failures never touch a patient's record.
    """
    info = segment_info(body.replace(LINK_PLACEHOLDER, SAMPLE_LINK))
    return {
        "patient_id": patient_id,
        "site_id": site_id,
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
        "attempted_at": None,
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
    """Cancel outgoing texts still waiting to go that match ``criteria``; return how many.

    Texts already claimed or of unknown outcome are re-checked when next claimed.
    """
    result = session.execute(
        update(Message)
        .where(Message.status == MessageStatus.PENDING, *criteria)
        .values(status=MessageStatus.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def backoff(
    attempts: int,
    retry_after: float | None = None,
    *,
    base_s: float = BACKOFF_BASE_S,
    cap_s: float = BACKOFF_CAP_S,
) -> timedelta:
    """Exponential backoff with jitter, never sooner than the provider's Retry-After."""
    delay = min(base_s * 2 ** max(attempts - 1, 0), cap_s)
    delay *= random.uniform(0.8, 1.2)
    if retry_after:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


# --- the recipient, re-read at claim and at send ------------------------------------------

_RECIPIENT_COLUMNS = (
    Message.id,
    Message.kind,
    Message.to_number,
    Message.patient_id,
    Message.instance_id,
    Patient.phone_e164,
    Patient.sms_opted_out,
    Patient.phone_problem,
    Patient.status.label("follow_up"),
    Patient.timezone,
    SurveyInstance.status.label("survey"),
    SurveyInstance.closes_at,
    NumberOptOut.opted_out_at.label("number_opted_out_at"),
)


def _with_recipient(statement):
    return (
        statement.join(Patient, Patient.id == Message.patient_id, isouter=True)
        .join(SurveyInstance, SurveyInstance.id == Message.instance_id, isouter=True)
        .join(NumberOptOut, NumberOptOut.phone_e164 == Message.to_number, isouter=True)
    )


def refusal(row, now: datetime) -> str | None:
    """Why this message must not be sent now, or None if it may go."""
    if row.patient_id is not None:
        if row.sms_opted_out:
            return "patient opted out of texts"
        if row.number_opted_out_at is not None:  # STOP from the number, on another record
            return "number opted out of texts"
        if row.follow_up != FollowUpStatus.ACTIVE:
            return f"follow-up {row.follow_up}"
        if row.phone_problem:
            return "number cannot receive texts"
        if not row.phone_e164 or row.phone_e164 != row.to_number:
            return "patient's number changed"
    if row.instance_id is not None and row.kind in SURVEY_KINDS:
        if row.survey not in OPEN_STATUSES:
            return f"survey {row.survey}"
        if row.closes_at <= now:
            return "survey window closed"
    return None


# --- claim ----------------------------------------------------------------------------------


def claim_batch(
    engine: Engine,
    worker: str,
    now: datetime,
    policy: SendPolicy,
    limit: int,
    *,
    timing: DeliveryTiming = DeliveryTiming(),
) -> ClaimedBatch:
    """Lease up to ``limit`` due messages under a new claim id.

    In the same transaction: messages whose recipient can no longer be texted are
    cancelled with the reason, and quiet-hour ones are moved to the morning.
    """
    batch = ClaimedBatch(claim_id=new_claim_id(worker), ids=[], lease_ends=now + timing.lease)
    with session_scope(engine) as session:
        rows = session.execute(
            _with_recipient(select(*_RECIPIENT_COLUMNS))
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
        refused: list[dict] = []
        for row in rows:
            reason = refusal(row, now)
            if reason:
                refused.append({"b_id": row.id, "b_reason": f"not sent: {reason}"})
                continue
            allowed = (
                policy.next_allowed(now, row.timezone)
                if row.kind in QUIET_HOURS_KINDS and row.timezone
                else now
            )
            if allowed > now:
                waits.append({"b_id": row.id, "b_at": allowed})
            else:
                wanted.append(row.id)
        table = Message.__table__
        connection = session.connection()
        if waits:
            connection.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(next_attempt_at=bindparam("b_at")),
                waits,
            )
        if refused:
            connection.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(status=MessageStatus.CANCELLED.value, last_error=bindparam("b_reason")),
                refused,
            )
        batch.deferred, batch.cancelled = len(waits), len(refused)
        if wanted:
            # Compare-and-set: on SQLite, where FOR UPDATE is ignored, this is the claim.
            claimed = session.execute(
                update(Message)
                .where(Message.id.in_(wanted), Message.status == MessageStatus.PENDING)
                .values(
                    status=MessageStatus.SENDING,
                    claimed_by=batch.claim_id,
                    claimed_until=batch.lease_ends,
                    attempted_at=now,
                    attempts=Message.attempts + 1,
                )
                .returning(Message.id, Message.segments)
                .execution_options(synchronize_session=False)
            ).all()
            batch.segments = {row.id: row.segments or 1 for row in claimed}
            batch.ids = sorted(batch.segments)
    return batch


def release(engine: Engine, claim_id: str, message_ids: list[int]) -> int:
    """Hand back claimed messages that were never sent (the attempt did not happen)."""
    if not message_ids:
        return 0
    with session_scope(engine) as session:
        result = session.execute(
            update(Message)
            .where(
                Message.id.in_(message_ids),
                Message.status == MessageStatus.SENDING,
                Message.claimed_by == claim_id,
            )
            .values(
                status=MessageStatus.PENDING,
                claimed_by=None,
                claimed_until=None,
                attempts=Message.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0


# --- settle ---------------------------------------------------------------------------------


def mark_lapsed_unknown(engine: Engine, now: datetime) -> int:
    """Messages whose sender stopped mid-send: their outcome is unknown until reconciled,
    and the provider is asked about them ``settle_after`` from the end of their lease.

    A row whose sender is alive is locked by it (PostgreSQL) and skipped, whatever the
    clocks say.
    """
    with session_scope(engine) as session:
        lapsed = list(
            session.execute(
                select(Message.id)
                .where(Message.status == MessageStatus.SENDING, Message.claimed_until < now)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not lapsed:
            return 0
        result = session.execute(
            update(Message)
            .where(
                Message.id.in_(lapsed),
                Message.status == MessageStatus.SENDING,
                Message.claimed_until < now,
            )
            .values(
                status=MessageStatus.UNKNOWN,
                claimed_by=None,
                # The last send could start just before the lease ended, and the provider
                # may create it after the sender gave up: settle from the lease's end.
                next_attempt_at=Message.claimed_until,
                last_error="sender stopped before recording",
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0


def reconcile_unknown(
    engine: Engine,
    channel: Channel,
    links: LinkContext,
    clock: Clock,
    *,
    timing: DeliveryTiming = DeliveryTiming(),
    deadline: datetime | None = None,
    on_failure: FailureHook | None = None,
) -> int:
    """Ask the provider whether each settled ``unknown`` message exists; requeue if not.

    An unknown message is asked about once ``settle_after`` has passed since its attempt.
    If the provider cannot be asked, it waits (and counts as an attempt); it is never
    resent blind.
    """
    now = clock()
    with Session(engine) as session:
        candidates = list(
            session.execute(
                select(Message.id)
                .where(
                    Message.status == MessageStatus.UNKNOWN,
                    or_(
                        Message.next_attempt_at.is_(None),
                        Message.next_attempt_at <= now - timing.settle_after,
                    ),
                )
                .order_by(Message.next_attempt_at, Message.id)
                .limit(200)
            ).scalars()
        )
    resolved = 0
    for message_id in candidates:
        if deadline is not None and clock() >= deadline:
            break
        outcome = _reconcile_one(engine, channel, links, message_id, clock(), timing)
        if outcome is None:
            continue
        resolved += outcome != "waiting"
        if outcome in _EXHAUSTED_REASONS and on_failure:
            reason = _EXHAUSTED_REASONS[outcome].format(timing.max_attempts)
            on_failure(message_id, None, reason, clock(), True)
    return resolved


_EXHAUSTED_REASONS = {
    "exhausted": "not sent after {} attempts",
    "unconfirmed": "the provider could not be asked after {} attempts",
}


def _reconcile_one(engine, channel, links, message_id: int, now: datetime, timing) -> str | None:
    finder = getattr(channel, "find_sent", None)
    with session_scope(engine) as session:
        message = session.scalars(
            select(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.UNKNOWN)
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:
            return None  # another process has it, or it was settled meanwhile
        instance = session.get(SurveyInstance, message.instance_id) if message.instance_id else None
        body = render_body(
            message.body, secret_key=links.secret_key, base_url=links.base_url, instance=instance
        )
        attempted = message.attempted_at or message.created_at
        since = attempted - timedelta(minutes=1)
        try:
            found = finder(message.to_number, since, body) if finder else []
        except SendError as exc:  # ask again later; never resend blind
            log.warning("cannot reconcile message %s yet: %s", message.id, exc)
            message.attempts += 1
            message.last_error = f"provider could not be asked: {exc}"[:500]
            if message.attempts >= timing.max_attempts:
                message.status = MessageStatus.FAILED
                return "unconfirmed"
            message.next_attempt_at = now + timing.backoff(message.attempts)
            return "waiting"
        known = set(
            session.execute(
                select(Message.provider_sid).where(
                    Message.provider_sid.in_([r.provider_sid for r in found])
                )
            ).scalars()
        )
        unclaimed = [receipt for receipt in found if receipt.provider_sid not in known]
        message.claimed_by = message.claimed_until = None
        if unclaimed:
            message.status = MessageStatus.SENT
            message.provider_sid = unclaimed[0].provider_sid
            message.sent_at = message.sent_at or attempted
            message.last_error = "reconciled: it had been sent"
            return "sent"
        if message.attempts >= timing.max_attempts:
            message.status = MessageStatus.FAILED
            message.last_error = "reconciled: not sent, and out of attempts"
            return "exhausted"
        message.status = MessageStatus.PENDING
        message.next_attempt_at = max(now, attempted + timing.backoff(message.attempts))
        message.last_error = "reconciled: not sent, queued again"
        return "requeued"


# --- deliver --------------------------------------------------------------------------------


def deliver(
    engine: Engine,
    channel: Channel,
    links: LinkContext,
    *,
    worker: str,
    now: datetime,
    policy: SendPolicy,
    batch: int = CLAIM_BATCH,
    budget_s: float | None = None,
    timing: DeliveryTiming = DeliveryTiming(),
    clock: Clock | None = None,
    on_failure: FailureHook | None = None,
    senders: SenderPool | None = None,
) -> DeliveryReport:
    """Settle unknown messages, then hand due ones to the channel, claim by claim.

    Returns after ``budget_s`` seconds (``timing.budget_s`` by default) or when nothing
    is due. ``clock`` gives the current time during the pass (default: ``now`` moved on
    by the elapsed time). ``senders`` says how many threads send at once (each under its
    own claims, on its own connection) and at what shared rate; a sender whose budget or
    lease would run out waiting for its turn hands its claim back unsent.
    """
    clock = clock or pass_clock(now)
    senders = senders or SenderPool()
    budget = timing.budget_s if budget_s is None else budget_s
    deadline = now + timedelta(seconds=budget)
    report = DeliveryReport()
    report.unknown = mark_lapsed_unknown(engine, clock())
    report.reconciled = reconcile_unknown(
        engine, channel, links, clock, timing=timing, deadline=deadline, on_failure=on_failure
    )
    # With several senders each claims a share of a batch, so that a short queue is
    # still spread over all of them.
    share = max(1, -(-batch // senders.concurrency))
    sender = _Sender(
        engine, channel, links, worker, policy, share, timing, clock, deadline, on_failure, senders
    )
    if senders.concurrency == 1:
        sender.run(report)
        return report
    reports = [DeliveryReport() for _ in range(senders.concurrency)]
    with ThreadPoolExecutor(senders.concurrency, thread_name_prefix="sender") as pool:
        futures = [pool.submit(sender.run, own) for own in reports]
    for own in reports:
        report.add(own)
    for future in futures:
        future.result()  # a sender that failed fails the pass, once every other has ended
    return report


@dataclass(frozen=True)
class _Sender:
    """What every sender thread of one pass shares; ``run`` is one thread's work."""

    engine: Engine
    channel: Channel
    links: LinkContext
    worker: str
    policy: SendPolicy
    batch: int
    timing: DeliveryTiming
    clock: Clock
    deadline: datetime
    on_failure: FailureHook | None
    senders: SenderPool

    def run(self, report: DeliveryReport) -> None:
        """Claim and send batches until the budget is spent or nothing is due."""
        while self.clock() < self.deadline:
            claimed = claim_batch(
                self.engine, self.worker, self.clock(), self.policy, self.batch, timing=self.timing
            )
            report.deferred += claimed.deferred
            report.cancelled += claimed.cancelled
            if not self.send_claimed(claimed, report):
                break
            if claimed.examined < self.batch:
                break

    def send_claimed(self, claimed: ClaimedBatch, report: DeliveryReport) -> bool:
        """Send a claimed batch one by one; False if this sender must stop.

        Holds one connection at a time: what was not sent is handed back, and failures
        are reported, once the batch's recording connection is closed.
        """
        if not claimed.ids:
            return True
        unsent: list[int] = []
        failed: list[tuple[int, _Result, datetime]] = []
        carry_on = True
        try:
            with _recording_connection(self.engine) as connection:
                for position, message_id in enumerate(claimed.ids):
                    if not self.may_send(claimed, message_id):
                        unsent, carry_on = claimed.ids[position:], False
                        break
                    # If the send raises, what follows it was never attempted.
                    unsent = claimed.ids[position + 1 :]
                    result = _send_one(
                        connection,
                        self.channel,
                        self.links,
                        claimed.claim_id,
                        message_id,
                        self.clock,
                        self.engine.dialect.name == "postgresql",
                        self.timing,
                    )
                    _count(result, report)
                    if result.kind == "fenced":
                        carry_on = False
                        break
                    if result.final:
                        failed.append((message_id, result, self.clock()))
                else:
                    unsent = []
        finally:
            report.released += release(self.engine, claimed.claim_id, unsent)
            for message_id, result, at in failed:
                if self.on_failure:
                    self.on_failure(message_id, result.code, result.reason, at, result.exhausted)
        return carry_on

    def may_send(self, claimed: ClaimedBatch, message_id: int) -> bool:
        """Whether the next send may start: budget and lease left, and a slot at the rate."""
        at = self.clock()
        last_start = min(self.deadline, claimed.lease_ends - self.timing.send_margin)
        if at >= last_start:
            return False
        rate = self.senders.rate
        if rate is None:
            return True
        segments = claimed.segments.get(message_id, 1)
        return rate.acquire(segments, within=(last_start - at).total_seconds())


@dataclass
class _Result:
    kind: str  # sent, retry, failed, unknown, cancelled, fenced
    code: int | None = None
    reason: str = ""
    exhausted: bool = False

    @property
    def final(self) -> bool:
        return self.kind == "failed"


def _count(result: _Result, report: DeliveryReport) -> None:
    if result.kind == "sent":
        report.sent += 1
    elif result.kind == "retry":
        report.retried += 1
    elif result.kind == "failed":
        report.failed += 1
    elif result.kind == "unknown":
        report.unknown += 1
    elif result.kind == "cancelled":
        report.cancelled += 1
    elif result.kind == "fenced":
        report.fenced += 1


def _held(message_id: int, claim_id: str):
    return and_(
        Message.id == message_id,
        Message.status == MessageStatus.SENDING,
        Message.claimed_by == claim_id,
    )


# Built once: a pass runs these for every message.
_HELD_ROW = (
    _with_recipient(
        select(
            *_RECIPIENT_COLUMNS,
            Message.body,
            Message.idempotency_key,
            Message.validity_period_s,
            Message.attempts,
            SurveyInstance.link_version,
        )
    )
    .where(
        Message.id == bindparam("b_id"),
        Message.status == MessageStatus.SENDING,
        Message.claimed_by == bindparam("b_claim"),
    )
    .with_for_update(of=Message)
)


# PostgreSQL, a patient's message: the claim row locked for update and the recipient
# under a share lock in one statement (a share lock cannot reach the nullable side of an
# outer join, hence the inner join; a message to no patient falls back to ``_HELD_ROW``).
_HELD_PATIENT_ROW = (
    select(*_HELD_ROW.selected_columns)
    .select_from(Message)
    .join(Patient, Patient.id == Message.patient_id)
    .join(SurveyInstance, SurveyInstance.id == Message.instance_id, isouter=True)
    .join(NumberOptOut, NumberOptOut.phone_e164 == Message.to_number, isouter=True)
    .where(
        Message.id == bindparam("b_id"),
        Message.status == MessageStatus.SENDING,
        Message.claimed_by == bindparam("b_claim"),
    )
    .with_for_update(of=Message)
    .suffix_with("FOR SHARE OF patient", dialect="postgresql")
)


@cache
def _settle_statement(columns: tuple[str, ...]):
    table = Message.__table__
    return (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.status == MessageStatus.SENDING.value,
            table.c.claimed_by == bindparam("b_claim"),
        )
        .values({name: bindparam(f"v_{name}") for name in columns})
    )


def _send_one(
    connection: Connection,
    channel: Channel,
    links: LinkContext,
    claim_id: str,
    message_id: int,
    clock: Clock,
    hold_lock: bool,
    timing: DeliveryTiming,
) -> _Result:
    """Check the claim and the recipient, send, and record the outcome under the claim."""
    transaction = connection.begin()
    try:
        row = _held_row(connection, message_id, claim_id, hold_lock)
        if row is None:
            transaction.rollback()
            log.warning("claim on message %s was taken over; stopping", message_id)
            return _Result("fenced")
        reason = refusal(row, clock())
        if reason:
            _settle(connection, message_id, claim_id, status=MessageStatus.CANCELLED, error=reason)
            transaction.commit()
            return _Result("cancelled")
        outgoing = _outgoing(row, links)
        if not hold_lock:  # SQLite: a write transaction would stop every other writer
            transaction.commit()
        result, values = _call(channel, outgoing, row.attempts, clock, timing)
        if not transaction.is_active:
            transaction = connection.begin()
        done = _settle(connection, message_id, claim_id, **values)
        transaction.commit()
    except BaseException:
        if transaction.is_active:
            transaction.rollback()
        raise
    if not done:
        log.warning("claim on message %s was taken over while sending", message_id)
        return _Result("fenced")
    return result


def _held_row(connection: Connection, message_id: int, claim_id: str, hold_lock: bool):
    """The claimed message and its recipient, or None if the claim is no longer held.

    With ``hold_lock`` (PostgreSQL) the recipient is read under a share lock held until
    the outcome is recorded: an opt-out or a stop waits for this send instead of racing
    it, and the row read is the latest committed one.
    """
    params = {"b_id": message_id, "b_claim": claim_id}
    if hold_lock:
        row = connection.execute(_HELD_PATIENT_ROW, params).first()
        if row is not None:
            return row
    return connection.execute(_HELD_ROW, params).first()


def _outgoing(row, links: LinkContext) -> OutgoingSms:
    instance = (
        _InstanceLink(row.instance_id, row.link_version) if row.instance_id is not None else None
    )
    body = render_body(
        row.body, secret_key=links.secret_key, base_url=links.base_url, instance=instance
    )
    return OutgoingSms(
        to=row.to_number,
        body=body,
        idempotency_key=row.idempotency_key or f"message:{row.id}",
        status_callback=links.callback_for(row.id),
        validity_period_s=row.validity_period_s,
    )


@dataclass(frozen=True)
class _InstanceLink:
    id: int
    link_version: int


def _call(channel: Channel, outgoing: OutgoingSms, attempts: int, clock: Clock, timing):
    """Hand one text to the channel; the result and the columns to record."""
    try:
        receipt = channel.send(outgoing)
    except PermanentSendError as exc:
        values = {"status": MessageStatus.FAILED, "error": exc}
        return _Result("failed", exc.code, str(exc)), values
    except UnknownOutcomeError as exc:
        return _Result("unknown"), _uncertain(exc, clock())
    except TransientSendError as exc:
        if exc.status is not None and exc.status >= 500:
            # The provider may have created it before failing: ask before any retry.
            return _Result("unknown"), _uncertain(exc, clock())
        if attempts >= timing.max_attempts:
            reason = f"not sent after {attempts} attempts: {exc}"
            values = {"status": MessageStatus.FAILED, "error": exc}
            return _Result("failed", exc.code, reason, exhausted=True), values
        values = {
            "status": MessageStatus.PENDING,
            "error": exc,
            "next_attempt_at": clock() + timing.backoff(attempts, exc.retry_after),
        }
        return _Result("retry"), values
    delivered = receipt.status == "delivered"
    at = clock()
    values = {
        "status": MessageStatus.DELIVERED if delivered else MessageStatus.SENT,
        "provider_sid": receipt.provider_sid,
        "sent_at": at,
        "delivered_at": at if delivered else None,
        "last_error": None,
    }
    return _Result("sent"), values


def _uncertain(error: SendError, at: datetime) -> dict:
    return {"status": MessageStatus.UNKNOWN, "error": error, "next_attempt_at": at}


def _settle(
    connection: Connection,
    message_id: int,
    claim_id: str,
    *,
    status: MessageStatus,
    error: SendError | str | None = None,
    **values,
) -> bool:
    """Record an outcome if the claim is still held (compare-and-set); True if it was."""
    if error is not None:
        values["last_error"] = str(error)[:500]
        values["error_code"] = getattr(error, "code", None)
    values.update(status=MessageStatus(status).value, claimed_by=None, claimed_until=None)
    result = connection.execute(
        _settle_statement(tuple(sorted(values))),
        {"b_id": message_id, "b_claim": claim_id, **{f"v_{k}": v for k, v in values.items()}},
    )
    return result.rowcount == 1


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
            if relaxed and not connection.invalidated:
                connection.rollback()
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()
