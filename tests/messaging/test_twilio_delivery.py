"""The tick delivering through the real Twilio SDK: a Prism mock of Twilio's spec for the
happy path, a loopback server for outages, rate limits and unsubscribed numbers."""

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from werkzeug import Request, Response

from notifications import TwilioSmsChannel
from pro_app.messaging.outbox import LinkContext
from pro_app.models import Alert, MessageStatus, NumberOptOut, Patient, PatientEvent
from pro_app.scheduling.tick import run_tick
from tests.tick_helpers import messages

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ACCOUNT = "AC" + "a" * 32
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
LINKS = LinkContext(
    secret_key="test-secret",
    base_url="https://pro.example.test",
    status_callback_url="https://pro.example.test/sms/status",
)


def channel_at(base_url: str) -> TwilioSmsChannel:
    return TwilioSmsChannel(ACCOUNT, "token", from_number="+15005550006", base_url=base_url)


def test_invitation_goes_out_through_twilios_api(gen, engine, twilio_mock):
    """Prism checks the request against Twilio's OpenAPI spec and answers as Twilio does."""
    gen.patient(gen.site(), now=ENROLLED)
    channel = TwilioSmsChannel(
        twilio_mock.account_sid,
        twilio_mock.auth_token,
        from_number="+15005550006",
        base_url=twilio_mock.base_url,
    )
    report = run_tick(engine, channel, LINKS, now=ENROLLED, worker="t")
    assert report.delivery.sent == 1, report
    sent = messages(engine)[0]
    assert sent.status == MessageStatus.SENT
    assert sent.provider_sid.startswith("SM")


class FakeTwilio:
    """Answers Twilio's Messages API (create and list): down for a while, then up."""

    def __init__(self):
        self.down = True
        self.accepted: Counter[str] = Counter()
        self.created: list[dict] = []
        self.callbacks: list[str] = []
        self.refusals = 0

    def __call__(self, request: Request) -> Response:
        if self.down:
            self.refusals += 1
            body = {"code": 20503, "message": "Service unavailable", "status": 503}
            return Response(json.dumps(body), status=503, content_type="application/json")
        if request.method == "GET":
            to = request.args.get("To")
            found = [m for m in self.created if m["to"] == to]
            page = {"messages": found, "next_page_uri": None, "page": 0, "page_size": 100}
            return Response(json.dumps(page), content_type="application/json")
        form = parse_qs(request.get_data(as_text=True))
        to = form["To"][0]
        self.accepted[to] += 1
        self.callbacks.append(form.get("StatusCallback", [""])[0])
        sid = f"SM{sum(self.accepted.values()):032d}"
        body = {
            "sid": sid,
            "status": "queued",
            "to": to,
            "body": form["Body"][0],
            "direction": "outbound-api",
            "date_created": "Mon, 04 Jan 2027 09:00:00 +0000",
        }
        self.created.append(body)
        return Response(json.dumps(body), status=201, content_type="application/json")


def test_an_hour_long_outage_ends_with_every_text_sent_once(gen, engine, httpserver: HTTPServer):
    """Each 503 on create may hide a created message: the provider is asked before a retry."""
    site = gen.site()
    for _ in range(5):
        gen.patient(site, now=ENROLLED)
    fake = FakeTwilio()
    httpserver.expect_request(MESSAGES).respond_with_handler(fake)
    channel = channel_at(httpserver.url_for("/"))
    now = ENROLLED
    for _ in range(60):
        run_tick(engine, channel, LINKS, now=now, worker="t")
        now += timedelta(minutes=1)
    assert fake.refusals >= 10
    assert {m.status for m in messages(engine)} == {MessageStatus.UNKNOWN}
    fake.down = False
    for _ in range(60):
        run_tick(engine, channel, LINKS, now=now, worker="t")
        now += timedelta(minutes=1)
    assert len(fake.accepted) == 5 and set(fake.accepted.values()) == {1}
    assert {m.status for m in messages(engine)} == {MessageStatus.SENT}
    # Each text carries its own status callback address.
    ids = sorted(m.id for m in messages(engine))
    assert sorted(fake.callbacks) == sorted(f"{LINKS.status_callback_url}?m={i}" for i in ids)


def test_rate_limit_waits_at_least_retry_after(gen, engine, httpserver: HTTPServer):
    gen.patient(gen.site(), now=ENROLLED)
    body = {"code": 20429, "message": "Too Many Requests", "status": 429}
    httpserver.expect_request(MESSAGES, method="POST").respond_with_data(
        json.dumps(body),
        status=429,
        content_type="application/json",
        headers={"Retry-After": "600"},
    )
    run_tick(engine, channel_at(httpserver.url_for("/")), LINKS, now=ENROLLED, worker="t")
    message = messages(engine)[0]
    assert message.status == MessageStatus.PENDING
    assert message.error_code == 20429
    assert message.next_attempt_at >= ENROLLED + timedelta(seconds=600)


def test_an_unsubscribed_number_is_opted_out_as_a_stop_is(gen, engine, httpserver: HTTPServer):
    """Error 21610: the number texted STOP to the service. Every record on it is opted out
    as by a STOP the app received (event, one alert a record saying what to do), and the
    message keeps the provider's code."""
    site = gen.site()
    enrolled = gen.patient(site, now=ENROLLED)
    later = gen.patient(  # the same mobile on a record whose first survey is not yet due
        site, now=ENROLLED, phone=enrolled.patient.phone_e164, procedure_date=date(2027, 3, 1)
    )
    body = {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
    httpserver.expect_request(MESSAGES, method="POST").respond_with_data(
        json.dumps(body), status=400, content_type="application/json"
    )
    run_tick(engine, channel_at(httpserver.url_for("/")), LINKS, now=ENROLLED, worker="t")
    tried = len(httpserver.log)  # both records' invitations were due in that pass
    message = messages(engine)[0]
    assert (message.status, message.error_code) == (MessageStatus.FAILED, 21610)
    with Session(engine) as session:
        for record in (enrolled.patient, later.patient):
            assert session.get(Patient, record.id).sms_opted_out
        alerts = session.exec(select(Alert).order_by(Alert.patient_id)).all()
        assert [(a.patient_id, a.kind) for a in alerts] == [
            (enrolled.patient.id, "opted_out"),
            (later.patient.id, "opted_out"),
        ]
        assert "unsubscribed" in alerts[0].summary and "Follow up by phone" in alerts[0].summary
        events = session.exec(
            select(PatientEvent.patient_id, PatientEvent.detail).where(
                PatientEvent.kind == "sms_opt_out"
            )
        ).all()
        assert sorted(events) == [
            (enrolled.patient.id, {"provider_error": 21610}),
            (later.patient.id, {"provider_error": 21610}),
        ]
        assert session.get(NumberOptOut, enrolled.patient.phone_e164) is not None
    # Later passes send nothing more to that number.
    run_tick(engine, channel_at(httpserver.url_for("/")), LINKS, now=ENROLLED + timedelta(days=9))
    assert len(httpserver.log) == tried
