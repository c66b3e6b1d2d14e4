"""Several sender threads in one pass: each text still goes once, a slow or broken send
holds up only its own thread, the budget still ends the pass, and the shared send rate
holds across threads. Time is the test's own: pass clocks and send-rate clocks are fakes
that only the code under test moves; thread hand-overs use events, never sleeps."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from notifications import OutgoingSms, SendReceipt
from pro_app import create_app
from pro_app.config import ConfigError, Settings
from pro_app.messaging.channels import sender_pool
from pro_app.messaging.outbox import deliver
from pro_app.messaging.pacing import SenderPool, SendRate
from pro_app.messaging.timing import SendPolicy
from pro_app.models import MessageStatus
from pro_app.scheduling.invitations import invite_due
from pro_app.scheduling.tick import run_tick
from tests.messaging.backlog import seed_surveys
from tests.tick_helpers import LINKS, messages

NOW = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
GUARD_S = 30  # only a hung test waits this long: a bound, never a measurement


class ThreadedProvider:
    """Accepts texts from many threads at once and remembers who sent what."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent: list[OutgoingSms] = []
        self.threads: set[int] = set()

    def send(self, message: OutgoingSms) -> SendReceipt:
        with self.lock:
            self.sent.append(message)
            self.threads.add(threading.get_ident())
            number = len(self.sent)
        return SendReceipt(provider_sid=f"SM{number:032d}", status="queued")

    def find_sent(self, to, since, body=None):
        with self.lock:
            return [
                SendReceipt(provider_sid=f"SM{n + 1:032d}", status="sent")
                for n, m in enumerate(self.sent)
                if m.to == to and (body is None or m.body == body)
            ]

    def counts(self) -> Counter:
        with self.lock:
            return Counter(m.idempotency_key for m in self.sent)


def _queue(engine, count: int) -> None:
    seed_surveys(engine, now=NOW - timedelta(minutes=1), open_due=count)
    assert invite_due(engine, NOW, secret_key=LINKS.secret_key, worker="w") == count


def _deliver(engine, channel, senders: SenderPool, **options):
    return deliver(
        engine,
        channel,
        LINKS,
        worker="w",
        now=NOW,
        policy=SendPolicy(),
        senders=senders,
        **options,
    )


def test_eight_sender_threads_send_every_text_once(engine):
    _queue(engine, 120)
    provider = ThreadedProvider()
    # The first two sends meet: they can only both arrive if two threads send at once.
    meeting = threading.Barrier(2, timeout=GUARD_S)
    first_two = iter(range(2))

    class Meeting(ThreadedProvider):
        def send(self, message):
            if next(first_two, None) is not None:
                meeting.wait()
            return provider.send(message)

    report = _deliver(engine, Meeting(), SenderPool(8))
    assert report.sent == 120 and report.released == 0
    assert len(provider.counts()) == 120 and set(provider.counts().values()) == {1}
    assert len(provider.threads) >= 2
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}
    assert len({m.provider_sid for m in messages(engine)}) == 120


def test_a_slow_send_holds_up_only_its_own_thread(engine):
    """The first text's provider call does not answer until every other text has gone
    through the other threads."""
    _queue(engine, 40)
    others_done = threading.Event()
    slow_key = {}

    class OneSlowSend(ThreadedProvider):
        def send(self, message):
            with self.lock:
                slow = not slow_key
                slow_key.setdefault("key", message.idempotency_key)
            if slow:
                answered = others_done.wait(GUARD_S)
                receipt = super().send(message)
                slow_key["answered_in_time"] = answered
                return receipt
            receipt = super().send(message)
            if len(self.sent) == 39:
                others_done.set()
            return receipt

    provider = OneSlowSend()
    # One text a claim, so that no other text waits behind the slow one in its thread.
    report = _deliver(engine, provider, SenderPool(4), batch=4)
    assert slow_key["answered_in_time"], "the other threads stalled behind the slow send"
    assert provider.sent[-1].idempotency_key == slow_key["key"]
    assert report.sent == 40 and set(provider.counts().values()) == {1}


