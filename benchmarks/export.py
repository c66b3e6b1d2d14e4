"""What the audit costs at 10,000 patients: page time, export times and peak memory.

Usage: ``.venv/bin/python benchmarks/export.py [--patients 10000] [--skip-slow]
[--skip-sqlite] [--sqlite-file PATH] [--postgres URL] [--only patients.xlsx ...]``

Seeds a year of follow-up with ``benchmarks/cohort.py`` into a temporary SQLite file,
then runs each measurement in a fresh process (so its peak memory is its own): the audit
page through the Flask test client as the site's auditor (median of 5), and each export
written to a file, with the time and the process's peak resident memory. The
patient-level CSV also runs on a quarter of the cohort (procedure date filter), to show
that memory stays flat as the cohort grows. Targets: page under 2 s, CSV under 10 s,
under 300 MB; the background exports (patient-level XLSX, FHIR Bundle, FHIR NDJSON) under
60 s and 300 MB. CPU seconds are printed beside the wall time: on a shared machine the
wall time includes waiting for a core. ``--skip-slow`` leaves out the background exports;
``--postgres URL`` (an empty database) adds a PostgreSQL leg, analysed after the load.

Seeding takes minutes at 10,000 patients, so a cohort can be kept and measured again:
``--sqlite-file PATH`` seeds into that file and keeps it, or measures on it without
seeding if it exists; a ``--postgres`` database that already holds patients is measured
as it is. ``--only`` picks measurements by their key (``page``, ``aggregate.csv``,
``aggregate.xlsx``, ``patients.csv``, ``patients.xlsx``, ``patients.fhir``,
``patients.ndjson``; repeatable). A kept cohort was seeded at its own time, so "last
quarter" is counted from now, not from when it was seeded.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEASURE = """
import json, resource, statistics, sys, time
from datetime import date
from pro_app import create_app
from pro_app.config import Settings
from pro_app.storage.engine import make_engine, read_session
from pro_app.models import utcnow
from pro_app.audit.exports import export_chunks
from pro_app.audit.timelines import AuditFilters
url, what, since = sys.argv[1], sys.argv[2], sys.argv[3]
engine = make_engine(url)
started = time.perf_counter()
size = 0
if what == "page":
    app = create_app({"SETTINGS": Settings(database_url=url, secret_key="bench"),
                      "ENGINE": engine, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"email": "auditor@bench.test", "password": "bench-password"})
    times = []
    for _ in range(5):
        t = time.perf_counter()
        response = client.get("/audit/")
        assert response.status_code == 200
        times.append(time.perf_counter() - t)
    seconds = statistics.median(times)
    size = len(response.data)
else:
    level, fmt = what.split(".")
    filters = AuditFilters(date_from=date.fromisoformat(since) if since else None)
    with read_session(engine) as session, open("/dev/null", "wb") as sink:
        for chunk in export_chunks(session, level, fmt, filters, utcnow(), secret_key="bench"):
            data = chunk.encode() if isinstance(chunk, str) else chunk
            size += len(data)
            sink.write(data)
    seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
peak = usage.ru_maxrss / 1024
try:  # Linux: ru_maxrss carries the parent's size over exec; VmHWM is this image's own
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
except OSError:
    pass
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "peak_mb": peak, "bytes": size}))
"""


def run(url: str, what: str, since: str = "") -> dict:
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, url, what, since],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def plans(now: datetime, skip_slow: bool) -> list[tuple[str, str, str]]:
    quarter = (now - timedelta(days=91)).date().isoformat()
    chosen = [
        ("audit page (median of 5)", "page", ""),
        ("outcomes CSV", "aggregate.csv", ""),
        ("outcomes XLSX", "aggregate.xlsx", ""),
        ("patient-level CSV, last quarter's procedures", "patients.csv", quarter),
        ("patient-level CSV, whole cohort", "patients.csv", ""),
    ]
    if not skip_slow:
        chosen += [
            ("patient-level XLSX, whole cohort", "patients.xlsx", ""),
            ("FHIR Bundle, whole cohort", "patients.fhir", ""),
            ("FHIR NDJSON (zipped), whole cohort", "patients.ndjson", ""),
        ]
    return chosen


def measure_all(url: str, now: datetime, skip_slow: bool, only: list[str] | None) -> None:
    for label, what, since in plans(now, skip_slow):
        if only and what not in only:
            continue
        figures = run(url, what, since)
        print(
            f"  {label:46s} {figures['seconds']:7.2f} s  (CPU {figures['cpu_s']:6.1f} s)"
            f"  peak {figures['peak_mb']:6.0f} MB"
            f"  {figures['bytes'] / 1e3:10,.0f} kB out"
        )


def seed_sqlite(path: Path, patients: int, now: datetime) -> None:
    from benchmarks.cohort import fresh_sqlite_engine, seed_cohort

    engine = fresh_sqlite_engine(path)
    started = time.perf_counter()
    seed_cohort(engine, patients=patients, now=now)
    engine.dispose()
    seconds = time.perf_counter() - started
    print(f"SQLite: seeded {patients:,} patients in {seconds:.1f} s")


def patient_count(url: str) -> int:
    from sqlalchemy import func, select

    from pro_app.models import Patient
    from pro_app.storage.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    engine.dispose()
    return count


def measure_sqlite(args: argparse.Namespace, now: datetime) -> None:
    if args.sqlite_file and Path(args.sqlite_file).exists():
        path = Path(args.sqlite_file)
        kept = patient_count(f"sqlite:///{path}")
        print(f"SQLite: measuring the kept cohort in {path} ({kept:,} patients)")
        measure_all(f"sqlite:///{path}", now, args.skip_slow, args.only)
    elif args.sqlite_file:
        path = Path(args.sqlite_file)
        seed_sqlite(path, args.patients, now)
        measure_all(f"sqlite:///{path}", now, args.skip_slow, args.only)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "audit.sqlite3"
            seed_sqlite(path, args.patients, now)
            measure_all(f"sqlite:///{path}", now, args.skip_slow, args.only)


def measure_postgres(url: str, patients: int, now: datetime, skip_slow: bool, only) -> None:
    from sqlalchemy import text

    from benchmarks.cohort import seed_cohort
    from pro_app.storage.engine import make_engine
    from pro_app.storage.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    kept = patient_count(url)
    if kept:
        print(f"PostgreSQL: measuring the kept cohort ({kept:,} patients)")
    else:
        engine = make_engine(url)
        started = time.perf_counter()
        seed_cohort(engine, patients=patients, now=now)
        with engine.connect() as connection:  # as autovacuum would after a bulk load
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        engine.dispose()
        seconds = time.perf_counter() - started
        print(f"PostgreSQL: seeded {patients:,} patients in {seconds:.1f} s")
    measure_all(url, now, skip_slow, only)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--sqlite-file",
        default=None,
        help="keep the seeded SQLite cohort here (reused if it exists)",
    )
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL database URL (empty, or a kept cohort)"
    )
    parser.add_argument(
        "--only", action="append", default=None, help="a measurement's key, e.g. patients.xlsx"
    )
    args = parser.parse_args()
    now = datetime.now(UTC)
    if not args.skip_sqlite:
        measure_sqlite(args, now)
    if args.postgres:
        measure_postgres(args.postgres, args.patients, now, args.skip_slow, args.only)


if __name__ == "__main__":
    main()
