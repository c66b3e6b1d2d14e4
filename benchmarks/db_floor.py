"""The database's own share of a request: each endpoint's statements sent by psycopg alone.

Usage: ``.venv/bin/python benchmarks/db_floor.py --postgres URL [--transactions 2000]``

``benchmarks/web.py`` compares the app's endpoints with "bare + one round trip". This
script shows how much of that comparison the statements alone decide, whatever the
Python around them: it sends, on one connection with psycopg and no SQLAlchemy or Flask,
the statements of bare + one round trip (the pool's ping, ``SELECT 1``, COMMIT) and of
the survey form's POST (the ping; the survey locked with its patient, site and
procedure; its current answers, read after the lock; the answer superseded, the new one
inserted, the survey's progress written; COMMIT), once a statement at a time as the app
sends them, and once with the three writes and the COMMIT in one pipeline (psycopg's
pipeline mode, which SQLAlchemy's unit of work cannot use). Each is timed over
``--transactions`` transactions on the cohort ``benchmarks/web.py`` seeded (run that
first), the two kinds taken in turn; it prints the median milliseconds a transaction.
The statements are SQLAlchemy Core built on the app's tables, compiled once for
PostgreSQL; the answer written goes to an instrument of its own and is deleted at the end.
"""

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import delete, insert, select, true, update  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from pro_app.models import (  # noqa: E402
    OPEN_STATUSES,
    Patient,
    Procedure,
    Response,
    Site,
    SurveyInstance,
)

INSTRUMENT = "bench_floor"  # no questionnaire has this id: the rows are the script's own


def compiled(statement) -> tuple[str, dict]:
    """``statement`` as psycopg takes it: SQL with %(name)s placeholders, and its values."""
    done = statement.compile(dialect=postgresql.dialect(paramstyle="pyformat"))
    return str(done), dict(done.params)


def post_statements(instance_id: int, token_hash: str) -> dict[str, tuple[str, dict]]:
    instance = SurveyInstance.__table__
    response = Response.__table__
    now = datetime.now(UTC)
    return {
        "lock": compiled(
            select(SurveyInstance, Patient, Site, Procedure)
            .join(Patient, Patient.id == SurveyInstance.patient_id)
            .join(Site, Site.id == Patient.site_id)
            .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
            .where(SurveyInstance.token_hash == token_hash)
            .with_for_update(of=SurveyInstance)
        ),
        "answers": compiled(
            select(Response).where(Response.instance_id == instance_id, Response.is_current)
        ),
        "supersede": compiled(
            update(response)
            .where(
                response.c.instance_id == instance_id,
                response.c.instrument_id == INSTRUMENT,
                response.c.is_current == true(),
            )
            .values(is_current=False)
        ),
        "insert": compiled(
            insert(response).values(
                instance_id=instance_id,
                instrument_id=INSTRUMENT,
                instrument_version="1",
                channel="web",
                answers=json.dumps({"worst": 4, "average": 4, "now": 4}),
                scores=json.dumps({"worst": 4.0, "average": 4.0, "now": 4.0}),
                is_current=True,
                created_at=now,
            )
        ),
        "progress": compiled(
            update(instance)
            .where(instance.c.id == instance_id)
            .values(progress=json.dumps({"web": {"page": 1, "advice": []}}))
        ),
    }


def ping(connection: psycopg.Connection) -> None:
    """The pool's pre-ping, as SQLAlchemy sends it on checkout."""
    connection.autocommit = True
    connection.execute("SELECT 1")
    connection.autocommit = False


def reference(connection: psycopg.Connection) -> None:
    ping(connection)
    connection.execute("SELECT 1").fetchone()
    connection.commit()


def post(connection: psycopg.Connection, statements: dict, *, pipelined: bool) -> None:
    ping(connection)
    for name in ("lock", "answers"):
        sql, params = statements[name]
        connection.execute(sql, params).fetchall()
    writes = [statements[name] for name in ("supersede", "insert", "progress")]
    if pipelined:
        with connection.pipeline():
            for sql, params in writes:
                connection.execute(sql, params)
            connection.commit()
    else:
        for sql, params in writes:
            connection.execute(sql, params)
        connection.commit()


def timed(work, transactions: int) -> float:
    for _ in range(50):  # warm: psycopg prepares a statement from its fifth run
        work()
    took = []
    for _ in range(transactions):
        began = time.perf_counter()
        work()
        took.append((time.perf_counter() - began) * 1000)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="the database benchmarks/web.py seeded")
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = args.postgres.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        statuses = [str(status) for status in OPEN_STATUSES]
        found = connection.execute(
            "SELECT id, token_hash FROM survey_instance WHERE status = ANY(%s) "
            "AND token_hash IS NOT NULL ORDER BY id LIMIT 1",
            (statuses,),
        ).fetchone()
        connection.commit()
        if found is None:
            raise SystemExit("no open survey: seed the database with benchmarks/web.py first")
        statements = post_statements(*found)
        kinds = {
            "bare + one round trip": lambda: reference(connection),
            "survey POST, a statement at a time": lambda: post(
                connection, statements, pipelined=False
            ),
            "survey POST, writes and COMMIT pipelined": lambda: post(
                connection, statements, pipelined=True
            ),
        }
        rounds: dict[str, list[float]] = {name: [] for name in kinds}
        try:
            for _ in range(args.rounds):
                for name, work in kinds.items():
                    rounds[name].append(timed(work, args.transactions))
        finally:
            connection.rollback()
            connection.execute(
                *compiled(delete(Response).where(Response.instrument_id == INSTRUMENT))
            )
            connection.commit()
    print(f"median ms a transaction, psycopg alone, median of {args.rounds} rounds:")
    for name, medians in rounds.items():
        print(f"  {name:44} {statistics.median(medians):6.3f}")


if __name__ == "__main__":
    main()
