"""A fake of Twilio's Messages API on loopback that misbehaves on purpose.

Create (POST) answers, at random: quickly; slowly (up to ``slow_s``); 429 with
Retry-After, nothing created; 500 before creating; 500 after creating; or it accepts
late: the message is created only after the client has given up waiting. List (GET)
shows what was created to a number, and sometimes answers 503. Every create records
when its request arrived and the status callback it carried (``?m=<message id>``), so a
test can count what each outbox row became at the provider.

Dates in answers follow the test's logical clock: ``base`` plus the monotonic time
elapsed since ``mono0`` (the same clock the tick processes use).
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Faults:
    """Probabilities of each misbehaviour of a create, and of a failed list."""

    rate_limited: float = 0.05
    error_before_create: float = 0.04
    error_after_create: float = 0.03
    accepted_late: float = 0.03
    slow: float = 0.05
    slow_s: float = 3.0  # the slowest answer that still arrives in time
    late_s: float = 4.0  # how long after the request a late acceptance is created
    list_unavailable: float = 0.05


@dataclass
class Created:
    sid: str
    to: str
    body: str
    callback: str
    arrived: float  # monotonic time the request arrived
    created: float  # monotonic time the message came into being

    @property
    def message_id(self) -> int | None:
        _, _, value = self.callback.partition("?m=")
        return int(value) if value.isdigit() else None


@dataclass
class FaultyTwilio:
    base: datetime
    mono0: float
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    created: list[Created] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultyTwilio:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def logical(self, mono: float) -> datetime:
        return self.base + timedelta(seconds=mono - self.mono0)

    def _draw(self) -> float:
        with self._lock:
            self.requests += 1
            return self._random.random()

    def _create(self, to: str, body: str, callback: str, arrived: float) -> Created:
        with self._lock:
            record = Created(
                sid=f"SM{len(self.created) + 1:032x}",
                to=to,
                body=body,
                callback=callback,
                arrived=arrived,
                created=time.monotonic(),
            )
            self.created.append(record)
        return record

    def _json(self, record: Created) -> dict:
        return {
            "sid": record.sid,
            "to": record.to,
            "body": record.body,
            "status": "queued",
            "direction": "outbound-api",
            "date_created": format_datetime(self.logical(record.created)),
            "date_sent": None,
        }

    def handle_create(self, form: dict) -> tuple[int, dict, dict]:
        arrived = time.monotonic()
        f = self.faults
        to, body = form["To"][0], form["Body"][0]
        callback = form.get("StatusCallback", [""])[0]
        draw = self._draw()
        edges = [f.rate_limited, f.error_before_create, f.error_after_create, f.accepted_late]
        if draw < edges[0]:
            return 429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "1"}
        draw -= edges[0]
        if draw < edges[1]:
            return 500, {"code": 20500, "message": "Internal Server Error"}, {}
        draw -= edges[1]
        if draw < edges[2]:
            self._create(to, body, callback, arrived)
            return 500, {"code": 20500, "message": "Internal Server Error"}, {}
        draw -= edges[2]
        if draw < edges[3]:
            time.sleep(f.late_s)  # the client has given up by now
            return 201, self._json(self._create(to, body, callback, arrived)), {}
        draw -= edges[3]
        if draw < f.slow:
            time.sleep(self._random.uniform(0.2, f.slow_s))
        return 201, self._json(self._create(to, body, callback, arrived)), {}

    def handle_list(self, query: dict) -> tuple[int, dict, dict]:
        if self._draw() < self.faults.list_unavailable:
            return 503, {"code": 20503, "message": "Service Unavailable"}, {}
        to = query.get("To", [""])[0]
        with self._lock:
            found = [self._json(r) for r in reversed(self.created) if r.to == to]
        page = {"messages": found, "next_page_uri": None, "page": 0, "page_size": 100}
        return 200, page, {}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._answer(*fake.handle_create(form))

            def do_GET(self) -> None:  # noqa: N802
                self._answer(*fake.handle_list(parse_qs(urlparse(self.path).query)))

            def _answer(self, status: int, body: dict, headers: dict) -> None:
                data = json.dumps({**body, "status": body.get("status", status)}).encode()
                if status < 300:
                    data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a late acceptance)

            def log_message(self, *args) -> None:
                pass

        return Handler
