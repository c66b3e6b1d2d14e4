"""How a scheduling pass scales: idle and busy ticks at 1,000 / 10,000 / 100,000 patients.

Usage: ``.venv/bin/python benchmarks/tick.py [--sizes 1000,10000,100000] [--skip-postgres]
[--history year|empty|both] [--seeded URL] [--overdue 100000] [--concurrency 1,4,8,16]
[--processes 1,2] [--latency-ms 200] [--rate SEGMENTS_PER_S] [--delivery-only]``

Each size is measured on ``benchmarks/cohort.py``'s cohort: a year of follow-up history
(about 8 survey instances and 17 texts a patient: completed, expired, reminded, failed,
opted out, stopped), bulk-loaded and analysed as it stands at 10:00 UTC on 1 March 2027.
``--history empty`` measures the old, easier case instead (patients, procedures and eight
planned survey instances each, all due in the future); ``both`` prints both. The tick
itself is the real ``run_tick`` with a channel that sends nothing. Prints, per database
and size: the median idle tick (nothing due), the time of a tick with 1,000 invitations
due (the earliest planned surveys of textable patients, moved to a minute ago: prepared,
written to the outbox and handed to the channel), and the invitations per second. The
process loads protocols and instruments first, as ``pro-app scheduler`` does; its first
busy pass (500 due, printed too) also builds every statement of the busy path, and the
pass measured is the next one, as nearly every pass of a long-running scheduler is.
Target: idle tick under 50 ms at 100,000 patients and within 2x of the one at 1,000; at
least 500 invitations a second. ``--seeded URL`` measures an existing PostgreSQL
database that ``benchmarks/cohort.py --postgres URL`` filled (it is changed: the busy
pass invites 1,000 surveys).

The backlog case (``--overdue N``, 0 to skip) is the scheduler coming back after days
down: N baseline surveys whose window closed unanswered, plus 1,000 still open and due.
Passes run back to back at the same moment until nothing is left; it prints how many
passes that took, the longest pass (each is bounded by the stage budgets), and the
seconds to drain. Target: every pass returns within its budget and the backlog drains.

The delivery case (``--concurrency 1,4,8,16 --processes 1,2 --latency-ms 200``; an
empty ``--concurrency`` skips it) hands queued invitations to a channel that takes
``--latency-ms`` to answer each request, as a real provider does (100-300 ms), with
that many sender threads in each of that many processes, for ``--delivery-budget``
seconds, unpaced or paced to ``--rate`` segments a second per process (an invitation is
2 segments). It prints the texts handed over per second. Target: at least 50 a second
at 200 ms.
"""

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text, update

if __package__ in (None, ""):  # run as a script: import the project, not this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cohort import seed_cohort  # noqa: E402
from notifications import NullChannel, OutgoingSms, SendReceipt  # noqa: E402
from pro_app.messaging.outbox import LinkContext, deliver  # noqa: E402
from pro_app.messaging.pacing import SenderPool, SendRate  # noqa: E402
from pro_app.messaging.timing import SendPolicy  # noqa: E402
from pro_app.models import (  # noqa: E402
    FollowUpStatus,
    InstanceStatus,
    Patient,
    Procedure,
    Site,
    SurveyInstance,
)
from pro_app.scheduling.invitations import invite_due  # noqa: E402
from pro_app.scheduling.protocols import load_all  # noqa: E402
from pro_app.scheduling.tick import run_tick  # noqa: E402
from pro_app.storage.engine import make_engine  # noqa: E402
from pro_app.storage.migrate import upgrade  # noqa: E402

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
OFFSETS = (0, 1, 7, 14, 28, 84, 182, 364)
LINKS = LinkContext(secret_key="bench", base_url="https://pro.example.org")
CHUNK = 5000


def seed(engine, patients: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(Site.__table__).values(id=1, code="B", name="Bench", team_phone="0", **_site())
        )
    for start in range(0, patients, CHUNK):
        ids = range(start + 1, min(start + CHUNK, patients) + 1)
        with engine.begin() as connection:
            connection.execute(insert(Patient.__table__), [_patient(i) for i in ids])
            connection.execute(insert(Procedure.__table__), [_procedure(i) for i in ids])
            connection.execute(
                insert(SurveyInstance.__table__), [row for i in ids for row in _instances(i)]
            )


def _site() -> dict:
    return {
        "timezone": "Europe/London",
        "phone_region": "GB",
        "protocol_id": "default",
        "omed_table": "opioids_aware",
        "alert_target_hours": 72,
        "min_cell_count": 5,
        "created_at": NOW,
    }


