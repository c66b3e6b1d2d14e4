"""Exactly once under faults, in one process: fencing, progress, send-time checks,
staff notices and failures that someone sees. Time is pinned: every pass gets ``now=``
and, where a pass must see time move, a clock the test moves itself."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from notifications import (
    OutgoingSms,
    PermanentSendError,
    SendReceipt,
    TransientSendError,
    UnknownOutcomeError,
)
from pro_app.audit.report import build_report
from pro_app.audit.timelines import AuditFilters
from pro_app.followup.answer_saving import notify_on_call
from pro_app.followup.conversation import answer_text
from pro_app.messaging.inbound import handle_inbound
from pro_app.messaging.outbox import DeliveryTiming, mark_lapsed_unknown
from pro_app.models import (
    Alert,
    AlertKind,
    InstanceStatus,
    Message,
    MessageStatus,
    Patient,
    Site,
    SiteAlert,
    SurveyInstance,
)
from pro_app.scheduling.invitations import expire_closed, invite_due
from pro_app.scheduling.plan import stop_follow_up
from pro_app.scheduling.tick import run_tick
from pro_app.storage.engine import session_scope
from tests.messaging.backlog import seed_surveys
from tests.tick_helpers import LINKS, RecordingChannel, messages

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PROCEDURE = date(2027, 1, 11)


class FakeClock:
    """A pass's clock that only the test moves."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class Provider(RecordingChannel):
    """A provider whose sends take simulated time and can run code mid-send."""

    def __init__(self, clock: FakeClock | None = None, seconds_per_send: float = 0.0):
        super().__init__()
        self.clock = clock
        self.seconds_per_send = seconds_per_send
        self.during_send = None
        self.listed: list[OutgoingSms] = []  # what a list query shows (late ones come later)

    def send(self, message: OutgoingSms) -> SendReceipt:
        if self.clock:
            self.clock.advance(self.seconds_per_send)
        if self.during_send:
            hook, self.during_send = self.during_send, None
            hook(message)
        receipt = super().send(message)
        self.listed.append(message)
        return receipt

    def find_sent(self, to, since, body=None):
        return [
            SendReceipt(provider_sid=f"SM{n + 1:032d}", status="sent")
            for n, m in enumerate(self.sent)
            if m in self.listed and m.to == to and (body is None or m.body == body)
        ]

    def counts(self) -> Counter:
        return Counter(m.idempotency_key for m in self.sent)


def _open_surveys(engine, count: int) -> None:
    seed_surveys(engine, now=ENROLLED, open_due=count)


# --- fencing ----------------------------------------------------------------------------------


def test_a_second_tick_5_min_15_s_later_sends_nothing_twice(engine):
    """The first pass runs past its lease at 1.2 s a send (its budget raised to 10 minutes
    on purpose); a second pass starts when the first one's clock reads 5 min 15 s, with
    claims of the first still live and texts still waiting."""
    _open_surveys(engine, 400)
    clock = FakeClock(ENROLLED)
    provider = Provider(clock, seconds_per_send=1.2)
    second_at = ENROLLED + timedelta(minutes=5, seconds=15)
    second = {}

    def maybe_start_second_tick(_message):
        if clock() < second_at:
            provider.during_send = maybe_start_second_tick
            return
        second["report"] = run_tick(engine, provider, LINKS, now=second_at, worker="b")

    provider.during_send = maybe_start_second_tick
    first = run_tick(
        engine,
        provider,
        LINKS,
        now=ENROLLED,
        worker="a",
        clock=clock,
        timing=DeliveryTiming(budget_s=600),
    )
    assert "report" in second, "the second pass ran while the first was sending"
    assert second["report"].delivery.unknown == 0, "no live lease was declared lost"
    assert second["report"].delivery.sent > 0
    assert first.delivery.sent + second["report"].delivery.sent == 400
    assert set(provider.counts().values()) == {1} and len(provider.counts()) == 400
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}


def _take_over(engine, key: str) -> None:
    """Another process decides this send was lost (as one with a skewed clock might)."""
    with session_scope(engine) as session:
        session.execute(
            update(Message)
            .where(Message.idempotency_key == key)
            .values(status=MessageStatus.UNKNOWN, claimed_by=None)
        )


