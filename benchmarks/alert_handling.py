"""What the audit's alert handling costs on a busy cohort.

Usage: ``.venv/bin/python benchmarks/alert_handling.py [--patients 2000]``

Seeds a cohort with ``benchmarks/cohort.py`` (SQLite, temporary file), then adds alerts at
the rate PRO-TECT reported (34% of answered surveys raised one), of every kind the audit
splits, most acknowledged within hours and some left open, with the actions nurses
record. Prints the median of 3 of the alert handling alone and of the whole audit report,
and the number of alerts. Target: alert handling a small part of the page's 2 s.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cohort import fresh_sqlite_engine, seed_cohort  # noqa: E402
from pro_app.audit.alert_handling import alert_handling  # noqa: E402
from pro_app.audit.report import build_report  # noqa: E402
from pro_app.audit.timelines import AuditFilters  # noqa: E402
from pro_app.models import Alert, SurveyInstance  # noqa: E402
from pro_app.models.safety import ALERT_ACTION_LABELS  # noqa: E402
from pro_app.storage.engine import read_session  # noqa: E402

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
ALERT_RATE = 0.34  # PRO-TECT: share of surveys that raised an alert
KINDS = (  # kind, urgency, target hours, share of alerts
    ("red_flag", "now", 1, 0.05),
    ("red_flag", "24h", 24, 0.15),
    ("pain_worse", "24h", 24, 0.35),
    ("opioid_up", "routine", 72, 0.15),
    ("non_response", "routine", 72, 0.30),
)


def add_alerts(engine, rng: random.Random) -> int:
    """One alert for about a third of the answered surveys; returns how many."""
    with engine.begin() as connection:
        answered = connection.execute(
            select(SurveyInstance.id, SurveyInstance.patient_id, SurveyInstance.completed_at)
            .where(SurveyInstance.completed_at.is_not(None))
            .where(SurveyInstance.completed_at < NOW)
        ).all()
        weights = [share for *_, share in KINDS]
        actions = list(ALERT_ACTION_LABELS)
        rows = []
        for instance_id, patient_id, completed_at in answered:
            if rng.random() >= ALERT_RATE:
                continue
            kind, urgency, hours, _ = rng.choices(KINDS, weights)[0]
            created = completed_at
            waited = rng.lognormvariate(1.5, 1.2)  # hours: median about 4.5
            acknowledged = created + timedelta(hours=waited)
            handled = rng.random() < 0.9 and acknowledged < NOW
            rows.append(
                {
                    "patient_id": patient_id,
                    "instance_id": instance_id,
                    "kind": kind,
                    "urgency": urgency,
                    "summary": "benchmark",
                    "dedupe_key": f"bench:{kind}:{instance_id}",
                    "created_at": created,
                    "due_by": created + timedelta(hours=hours),
                    "acknowledged_at": acknowledged if handled else None,
                    "action": rng.choice(actions) if handled else None,
                }
            )
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Alert.__table__), rows[start : start + 5000])
    return len(rows)


def median_seconds(engine, work) -> float:
    times = []
    for _ in range(3):
        with read_session(engine) as session:
            started = time.perf_counter()
            work(session)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_sqlite_engine(Path(folder) / "alerts.sqlite3")
        try:
            seed_cohort(engine, patients=args.patients, now=NOW)
            alerts = add_alerts(engine, random.Random(18))
            filters = AuditFilters()
            handling = median_seconds(engine, lambda s: alert_handling(s, filters, NOW))
            report = median_seconds(engine, lambda s: build_report(s, filters, NOW))
        finally:
            engine.dispose()
    print(f"{args.patients:,} patients, {alerts:,} alerts added")
    print(f"  alert handling alone (median of 3)   {handling:6.2f} s")
    print(f"  whole audit report (median of 3)     {report:6.2f} s")


if __name__ == "__main__":
    main()