def _patient(i: int) -> dict:
    return {
        "id": i,
        "site_id": 1,
        "study_id": f"B{i}",
        "first_name": "Pat",
        "phone_e164": f"+4474{i:08d}",
        "timezone": "Europe/London",
        "language": "en",
        "consent": True,
        "channel": "link",
        "sms_opted_out": False,
        "status": "active",
        "created_at": NOW,
    }


def _procedure(i: int) -> dict:
    return {
        "id": i,
        "patient_id": i,
        "procedure_date": date(2027, 3, 10),
        "augmentation": "kyphoplasty",
        "levels": "T12",
        "lesion_type": "lytic",
        "electrode": "bipolar",
        "protocol_id": "default",
        "created_at": NOW,
    }


def _instances(i: int) -> list[dict]:
    names = ("baseline", "day1", "week1", "week2", "week4", "week12", "week26", "week52")
    rows = []
    for name, offset in zip(names, OFFSETS, strict=True):
        due = NOW + timedelta(days=offset + 1)
        rows.append(
            {
                "procedure_id": i,
                "patient_id": i,
                "timepoint": name,
                "day_offset": offset,
                "instruments": ["pain_nrs"],
                "opens_at": due - timedelta(days=1),
                "due_at": due,
                "closes_at": due + timedelta(days=3),
                "status": "scheduled",
                "reminders_sent": 0,
                "link_version": 0,
                "progress": {},
            }
        )
    return rows


def make_due(engine, count: int) -> None:
    """Move the ``count`` earliest planned surveys of patients who can be texted to a
    minute ago (their windows stay open)."""
    earliest = (
        select(SurveyInstance.id)
        .join(Patient, Patient.id == SurveyInstance.patient_id)
        .where(
            SurveyInstance.status == InstanceStatus.SCHEDULED,
            Patient.status == FollowUpStatus.ACTIVE,
            Patient.sms_opted_out.is_(False),
            Patient.phone_problem.is_(None),
        )
        .order_by(SurveyInstance.due_at, SurveyInstance.id)
        .limit(count)
    )
    with engine.begin() as connection:
        ids = list(connection.execute(earliest).scalars())
        assert len(ids) == count, f"only {len(ids)} planned surveys to make due"
        connection.execute(
            update(SurveyInstance)
            .where(SurveyInstance.id.in_(ids))
            .values(due_at=NOW - timedelta(minutes=1), opens_at=NOW - timedelta(days=1))
        )


def make_overdue(engine, closed: int, still_open: int) -> None:
    """Baseline surveys of the first ``closed`` patients closed days ago unanswered; the
    next ``still_open`` are due and open."""
    with engine.begin() as connection:
        connection.execute(
            update(SurveyInstance)
            .where(SurveyInstance.timepoint == "baseline", SurveyInstance.patient_id <= closed)
            .values(
                opens_at=NOW - timedelta(days=6),
                due_at=NOW - timedelta(days=5),
                closes_at=NOW - timedelta(days=2),
            )
        )
        connection.execute(
            update(SurveyInstance)
            .where(
                SurveyInstance.timepoint == "baseline",
                SurveyInstance.patient_id > closed,
                SurveyInstance.patient_id <= closed + still_open,
            )
            .values(opens_at=NOW - timedelta(days=1), due_at=NOW - timedelta(hours=3))
        )


def drain_backlog(engine, overdue: int) -> dict:
    """Passes until a backlog of ``overdue`` closed surveys (and 1,000 open) is drained."""
    seed(engine, overdue + 1000)
    make_overdue(engine, overdue, 1000)
    channel = NullChannel()
    passes, longest, expired, sent = 0, 0.0, 0, 0
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        report = run_tick(engine, channel, LINKS, now=NOW, worker="bench")
        longest = max(longest, time.perf_counter() - began)
        passes += 1
        expired += report.expired
        sent += report.delivery.sent
        if not (report.expired or report.invited or report.delivery.sent):
            break
    drained = time.perf_counter() - started
    assert expired == overdue and sent == 1000, (expired, sent)
    return {"passes": passes, "longest_s": longest, "drain_s": drained}


def measure(engine, patients: int, history: bool = True) -> dict:
    started = time.perf_counter()
    if history:
        seed_cohort(engine, patients=patients, now=NOW)
    else:
        seed(engine, patients)
    return measure_seeded(engine, patients, time.perf_counter() - started)