def test_a_sender_whose_claim_was_taken_over_stops_sending(engine):
    _open_surveys(engine, 5)
    provider = Provider()
    keys = [m.idempotency_key for m in messages(engine)] or None
    assert keys is None  # invitations are queued by the pass itself
    provider.during_send = lambda m: _take_over(engine, _next_key(engine, m.idempotency_key))
    report = run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    assert report.delivery.fenced == 1 and report.delivery.sent == 1
    assert len(provider.sent) == 1, "nothing more was sent once a claim was lost"
    statuses = Counter(m.status for m in messages(engine))
    assert statuses == {
        MessageStatus.SENT: 1,
        MessageStatus.UNKNOWN: 1,
        MessageStatus.PENDING: 3,
    }
    # The next passes find the taken one was never sent, and send it and the other three.
    run_tick(engine, provider, LINKS, now=ENROLLED + timedelta(minutes=10), worker="b")
    assert set(provider.counts().values()) == {1} and len(provider.counts()) == 5
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}


def _next_key(engine, key: str) -> str:
    ordered = [m.idempotency_key for m in messages(engine, kind="invitation")]
    return ordered[ordered.index(key) + 1]


def test_a_send_whose_claim_was_taken_over_in_flight_records_nothing(engine):
    """Only possible where no row lock is held across the provider call (SQLite)."""
    if engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the sender's row lock makes this takeover wait")
    _open_surveys(engine, 5)
    provider = Provider()
    provider.during_send = lambda m: _take_over(engine, m.idempotency_key)
    report = run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    assert report.delivery.fenced == 1 and report.delivery.sent == 0
    assert len(provider.sent) == 1
    taken = next(m for m in messages(engine) if m.status == MessageStatus.UNKNOWN)
    assert taken.provider_sid is None and taken.sent_at is None
    run_tick(engine, provider, LINKS, now=ENROLLED + timedelta(minutes=10), worker="b")
    assert set(provider.counts().values()) == {1} and len(provider.counts()) == 5
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}


def test_an_opt_out_waits_for_the_send_in_flight_on_postgresql(engine):
    """The sender reads the recipient under a share lock held until the outcome is
    recorded: an opt-out made during the provider call waits for it, then applies."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks held across the provider call are a PostgreSQL feature")
    _open_surveys(engine, 1)
    provider = Provider()
    blocked = []

    def opt_out_now(message: OutgoingSms) -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET lock_timeout = '200ms'")
            try:
                connection.execute(update(Patient).values(sms_opted_out=True))
            except OperationalError as exc:
                blocked.append("lock" in str(exc).lower())
            connection.rollback()

    provider.during_send = opt_out_now
    report = run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    assert blocked == [True], "the opt-out waited for the send in flight"
    assert report.delivery.sent == 1
    with session_scope(engine) as session:
        session.execute(update(Patient).values(sms_opted_out=True))  # no send holds it now


def test_a_live_lease_is_not_declared_lost_on_postgresql(engine):
    """While the provider takes its time, the sender holds the row: another process,
    even one whose clock runs an hour ahead, cannot mark the send unknown."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks held across the provider call are a PostgreSQL feature")
    _open_surveys(engine, 1)
    provider = Provider()
    marked = []
    provider.during_send = lambda _m: marked.append(
        mark_lapsed_unknown(engine, ENROLLED + timedelta(hours=1))
    )
    report = run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    assert marked == [0]
    assert report.delivery.sent == 1
    assert messages(engine)[0].status == MessageStatus.SENT


# --- progress ---------------------------------------------------------------------------------


def test_5000_overdue_surveys_drain_and_every_pass_returns(engine):
    """The scheduler was down over a weekend: 4,500 windows closed, 500 still open."""
    seed_surveys(engine, now=ENROLLED, open_due=500, closed=4500)
    clock = FakeClock(ENROLLED)
    # The oldest 500 candidates are all closed: invitations must not wait for expiry.
    assert invite_due(engine, ENROLLED, secret_key="s", worker="w", limit=100, clock=clock) == 500
    # A pass with too little time for the backlog closes part of it and returns.
    expired, _ = expire_closed(engine, ENROLLED, limit=1000, clock=_ticking(clock, 6.0))
    assert 0 < expired < 4500
    provider = Provider()
    passes = 1
    while True:
        report = run_tick(engine, provider, LINKS, now=ENROLLED, worker="w")
        passes += 1
        if report.expired == 0 and report.delivery.sent == 0:
            break
        assert passes < 20
    by_status = Counter(i.status for i in _all_instances(engine))
    assert by_status == {InstanceStatus.EXPIRED: 4500, InstanceStatus.SENT: 500}
    assert len(provider.counts()) == 500 and set(provider.counts().values()) == {1}


