"""The web tier's request ceiling under gunicorn on PostgreSQL, against the bare framework.

Usage: ``.venv/bin/python benchmarks/web.py --postgres URL [--patients 1000]
[--requests 1000] [--rounds 3] [--workers 2] [--threads 4]
[--profile sms|survey-get|survey-post] [--only KEY ...]``

Seeds an empty PostgreSQL database with ``benchmarks/cohort.py`` (a year of follow-up;
a database seeded by an earlier run is reused), serves the app with gunicorn
(``--workers`` x ``--threads``, gthread; the README deploys 4 x 4) and drives it from
this process with a bounded load generator: a fixed number of requests spread over 1 and
then 8 threads, each on its own keep-alive connection. Endpoints: a bare Flask endpoint,
a bare endpoint with one database round trip (both registered here only, by
``bench_app``), the patient survey page (GET, and a POST that saves the pain page of one
of many open surveys), and Twilio's signed inbound SMS webhook (replies from the
cohort's numbers, answering texted surveys where one is open). Prints requests/s and
p50/p95/p99 latency for each (the median of ``--rounds`` rounds, taken in turn), and
each real endpoint as a share of "bare + one round trip" (target: at least 50%). The
load generator shares the machine's cores with the server, as ``wrk`` on the same host
would.

``--profile NAME`` runs that endpoint in this process through Flask's test client under
cProfile instead and prints where the time goes.
"""

import argparse
import cProfile
import http.client
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select, text  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.cohort import SECRET_KEY, seed_cohort  # noqa: E402
from pro_app.followup.survey_pages import survey_pages  # noqa: E402
from pro_app.messaging.links import survey_token  # noqa: E402
from pro_app.models import OPEN_STATUSES, Patient, SurveyInstance  # noqa: E402
from pro_app.storage.engine import make_engine  # noqa: E402
from pro_app.storage.migrate import upgrade  # noqa: E402

AUTH_TOKEN = "bench-twilio-token"
PUBLIC_BASE_URL = "https://pro.bench.test"
CONCURRENCY = (1, 8)


def bench_app():
    """The app as gunicorn serves it, plus two endpoints that exist only in this benchmark."""
    from flask import Flask

    from pro_app import create_app
    from pro_app.storage import database

    app: Flask = create_app()

    @app.get("/bench/bare")
    def bare():
        return "ok"

    @app.get("/bench/db")
    def one_round_trip():
        database.session().execute(text("SELECT 1")).scalar_one()
        return "ok"

    return app


def server_environment(database_url: str, folder: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "PRO_INSTANCE_DIR": folder,
    }


@dataclass
class Targets:
    """What the load generator asks for: open surveys' links and the cohort's numbers."""

    links: list[str]
    pain_form: dict[str, str]
    numbers: list[str]


def seed(database_url: str, patients: int) -> Targets:
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.connect() as connection:
        seeded = connection.execute(select(Patient.id).limit(1)).first() is not None
    if not seeded:
        seed_cohort(engine, patients=patients, now=now)
    vacuum(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(SurveyInstance.id, SurveyInstance.link_version, SurveyInstance.instruments)
            .join(Patient, Patient.id == SurveyInstance.patient_id)
            .where(
                SurveyInstance.status.in_(OPEN_STATUSES),
                SurveyInstance.closes_at > now + timedelta(hours=1),
                Patient.channel == "link",
            )
            .order_by(SurveyInstance.id)
        ).all()
        numbers = connection.execute(select(Patient.phone_e164).order_by(Patient.id)).scalars()
        numbers = list(numbers)
    engine.dispose()
    if seeded:
        print("reusing the cohort already in the database; ", end="")
    else:
        print(f"seeded {patients:,} patients in {time.perf_counter() - started:.0f} s; ", end="")
    print(f"{len(rows)} open web surveys, {len(numbers)} numbers")
    if not rows:
        raise SystemExit("no open survey in the cohort: use more patients")
    links = [f"/s/{survey_token(SECRET_KEY, i, version)}" for i, version, _ in rows]
    first_page = survey_pages(rows[0][2])[0]
    form = {"action": "next", **{item.id: "4" for item in first_page.items}}
    return Targets(links, form, numbers)


