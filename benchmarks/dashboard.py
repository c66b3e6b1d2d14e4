"""What the nurse's dashboard costs at a site of 5,000 patients with a year of answers.

Usage: ``.venv/bin/python benchmarks/dashboard.py [--patients 5000] [--runs 30]
[--postgres URL [--postgres-only]]``

Seeds the cohort with ``benchmarks/cohort.py`` (bulk inserts, real scores), signs in as
the site's nurse through the Flask test client and prints the median server time of the
patient list (first page in triage order, a search, the open-alerts filter, sorted by last
answer, and days since the procedure), and of a patient page (different patients each
run; the first page the process serves is printed too). The expected course is read from
the counts kept as answers are saved (rebuilt here after the bulk load), so the first
page costs what any page costs. On PostgreSQL the tables are analysed after the bulk
load, as autovacuum would do. Also prints how plotly.js is served: its size, gzipped size and cache
headers (it is fetched once per browser). Targets: list under 300 ms, patient page under
150 ms.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from benchmarks.cohort import NURSE_EMAIL, PASSWORD, fresh_sqlite_engine, seed_cohort  # noqa: E402
from pro_app import create_app  # noqa: E402
from pro_app.config import Settings  # noqa: E402
from pro_app.storage.engine import make_engine  # noqa: E402
from pro_app.storage.migrate import upgrade  # noqa: E402
from pro_app.web.vendor import plotly_version  # noqa: E402


def timed(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def measure(engine, patients: int, runs: int, label: str) -> None:
    started = time.perf_counter()
    with engine.connect() as connection:
        present = connection.execute(text("SELECT count(*) FROM patient")).scalar_one()
    if present:  # a cohort seeded by an earlier run (--postgres only): measured as it is
        patients = present
        print(f"{label}: reusing the {patients:,} patients already in the database")
    else:
        seed_cohort(engine, patients=patients, now=datetime.now(UTC))
        print(f"{label}: seeded {patients:,} patients in {time.perf_counter() - started:.1f} s")
    if engine.dialect.name == "postgresql":  # as autovacuum would after a bulk load
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    settings = Settings(database_url=str(engine.url), secret_key="bench")
    app = create_app({"SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.post("/login", data={"email": NURSE_EMAIL, "password": PASSWORD})
    lists = [timed(client, "/patients/") for _ in range(runs)]
    searches = [timed(client, "/patients/?q=B0001") for _ in range(runs)]
    filtered = [timed(client, "/patients/?alerts=1&procedure=kyphoplasty") for _ in range(runs)]
    by_answer = [timed(client, "/patients/?sort=last_answered&dir=desc") for _ in range(runs)]
    by_days = [timed(client, "/patients/?days=15-90&sort=day") for _ in range(runs)]
    first = timed(client, "/patients/1")  # the first patient page this process serves
    step = max(patients // runs, 1)
    pages = [timed(client, f"/patients/{1 + i * step}") for i in range(runs)]
    print(f"  patient list, first page:      median {statistics.median(lists):6.1f} ms")
    print(f"  patient list, search:          median {statistics.median(searches):6.1f} ms")
    print(f"  patient list, alerts filter:   median {statistics.median(filtered):6.1f} ms")
    print(f"  patient list, by last answer:  median {statistics.median(by_answer):6.1f} ms")
    print(f"  patient list, days 15-90:      median {statistics.median(by_days):6.1f} ms")
    print(f"  patient page, first served:   {first:6.1f} ms")
    print(f"  patient page:                  median {statistics.median(pages):6.1f} ms")
    script = client.get(f"/vendor/plotly-{plotly_version()}.min.js")
    packed = client.get(
        f"/vendor/plotly-{plotly_version()}.min.js", headers={"Accept-Encoding": "gzip"}
    )
    print(
        f"  plotly.js {plotly_version()}: {len(script.data) / 1e6:.2f} MB, "
        f"{len(packed.data) / 1e6:.2f} MB gzipped, Cache-Control: "
        f"{script.headers['Cache-Control']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL database URL (empty, or seeded before)"
    )
    parser.add_argument("--postgres-only", action="store_true", help="skip the SQLite run")
    args = parser.parse_args()
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as folder:
            engine = fresh_sqlite_engine(Path(folder) / "dashboard.sqlite3")
            measure(engine, args.patients, args.runs, "SQLite")
            engine.dispose()
    if args.postgres:
        engine = make_engine(args.postgres)
        upgrade(engine)
        measure(engine, args.patients, args.runs, "PostgreSQL")


if __name__ == "__main__":
    main()