def _ticking(clock: FakeClock, seconds: float):
    """A clock that moves ``seconds`` each time it is read (a slow database)."""

    def read():
        clock.advance(seconds)
        return clock()

    return read


def _all_instances(engine) -> list[SurveyInstance]:
    with Session(engine) as session:
        return list(session.exec(select(SurveyInstance)))


# --- send-time checks -------------------------------------------------------------------------


class LateProvider(Provider):
    """Accepts the first text but the answer is lost, and it shows in lists only later."""

    def send(self, message: OutgoingSms) -> SendReceipt:
        if not self.sent:
            self.sent.append(message)  # created at the provider, not yet listed
            raise UnknownOutcomeError("no answer after sending: ReadTimeout")
        return super().send(message)


def test_stop_after_an_accepted_late_send_is_respected(gen, engine):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    provider = LateProvider()
    report = run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    assert report.delivery.unknown == 1
    with session_scope(engine) as session:
        handle_inbound(
            session,
            sid="SMin1",
            from_number=enrolled.patient.phone_e164,
            to_number="+15005550006",
            body="Stop please",
            opt_out_type=None,
            now=ENROLLED + timedelta(minutes=2),
            answer_text=answer_text,
        )
    for minutes in (10, 20, 30):
        run_tick(engine, provider, LINKS, now=ENROLLED + timedelta(minutes=minutes), worker="b")
    assert len(provider.sent) == 1, "nothing was sent after STOP"
    invitation = messages(engine, kind="invitation")[0]
    assert invitation.status == MessageStatus.CANCELLED
    assert invitation.last_error == "not sent: patient opted out of texts"


@pytest.mark.parametrize("change", ["stopped", "paused", "number_flagged"])
def test_a_requeued_text_is_checked_again_before_it_goes(gen, engine, change):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    provider = LateProvider()
    run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    provider.sent.clear()  # the lost attempt never reached the phone after all
    with session_scope(engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        if change == "number_flagged":
            patient.phone_problem = "Twilio error 30006: landline"
        else:
            stop_follow_up(
                session, patient, status=change, reason="died", user_id=None, now=ENROLLED
            )
    run_tick(engine, provider, LINKS, now=ENROLLED + timedelta(minutes=10), worker="b")
    assert provider.sent == []
    assert messages(engine, kind="invitation")[0].status == MessageStatus.CANCELLED


# --- staff notices ----------------------------------------------------------------------------


class OnCallPhoneBroken(RecordingChannel):
    def __init__(self, number: str):
        super().__init__()
        self.number = number

    def send(self, message: OutgoingSms) -> SendReceipt:
        if message.to == self.number:
            raise PermanentSendError(
                "not a mobile number", code=21614, status=400, stop_sms_to_number=True
            )
        return super().send(message)


def test_a_failing_on_call_number_is_the_sites_problem_not_the_patients(gen, engine):
    site = gen.site(on_call_phone="+447400900900")
    enrolled = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE)
    with session_scope(engine) as session:
        notify_on_call(
            session,
            session.get(Site, site.id),
            session.get(Patient, enrolled.patient.id),
            alert_id=1,
            now=ENROLLED,
        )
    channel = OnCallPhoneBroken("+447400900900")
    run_tick(engine, channel, LINKS, now=ENROLLED, worker="a")
    notice = messages(engine, kind="alert_notify")[0]
    assert (notice.status, notice.patient_id, notice.site_id) == ("failed", None, site.id)
    with Session(engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        assert patient.textable and patient.phone_problem is None
        assert session.exec(select(Alert)).all() == []
        site_alerts = session.exec(select(SiteAlert)).all()
    assert [a.site_id for a in site_alerts] == [site.id]
    assert "+447400900900" in site_alerts[0].summary
    # The patient's own invitation still went out.
    assert [m.to for m in channel.sent] == [enrolled.patient.phone_e164]


# --- failures someone sees --------------------------------------------------------------------


class DownProvider(RecordingChannel):
    """Answers 503 to everything, lists included, until ``up`` is set."""

    def __init__(self):
        super().__init__()
        self.up = False
        self.attempts = 0

    def send(self, message):
        self.attempts += 1
        if not self.up:
            raise TransientSendError("Service unavailable", status=503, code=20503)
        return super().send(message)

    def find_sent(self, to, since, body=None):
        if not self.up:
            raise TransientSendError("Service unavailable", status=503, code=20503)
        return super().find_sent(to, since, body)


def test_a_provider_down_for_four_hours_never_causes_a_blind_resend(gen, engine):
    site = gen.site()
    for _ in range(3):
        gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE)
    provider = DownProvider()
    now = ENROLLED
    while now < ENROLLED + timedelta(hours=4):
        run_tick(engine, provider, LINKS, now=now, worker="a")
        now += timedelta(minutes=5)
    assert provider.attempts == 3, "after a 503 the provider is asked before any resend"
    assert {m.status for m in messages(engine)} <= {MessageStatus.UNKNOWN, MessageStatus.FAILED}
    provider.up = True
    for _ in range(12):
        run_tick(engine, provider, LINKS, now=now, worker="a")
        now += timedelta(minutes=5)
    sent_to = Counter(m.to for m in provider.sent)
    with Session(engine) as session:
        alerted = {a.patient_id for a in session.exec(select(Alert)) if a.kind == "not_sent"}
    for message in messages(engine):
        if message.status == MessageStatus.SENT:
            assert sent_to[message.to_number] == 1
        else:  # ran out of attempts while the provider could not be asked
            assert message.status == MessageStatus.FAILED
            assert message.patient_id in alerted and sent_to[message.to_number] == 0


