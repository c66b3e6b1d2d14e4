"""Ticks in separate processes: two at once do no double work; a killed one loses nothing."""

import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pro_app.models import MessageStatus
from tests.scheduling.tick_worker import LoggingChannel
from tests.tick_helpers import messages

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _enrol_many(gen, count: int) -> None:
    site = gen.site()
    for _ in range(count):
        gen.patient(site, now=ENROLLED, procedure_date=date(2027, 1, 11))


def _worker(engine, now: datetime, log: Path, *extra: str) -> subprocess.Popen:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.scheduling.tick_worker",
            url,
            now.isoformat(),
            str(log),
            *extra,
        ],
        cwd=ROOT,
    )


def test_two_tick_processes_send_each_invitation_once(gen, engine, tmp_path):
    _enrol_many(gen, 300)
    log = tmp_path / "sent.log"
    workers = [_worker(engine, ENROLLED, log, "--worker", name) for name in ("a", "b")]
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    invitations = messages(engine, kind="invitation")
    assert len(invitations) == 300
    assert len({m.instance_id for m in invitations}) == 300
    sent = Counter(line.split("\t")[0] for line in log.read_text().splitlines())
    assert len(sent) == 300 and set(sent.values()) == {1}
    assert {m.status for m in invitations} == {MessageStatus.SENT}


def test_a_killed_tick_loses_nothing_and_repeats_nothing(gen, engine, tmp_path):
    _enrol_many(gen, 20)
    log = tmp_path / "sent.log"
    dead = _worker(engine, ENROLLED, log, "--die-after", "7")
    assert dead.wait(timeout=300) == 17
    assert len(log.read_text().splitlines()) == 7
    stuck = [m for m in messages(engine) if m.status == MessageStatus.SENDING]
    assert stuck  # the dead process held leases it never settled
    # Passes after the lease lapsed reconcile the unknown ones and send the rest.
    from pro_app.messaging.outbox import LinkContext
    from pro_app.scheduling.tick import run_tick

    channel = LoggingChannel(log)
    links = LinkContext(secret_key="test-secret", base_url="https://pro.example.test")
    for minutes in (10, 11, 12):
        run_tick(engine, channel, links, now=ENROLLED + timedelta(minutes=minutes), worker="c")
    sent = Counter(line.split("\t")[0] for line in log.read_text().splitlines())
    assert len(sent) == 20, "every invitation reached the provider"
    assert set(sent.values()) == {1}, "and none twice"
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}