def test_a_sender_that_breaks_leaves_the_others_sending_and_its_batch_recoverable(engine):
    _queue(engine, 40)
    broken = {}

    class BreaksOnce(ThreadedProvider):
        def send(self, message):
            with self.lock:
                first = not broken
                broken.setdefault("key", message.idempotency_key)
            if first:
                raise RuntimeError("a bug in the channel")
            return super().send(message)

    provider = BreaksOnce()
    with pytest.raises(RuntimeError):
        _deliver(engine, provider, SenderPool(4))
    statuses = Counter(m.status for m in messages(engine))
    # Only the text whose call broke is left in doubt: its batch-mates were handed back
    # (and maybe sent by the other threads, which carried on).
    assert statuses[MessageStatus.SENDING] == 1
    assert statuses[MessageStatus.SENT] + statuses[MessageStatus.PENDING] == 39
    # Once the lease lapses and the provider is asked, everything goes exactly once.
    later = NOW
    for minutes in (1, 6, 10):
        later = NOW + timedelta(minutes=minutes)
        run_tick(engine, provider, LINKS, now=later, worker="x", senders=SenderPool(4))
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}
    assert len(provider.counts()) == 40 and set(provider.counts().values()) == {1}


class PassClock:
    """A pass clock moved by the provider: each send takes one simulated second."""

    def __init__(self, at: datetime):
        self.at = at
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.at

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.at += timedelta(seconds=seconds)


def test_senders_stop_at_the_budget_and_hand_back_what_they_claimed(engine):
    _queue(engine, 100)
    clock = PassClock(NOW)

    class OneSecondEach(ThreadedProvider):
        def send(self, message):
            clock.advance(1.0)
            return super().send(message)

    provider = OneSecondEach()
    report = _deliver(engine, provider, SenderPool(4), clock=clock, budget_s=10)
    # Sends start only before the budget's end; each takes a second of the shared clock.
    assert 10 <= report.sent <= 10 + 3
    statuses = Counter(m.status for m in messages(engine))
    assert statuses == {MessageStatus.SENT: report.sent, MessageStatus.PENDING: 100 - report.sent}
    assert set(provider.counts().values()) == {1}


class RateClock:
    """A send-rate clock that only sleeping moves: a sleep ends at the time the sleeper
    read plus its delay, never earlier than the clock already reads."""

    def __init__(self):
        self.now = 0.0
        self.lock = threading.Lock()
        self.read = threading.local()

    def clock(self) -> float:
        with self.lock:
            self.read.at = self.now
            self.read.slept = 0.0
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.read.slept = seconds
            self.now = max(self.now, self.read.at + seconds)

    def slot(self) -> float:
        """When the calling thread's last granted send was due to start."""
        return self.read.at + self.read.slept


def test_the_send_rate_holds_in_every_window():
    fake = RateClock()
    rate = SendRate(10, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for segments in [1] * 30 + [3] * 5 + [1] * 10:
        assert rate.acquire(segments)
        starts.append((fake.slot(), segments))
    for window_start, _ in starts:
        window_end = window_start + 1.0 - 1e-9  # slots are sums of tenths: allow rounding
        in_window = sum(s for t, s in starts if window_start <= t < window_end)
        # 10 segments a second; a window that opens on a long text also holds the rest of it.
        assert in_window <= 10 + (3 - 1)
    # 30 single texts, then five of three segments: 4.5 s of sending before the last ten.
    assert starts[35][0] == pytest.approx(4.5)


def test_the_send_rate_is_shared_by_every_thread():
    fake = RateClock()
    rate = SendRate(20, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    lock = threading.Lock()

    def sender():
        for _ in range(25):
            assert rate.acquire()
            with lock:
                starts.append(fake.slot())

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD_S)
    starts.sort()
    assert len(starts) == 100
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) == pytest.approx(0.05), "no two threads got the same slot"
    assert starts[-1] == pytest.approx(99 * 0.05)