def test_a_text_out_of_retries_raises_an_alert(gen, engine):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    provider = DownProvider()
    timing = DeliveryTiming(max_attempts=3)
    now = ENROLLED
    for _ in range(40):
        run_tick(engine, provider, LINKS, now=now, worker="a", timing=timing)
        now += timedelta(minutes=10)
    invitation = messages(engine, kind="invitation")[0]
    assert invitation.status == MessageStatus.FAILED
    with Session(engine) as session:
        alerts = session.exec(select(Alert)).all()
    assert [(a.kind, a.patient_id) for a in alerts] == [(AlertKind.NOT_SENT, enrolled.patient.id)]
    assert "invitation could not be sent" in alerts[0].summary
    assert provider.attempts == 1
    # The audit's follow-up quality counts it.
    with Session(engine) as session:
        report = build_report(session, AuditFilters(), now)
    baseline = next(t for t in report.timepoints if t.timepoint == "baseline")
    assert (baseline.quality.invited, baseline.quality.not_sent) == (1, 1)


def test_a_failure_whose_process_stopped_before_its_alert_is_reported_by_the_next_pass(
    gen, engine, monkeypatch
):
    """A text fails for good (refused: not a mobile) and its process stops, a deploy say,
    before the batch's end, where it raises the alert: the text stayed failed and no one
    was told. The next pass raises it, once."""
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    provider = OnCallPhoneBroken(enrolled.patient.phone_e164)

    from pro_app.scheduling import tick

    alive, record_failure = [False], tick.record_failure

    def record_unless_stopped(*args, **kwargs):
        if not alive[0]:
            raise SystemExit("the process stopped")
        record_failure(*args, **kwargs)

    monkeypatch.setattr(tick, "record_failure", record_unless_stopped)
    with pytest.raises(SystemExit):
        run_tick(engine, provider, LINKS, now=ENROLLED, worker="a")
    assert messages(engine, kind="invitation")[0].status == MessageStatus.FAILED
    with Session(engine) as session:
        assert session.exec(select(Alert)).all() == []
    alive[0] = True  # another process, a minute later
    within_its_lease = run_tick(
        engine, provider, LINKS, now=ENROLLED + timedelta(minutes=4), worker="b"
    )
    assert within_its_lease.failures_reported_late == 0  # its batch may still be running
    later = run_tick(engine, provider, LINKS, now=ENROLLED + timedelta(minutes=6), worker="b")
    assert later.failures_reported_late == 1
    again = run_tick(engine, provider, LINKS, now=ENROLLED + timedelta(minutes=7), worker="b")
    assert again.failures_reported_late == 0
    with Session(engine) as session:
        alerts = session.exec(select(Alert)).all()
        patient = session.get(Patient, enrolled.patient.id)
    assert [(a.kind, a.patient_id) for a in alerts] == [
        (AlertKind.DELIVERY_FAILURE, enrolled.patient.id)
    ]
    assert "21614" in (patient.phone_problem or "")  # the number is flagged, as at once
