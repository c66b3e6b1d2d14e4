"""Fault injection: concurrent tick processes, a misbehaving provider, a killed process.

Four tick processes on PostgreSQL (or two, of four sender threads each) send the due
invitations through the real Twilio SDK
to a loopback fake that is slow (up to several seconds), rate-limits, fails before and
after creating, and accepts late; one process is killed at a random moment; patients
text STOP and nurses stop follow-up while it runs. At the end:

- every due invitation was created at the provider exactly once, or is FAILED with an
  alert a nurse sees;
- nothing was created for a patient after their STOP or stop was recorded.

``PRO_FAULT_SIZE`` sets the number of due invitations (default 200, for ``make test``) and
``PRO_FAULT_SEED`` the random seed. The full-size run is
``PRO_FAULT_SIZE=1000 .venv/bin/python -m pytest tests/messaging/test_fault_injection.py -s``.
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from pro_app.followup.conversation import answer_text
from pro_app.messaging.inbound import handle_inbound
from pro_app.models import Alert, InstanceStatus, Message, MessageStatus, Patient, SurveyInstance
from pro_app.scheduling.plan import stop_follow_up
from pro_app.storage.engine import session_scope
from tests.fault_twilio import FaultyTwilio
from tests.messaging.backlog import seed_surveys

BASE = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
SIZE = int(os.environ.get("PRO_FAULT_SIZE", "200"))
SEED = int(os.environ.get("PRO_FAULT_SEED", "16"))
DRAIN_LIMIT_S = 120 + SIZE * 0.3  # a bound to catch a stall, not a speed target
UNSETTLED = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.UNKNOWN)


def _start(engine, mono0: float, provider: FaultyTwilio, stop: Path, name: str, threads: int):
    url = engine.url.render_as_string(hide_password=False)
    command = [
        sys.executable,
        "-m",
        "tests.messaging.fault_worker",
        url,
        BASE.isoformat(),
        repr(mono0),
        provider.base_url,
        str(stop),
        name,
        str(threads),
    ]
    return subprocess.Popen(command, cwd=ROOT)


def _drained(engine) -> bool:
    with Session(engine) as session:
        scheduled = session.exec(
            select(func.count())
            .select_from(SurveyInstance)
            .where(SurveyInstance.status == InstanceStatus.SCHEDULED)
        ).one()
        unsettled = session.exec(
            select(func.count()).select_from(Message).where(Message.status.in_(UNSETTLED))
        ).one()
    return scheduled == 0 and unsettled == 0


def _wait_for_sends(engine, provider: FaultyTwilio, count: int, limit_s: float) -> None:
    """Until the run is well under way: ``count`` texts created at the provider."""
    deadline = time.monotonic() + limit_s
    while len(provider.created) < count:
        assert time.monotonic() < deadline, "nothing was sent"
        time.sleep(0.1)


def _interfere(engine, rng: random.Random, mono0: float, patients: list[Patient]) -> dict:
    """STOP texts and stopped follow-ups at random moments; returns when each was recorded."""
    chosen = rng.sample(patients, max(3, len(patients) // 20))
    recorded = {}
    for n, patient in enumerate(chosen):
        time.sleep(rng.uniform(0, 0.2))
        at = BASE + timedelta(seconds=time.monotonic() - mono0)
        with session_scope(engine) as session:
            if n % 2:
                handle_inbound(
                    session,
                    sid=f"SMstop{n}",
                    from_number=patient.phone_e164,
                    to_number="+15005550006",
                    body="STOP",
                    opt_out_type="STOP",
                    now=at,
                    answer_text=answer_text,
                )
            else:
                stop_follow_up(
                    session,
                    session.get(Patient, patient.id),
                    status="stopped",
                    reason="died",
                    user_id=None,
                    now=at,
                )
        recorded[patient.phone_e164] = time.monotonic()  # committed by now
    return recorded


@pytest.mark.parametrize(
    ("workers", "threads"), [(4, 1), (2, 4)], ids=["4-processes", "2-processes-4-threads"]
)
def test_every_due_invitation_reaches_the_provider_once_whatever_fails(
    engine, tmp_path, workers, threads
):
    if engine.dialect.name != "postgresql":
        pytest.skip("the fault suite runs concurrent processes on PostgreSQL")
    rng = random.Random(SEED)
    seed_surveys(engine, now=BASE, open_due=SIZE)
    with Session(engine) as session:
        patients = list(session.exec(select(Patient)))
    stop = tmp_path / "stop"
    mono0 = time.monotonic()
    with FaultyTwilio(base=BASE, mono0=mono0, seed=SEED) as provider:
        processes = [
            _start(engine, mono0, provider, stop, f"w{n}", threads) for n in range(workers)
        ]
        try:
            _wait_for_sends(engine, provider, SIZE // 10, limit_s=DRAIN_LIMIT_S)
            time.sleep(rng.uniform(0, 2.0))
            processes[0].send_signal(signal.SIGKILL)  # wherever it was, mid-run
            stopped_at = _interfere(engine, rng, mono0, patients)
            deadline = time.monotonic() + DRAIN_LIMIT_S
            while not _drained(engine):
                assert time.monotonic() < deadline, "the outbox did not drain"
                assert all(w.poll() in (None, -signal.SIGKILL) for w in processes)
                time.sleep(0.5)
                if os.environ.get("PRO_FAULT_TRACE"):
                    with Session(engine) as session:
                        counts = Counter(session.exec(select(Message.status)))
                    print(f"{time.monotonic() - mono0:6.1f}s {dict(counts)}")
            drained_s = time.monotonic() - mono0
        finally:
            stop.touch()
            for worker in processes:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        created = list(provider.created)
        requests = provider.requests
    assert processes[0].returncode == -signal.SIGKILL
    assert [w.returncode for w in processes[1:]] == [0] * (workers - 1)

    with Session(engine) as session:
        invitations = list(session.exec(select(Message).where(Message.kind == "invitation")))
        alerted = {
            (a.patient_id, a.instance_id)
            for a in session.exec(select(Alert))
            if a.kind in ("not_sent", "delivery_failure")
        }
    by_message = Counter(c.message_id for c in created)
    assert None not in by_message, "everything created came from an outbox row"
    twice = {m: n for m, n in by_message.items() if n > 1}
    assert twice == {}, f"created more than once: {twice}"

    stopped_numbers = set(stopped_at)
    outcomes = Counter()
    for message in invitations:
        times = by_message[message.id]
        if message.status in (MessageStatus.SENT, MessageStatus.DELIVERED):
            assert times == 1, message
        elif message.status == MessageStatus.FAILED:
            assert (message.patient_id, message.instance_id) in alerted, message
        else:
            assert message.status == MessageStatus.CANCELLED, message
            assert message.to_number in stopped_numbers and times == 0, message
        outcomes[message.status] += 1
    # Every patient who never texted STOP or was stopped got their invitation.
    invited_numbers = {m.to_number for m in invitations}
    assert {p.phone_e164 for p in patients} - stopped_numbers <= invited_numbers
    # Nothing reached the provider for a number after its STOP or stop was recorded.
    late = [c for c in created if c.to in stopped_at and c.arrived > stopped_at[c.to]]
    assert late == []
    print(
        f"\nfault suite: {SIZE} invitations, {workers} processes of {threads} sender "
        f"threads (one killed), "
        f"{requests} provider requests, drained in {drained_s:.1f} s, "
        f"outcomes {dict(outcomes)}"
    )