def test_a_slot_beyond_the_time_left_is_refused_and_not_reserved():
    fake = RateClock()
    rate = SendRate(2, clock=fake.clock, sleep=fake.sleep)
    assert rate.acquire(within=1.0)  # now
    assert rate.acquire(within=1.0)  # in 0.5 s
    fake.now = 0.5
    assert not rate.acquire(within=0.5)  # the next slot is at 1.0: not before 1.0
    assert rate.acquire(within=0.6)  # still at 1.0: the refusal reserved nothing
    assert fake.slot() == pytest.approx(1.0)


def test_paced_sender_threads_keep_to_the_rate_together(engine):
    """Four threads at 20 segments a second between them: 60 two-segment invitations take
    5.9 s of the rate's clock, not the quarter of it that four separate limits would allow."""
    _queue(engine, 60)
    fake = RateClock()
    provider = ThreadedProvider()
    senders = SenderPool(4, SendRate(20, clock=fake.clock, sleep=fake.sleep))
    report = _deliver(engine, provider, senders)
    assert report.sent == 60 and set(provider.counts().values()) == {1}
    assert {m.segments for m in messages(engine)} == {2}
    assert fake.now == pytest.approx(59 * 2 / 20)


def test_a_sender_whose_turn_comes_after_its_budget_hands_its_claim_back(engine):
    _queue(engine, 30)
    fake = RateClock()
    clock = PassClock(NOW)
    # Two segments a second: one two-segment invitation a second.
    senders = SenderPool(1, SendRate(2, clock=fake.clock, sleep=fake.sleep))

    class RateMovesThePassClock(ThreadedProvider):
        def send(self, message):
            clock.at = NOW + timedelta(seconds=fake.now)
            return super().send(message)

    provider = RateMovesThePassClock()
    report = _deliver(engine, provider, senders, clock=clock, budget_s=5)
    # One a second: slots at 0..4 s; the one at 5 s would start as the budget ends.
    assert report.sent == 5
    statuses = Counter(m.status for m in messages(engine))
    assert statuses == {MessageStatus.SENT: 5, MessageStatus.PENDING: 25}


# --- settings ---------------------------------------------------------------------------------

TWILIO = {
    "SMS_BACKEND": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "f" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "f" * 32,
}


def test_twilio_sends_with_eight_threads_at_ten_segments_a_second_by_default(tmp_path):
    settings = Settings.from_env({"PRO_INSTANCE_DIR": str(tmp_path), **TWILIO})
    pool = sender_pool(settings)
    assert pool.concurrency == 8 and pool.rate.per_second == 10


def test_a_site_sets_its_own_senders_and_rate(tmp_path):
    env = {"PRO_INSTANCE_DIR": str(tmp_path), **TWILIO}
    env |= {"SMS_SEND_CONCURRENCY": "16", "SMS_RATE_PER_SECOND": "2.5"}
    pool = sender_pool(Settings.from_env(env))
    assert pool.concurrency == 16 and pool.rate.per_second == 2.5


def test_the_dev_outbox_needs_neither_threads_nor_pacing(tmp_path):
    settings = Settings.from_env({"PRO_INSTANCE_DIR": str(tmp_path), "SMS_RATE_PER_SECOND": "1"})
    assert sender_pool(settings) == SenderPool(1, None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMS_SEND_CONCURRENCY", "0"),
        ("SMS_SEND_CONCURRENCY", "eight"),
        ("SMS_RATE_PER_SECOND", "0"),
        ("SMS_RATE_PER_SECOND", "-1"),
        ("SMS_RATE_PER_SECOND", "fast"),
        ("SMS_RATE_PER_SECOND", "inf"),
        ("SMS_RATE_PER_SECOND", "nan"),
    ],
)
def test_a_sending_setting_out_of_range_is_refused_with_its_name(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"{name} must be"):
        Settings.from_env({"PRO_INSTANCE_DIR": str(tmp_path), **TWILIO, name: value})


def test_the_apps_engine_keeps_a_connection_for_every_sender_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'pool.sqlite3'}",
        secret_key="s",
        sms_send_concurrency=16,
    )
    app = create_app({"TESTING": True, "SETTINGS": settings})
    engine = app.extensions["pro_engine"]
    try:
        assert engine.pool.size() >= 16 + 1
    finally:
        engine.dispose()