def measure_seeded(engine, patients: int, seeded: float = 0.0) -> dict:
    """Idle ticks, then busy ticks, on a seeded database.

    As in ``pro-app scheduler``, protocols and instruments are loaded before the first
    pass. The first busy pass of the process (500 due) also builds and prepares every
    statement of the busy path; the one measured (1,000 due) is a later pass, as nearly
    every pass of a scheduler running for weeks is.
    """
    load_all()
    channel = NullChannel()
    run_tick(engine, channel, LINKS, now=NOW, worker="bench")  # warm caches
    idle = []
    for _ in range(7):
        began = time.perf_counter()
        run_tick(engine, channel, LINKS, now=NOW, worker="bench")
        idle.append(time.perf_counter() - began)
    first = _busy_pass(engine, channel, 500)
    busy = _busy_pass(engine, channel, 1000)
    return {
        "patients": patients,
        "seed_s": seeded,
        "idle_ms": statistics.median(idle) * 1000,
        "first_s": first,
        "busy_s": busy,
        "per_s": 1000 / busy,
    }


def _busy_pass(engine, channel, due: int) -> float:
    """Seconds of one pass with ``due`` invitations due: written, claimed and sent."""
    make_due(engine, due)
    began = time.perf_counter()
    report = run_tick(engine, channel, LINKS, now=NOW, worker="bench")
    seconds = time.perf_counter() - began
    assert report.invited == due and report.delivery.sent == due, report
    return seconds


# --- delivery through a provider that takes its time ---------------------------------------


class SlowChannel:
    """Accepts every text after ``latency_s`` seconds, as a provider's API answers."""

    def __init__(self, latency_s: float):
        self.latency_s = latency_s

    def send(self, message: OutgoingSms) -> SendReceipt:
        time.sleep(self.latency_s)
        return SendReceipt(provider_sid="SM" + secrets.token_hex(16), status="queued")


def queue_invitations(engine, count: int) -> None:
    """``count`` patients whose baseline invitation waits in the outbox."""
    seed(engine, count)
    make_due(engine, count)
    while invite_due(engine, NOW, secret_key=LINKS.secret_key, worker="bench", limit=1000):
        pass


def send_for(
    url: str, concurrency: int, latency_s: float, budget_s: float, rate: float | None
) -> dict:
    """One process's delivery pass; monotonic start and end (the same clock in every process)."""
    engine = make_engine(url, pool_size=concurrency + 2)
    senders = SenderPool(concurrency, SendRate(rate) if rate else None)
    try:
        started = time.monotonic()
        report = deliver(
            engine,
            SlowChannel(latency_s),
            LINKS,
            worker=f"bench-{uuid.uuid4().hex[:6]}",
            now=NOW,
            policy=SendPolicy(),
            budget_s=budget_s,
            senders=senders,
        )
        return {"sent": report.sent, "start": started, "end": time.monotonic()}
    finally:
        engine.dispose()


def measure_delivery(url: str, processes: int, concurrency: int, args) -> dict:
    """Texts handed over per second by ``processes`` x ``concurrency`` senders."""
    latency_s = args.latency_ms / 1000
    if processes == 1:
        runs = [send_for(url, concurrency, latency_s, args.delivery_budget, args.rate)]
    else:
        with tempfile.TemporaryDirectory() as folder:
            go = Path(folder) / "go"
            command = [sys.executable, __file__, "--send-worker", url, str(go)]
            command += [str(concurrency), str(latency_s), str(args.delivery_budget)]
            command += [str(args.rate or 0)]
            workers = [
                subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                for _ in range(processes)
            ]
            time.sleep(3)  # every worker has imported and waits for the go
            go.touch()
            runs = [json.loads(worker.communicate()[0]) for worker in workers]
    sent = sum(run["sent"] for run in runs)
    elapsed = max(run["end"] for run in runs) - min(run["start"] for run in runs)
    return {"sent": sent, "seconds": elapsed, "per_s": sent / elapsed}


def send_worker(
    url: str, go: str, concurrency: str, latency_s: str, budget_s: str, rate: str
) -> None:
    """A delivery process of the several-process case: waits for ``go``, prints its run."""
    while not Path(go).exists():
        time.sleep(0.01)
    run = send_for(url, int(concurrency), float(latency_s), float(budget_s), float(rate))
    print(json.dumps(run))