def vacuum(engine) -> None:
    """Clear what earlier rounds left behind, as autovacuum would on a production database
    (it may be off on a test server), so a round is not slowed by the rows another wrote."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


# The load generator


@dataclass
class Request:
    method: str
    path: str
    body: str | None = None
    headers: dict[str, str] | None = None


class Connection:
    """One keep-alive connection with its own cookies, as one browser or one Twilio worker."""

    def __init__(self, port: int):
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def send(self, request: Request) -> tuple[int, str]:
        headers = dict(request.headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.http.request(request.method, request.path, body=request.body, headers=headers)
        response = self.http.getresponse()
        body = response.read().decode("utf-8", "replace")
        if cookie := response.getheader("Set-Cookie"):
            self.cookie = cookie.split(";", 1)[0]
        return response.status, body


@dataclass
class Endpoint:
    name: str
    key: str
    expect: int
    requests: Callable[[Connection, int], Callable[[int], Request]]  # per connection: i -> req


def run_load(port: int, endpoint: Endpoint, total: int, threads: int) -> tuple[float, list]:
    """``total`` requests over ``threads`` connections; (requests/s, latencies in ms)."""
    per_thread = total // threads
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def worker(number: int) -> None:
        connection = Connection(port)
        make = endpoint.requests(connection, number)
        for i in range(3):  # warm the connection and the worker
            connection.send(make(-1 - i))
        mine = []
        barrier.wait()
        for i in range(per_thread):
            request = make(number * per_thread + i)
            began = time.perf_counter()
            status, body = connection.send(request)
            mine.append((time.perf_counter() - began) * 1000)
            if status != endpoint.expect:
                failures.append(f"{status} {body[:200]}")
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{endpoint.name}: {len(failures)} failed, e.g. {failures[0]}")
    return len(latencies) / elapsed, latencies


def endpoints(targets: Targets) -> list[Endpoint]:
    validator = RequestValidator(AUTH_TOKEN)
    sids = count()
    run = time.time_ns()

    def bare(path):
        return lambda connection, thread: lambda i: Request("GET", path)

    def survey_get(connection, thread):
        # As a browser asks: the page comes compressed.
        accepts = {"Accept-Encoding": "gzip, deflate, br"}
        return lambda i: Request("GET", targets.links[i % len(targets.links)], None, accepts)

    def survey_post(connection, thread):
        # Each connection is one patient's browser (the link is its only credential).
        link = targets.links[thread % len(targets.links)]
        body = urlencode(targets.pain_form)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        # ?page=1: the pain page again each time (a patient going back to change an answer).
        return lambda i: Request("POST", f"{link}?page=1", body, headers)

    def sms(connection, thread):
        def make(i: int) -> Request:
            params = {
                "MessageSid": f"SM{run:020d}{next(sids):012d}",
                "From": targets.numbers[(thread * 7919 + i) % len(targets.numbers)],
                "To": "+447400000000",
                "Body": str(abs(i) % 11),
            }
            signature = validator.compute_signature(PUBLIC_BASE_URL + "/sms/inbound", params)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            }
            return Request("POST", "/sms/inbound", urlencode(params), headers)

        return make

    return [
        Endpoint("bare endpoint", "bare", 200, bare("/bench/bare")),
        Endpoint("bare + 1 DB round trip", "db", 200, bare("/bench/db")),
        Endpoint("survey page GET", "survey-get", 200, survey_get),
        Endpoint("survey page POST", "survey-post", 302, survey_post),
        Endpoint("SMS webhook (signed)", "sms", 200, sms),
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(database_url: str, folder: str, workers: int, threads: int) -> tuple:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(ROOT),
        "--log-level",
        "warning",
        "benchmarks.web:bench_app()",
    ]
    server = subprocess.Popen(command, env=server_environment(database_url, folder), cwd=ROOT)
    for _ in range(300):
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            probe.request("GET", "/bench/bare")
            if probe.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def percentile(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(args, targets: Targets, folder: str) -> None:
    """Every endpoint at each concurrency, ``--rounds`` times in turn (so a slow spell of
    the machine falls on all of them alike); each row is the round with the median rate."""
    server, port = serve(args.postgres, folder, args.workers, args.threads)
    engine = make_engine(args.postgres)
    try:
        print(f"gunicorn {args.workers} workers x {args.threads} threads (gthread), ", end="")
        print(f"{args.requests} requests per row, median of {args.rounds} rounds, ", end="")
        print(f"{os.cpu_count()} cores shared with the client")
        chosen = [e for e in endpoints(targets) if e.key in ("db", *args.only) or not args.only]
        rows = [(endpoint, threads) for endpoint in chosen for threads in CONCURRENCY]
        runs: dict[tuple[str, int], list[tuple[float, list]]] = {}
        for _ in range(args.rounds):
            for endpoint, threads in rows:
                vacuum(engine)
                run = run_load(port, endpoint, args.requests, threads)
                runs.setdefault((endpoint.name, threads), []).append(run)
        header = f"{'endpoint':24} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7}"
        print(f"{header} {'p99 ms':>7} {'of bare+DB':>10}")
        reference: dict[int, float] = {}
        for endpoint, threads in rows:
            done = sorted(runs[(endpoint.name, threads)], key=lambda run: run[0])
            rate, latencies = done[len(done) // 2]
            ordered = sorted(latencies)
            if endpoint.name.startswith("bare + 1"):
                reference[threads] = rate
            share = f"{rate / reference[threads]:>9.0%}" if threads in reference else "-"
            print(
                f"{endpoint.name:24} {threads:>4} {rate:>8.0f} "
                f"{statistics.median(ordered):>7.1f} {percentile(ordered, 95):>7.1f} "
                f"{percentile(ordered, 99):>7.1f} {share:>10}"
            )
    finally:
        engine.dispose()
        server.terminate()
        server.wait(timeout=30)


def profile(args, targets: Targets, folder: str) -> None:
    """Run one endpoint in this process under cProfile; print the top of the profile."""
    os.environ.update(server_environment(args.postgres, folder))
    app = bench_app()
    client = app.test_client()
    chosen = next(e for e in endpoints(targets) if e.key == args.profile)

    class TestConnection:  # the load generator's requests, sent through the test client
        def send(self, request: Request) -> tuple[int, str]:
            response = client.open(
                request.path,
                method=request.method,
                data=request.body,
                headers=request.headers,
                base_url=PUBLIC_BASE_URL,
            )
            return response.status_code, response.get_data().decode("utf-8", "replace")

    make = chosen.requests(TestConnection(), 0)
    for i in range(20):
        TestConnection().send(make(-1 - i))
    statements = count()
    engine = app.extensions["pro_engine"]
    event.listen(engine, "before_cursor_execute", lambda *_: next(statements))
    event.listen(engine, "checkout", lambda *_: next(statements))  # the pool's ping
    profiler = cProfile.Profile()
    for label, during in (("plain", None), ("under the profiler", profiler)):
        began, cpu = time.perf_counter(), time.process_time()
        if during:
            during.enable()
        for i in range(args.requests):
            status, body = TestConnection().send(make(i + (args.requests if during else 0)))
            assert status == chosen.expect, (status, body[:300])
        if during:
            during.disable()
        each = (time.process_time() - cpu) / args.requests * 1000
        wall = (time.perf_counter() - began) / args.requests * 1000
        print(f"{chosen.name}, {label}: {each:.2f} ms CPU, {wall:.2f} ms wall a request")
        if not during:
            trips = (next(statements) - 1) / args.requests
            print(f"  {trips:.1f} statements a request (each a round trip; with the pool's ping)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="an empty PostgreSQL database URL")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint and concurrency")
    parser.add_argument("--rounds", type=int, default=3, help="each row's median of this many")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    keys = ("bare", "db", "survey-get", "survey-post", "sms")
    parser.add_argument("--profile", choices=keys[1:])
    parser.add_argument(
        "--only", nargs="+", choices=keys, default=(), help="these endpoints (and bare + DB)"
    )
    args = parser.parse_args()
    targets = seed(args.postgres, args.patients)
    with tempfile.TemporaryDirectory() as folder:
        if args.profile:
            profile(args, targets, folder)
        else:
            measure(args, targets, folder)


if __name__ == "__main__":
    main()