def delivery_table(backends: list[str], args) -> None:
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    processes = [int(p) for p in args.processes.split(",") if p]
    if not concurrencies:
        return
    paced = f"paced to {args.rate:g} segments/s per process" if args.rate else "unpaced"
    print(
        f"\n{'database':10} {'processes':>9} {'threads':>7} {'latency ms':>10} "
        f"{'sent':>6} {'seconds':>7} {'texts/s':>8}   ({paced})"
    )
    for backend in backends:
        for count in processes:
            for threads in concurrencies:
                # Enough queued that no sender runs out before the budget ends.
                queued = int(count * threads / (args.latency_ms / 1000) * args.delivery_budget)
                with tempfile.TemporaryDirectory() as folder:
                    if backend == "sqlite":
                        engine, drop = sqlite_engine(Path(folder)), None
                    else:
                        engine, drop = postgres_engine(args.postgres)
                    try:
                        queue_invitations(engine, queued + 100)
                        url = engine.url.render_as_string(hide_password=False)
                        engine.dispose()
                        result = measure_delivery(url, count, threads, args)
                    finally:
                        engine.dispose()
                        if drop:
                            drop()
                print(
                    f"{backend:10} {count:>9} {threads:>7} {args.latency_ms:>10.0f} "
                    f"{result['sent']:>6} {result['seconds']:>7.1f} {result['per_s']:>8.1f}"
                )


def sqlite_engine(folder: Path):
    engine = make_engine(f"sqlite:///{folder / f'{uuid.uuid4().hex}.sqlite3'}")
    upgrade(engine)
    return engine


def postgres_engine(url: str):
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"pro_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine)

    def drop() -> None:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))

    return engine, drop


def _history(history: bool) -> str:
    return "year" if history else "empty"


def _print_row(backend: str, history: bool, result: dict) -> None:
    print(
        f"{backend:10} {_history(history):8} {result['patients']:>9,} {result['seed_s']:>7.1f} "
        f"{result['idle_ms']:>13.1f} {result['first_s']:>12.2f} {result['busy_s']:>12.2f} "
        f"{result['per_s']:>10.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--history", choices=("year", "empty", "both"), default="year")
    parser.add_argument("--seeded", help="a PostgreSQL database seeded by benchmarks/cohort.py")
    parser.add_argument("--overdue", type=int, default=100_000)
    parser.add_argument("--concurrency", default="1,4,8,16", help="sender threads to try")
    parser.add_argument("--processes", default="1,2", help="sender processes to try")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--delivery-budget", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None, help="segments/s per process")
    parser.add_argument("--delivery-only", action="store_true", help="only the delivery case")
    parser.add_argument("--send-worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send_worker:
        send_worker(*args.send_worker)
        return
    if args.delivery_only:
        delivery_table(["sqlite"] + ([] if args.skip_postgres else ["postgresql"]), args)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = ["sqlite"] + ([] if args.skip_postgres else ["postgresql"])
    histories = {"year": [True], "empty": [False], "both": [True, False]}[args.history]
    print(
        f"{'database':10} {'history':8} {'patients':>9} {'seed s':>7} {'idle tick ms':>13} "
        f"{'first: 500 s':>12} {'1,000 due s':>12} {'invites/s':>10}"
    )
    if args.seeded:
        engine = make_engine(args.seeded)
        try:
            with engine.connect() as connection:
                size = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
            _print_row("postgresql", True, measure_seeded(engine, size))
        finally:
            engine.dispose()
        return
    for backend in backends:
        for history in histories:
            results = []
            for size in sizes:
                with tempfile.TemporaryDirectory() as folder:
                    if backend == "sqlite":
                        engine, drop = sqlite_engine(Path(folder)), None
                    else:
                        engine, drop = postgres_engine(args.postgres)
                    try:
                        result = measure(engine, size, history)
                    finally:
                        engine.dispose()
                        if drop:
                            drop()
                results.append(result)
                _print_row(backend, history, result)
            ratio = results[-1]["idle_ms"] / results[0]["idle_ms"]
            print(
                f"{backend:10} {_history(history):8} idle tick {sizes[-1]:,} vs {sizes[0]:,} "
                f"patients: {ratio:.2f}x"
            )
    if args.overdue:
        print(
            f"\n{'database':10} {'overdue':>9} {'passes':>7} {'longest pass s':>15} {'drain s':>8}"
        )
    for backend in backends if args.overdue else ():
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                engine, drop = sqlite_engine(Path(folder)), None
            else:
                engine, drop = postgres_engine(args.postgres)
            try:
                result = drain_backlog(engine, args.overdue)
            finally:
                engine.dispose()
                if drop:
                    drop()
        print(
            f"{backend:10} {args.overdue:>9,} {result['passes']:>7} "
            f"{result['longest_s']:>15.1f} {result['drain_s']:>8.1f}"
        )

    delivery_table(backends, args)


if __name__ == "__main__":
    main()
