"""TwilioSmsChannel when Twilio refuses, fails, hangs or is not there."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from pytest_httpserver import HTTPServer
from twilio.http import HttpClient
from twilio.http.response import Response
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import SSLError as Urllib3SSLError

from notifications import (
    PermanentSendError,
    TransientSendError,
    TwilioSmsChannel,
    UnknownOutcomeError,
)
from notifications.twilio_http import network_error

from .twilio_helpers import ACCOUNT_SID, SENDER, sms

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
SINCE = datetime(2027, 1, 1, tzinfo=UTC)


def twilio_error(code: int, status: int) -> str:
    return json.dumps({"code": code, "message": "error", "more_info": "https://", "status": status})


def channel_at(base_url: str, **kwargs) -> TwilioSmsChannel:
    return TwilioSmsChannel(ACCOUNT_SID, "token", from_number=SENDER, base_url=base_url, **kwargs)


@pytest.fixture
def twilio(httpserver: HTTPServer) -> TwilioSmsChannel:
    return channel_at(httpserver.url_for("/"))


def test_429_is_transient_with_retry_after(httpserver: HTTPServer, twilio) -> None:
    httpserver.expect_request(MESSAGES, method="POST").respond_with_data(
        twilio_error(20429, 429),
        status=429,
        headers={"Retry-After": "30"},
        content_type="application/json",
    )
    with pytest.raises(TransientSendError) as caught:
        twilio.send(sms())
    assert (caught.value.code, caught.value.status, caught.value.retry_after) == (20429, 429, 30)


def test_503_is_transient(httpserver: HTTPServer, twilio) -> None:
    httpserver.expect_request(MESSAGES, method="POST").respond_with_data(
        "<html>Service Unavailable</html>", status=503, content_type="text/html"
    )
    with pytest.raises(TransientSendError) as caught:
        twilio.send(sms())
    assert caught.value.status == 503
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("code", "status", "stop"),
    [
        (21610, 400, True),  # recipient replied STOP
        (21211, 400, True),  # invalid 'To' number
        (21614, 400, True),  # not a mobile number
        (21606, 400, False),  # our 'From' number cannot send SMS: fix the configuration
        (20003, 401, False),  # bad credentials
    ],
)
def test_refusals_are_permanent(httpserver: HTTPServer, twilio, code, status, stop) -> None:
    httpserver.expect_request(MESSAGES, method="POST").respond_with_data(
        twilio_error(code, status), status=status, content_type="application/json"
    )
    with pytest.raises(PermanentSendError) as caught:
        twilio.send(sms())
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.stop_sms_to_number is stop


def test_find_sent_failure_is_transient(httpserver: HTTPServer, twilio) -> None:
    httpserver.expect_request(MESSAGES, method="GET").respond_with_data(
        twilio_error(20500, 500), status=500, content_type="application/json"
    )
    with pytest.raises(TransientSendError) as caught:
        twilio.find_sent("+14155550123", SINCE)
    assert (caught.value.code, caught.value.status) == (20500, 500)


def test_find_sent_sends_the_filters(httpserver: HTTPServer, twilio) -> None:
    empty = {"messages": [], "next_page_uri": None, "page": 0, "page_size": 100}
    httpserver.expect_request(
        MESSAGES,
        method="GET",
        query_string={"To": "+14155550123", "DateSent>": "2027-01-01T08:00:00Z", "PageSize": "100"},
    ).respond_with_json(empty)
    httpserver.expect_request(
        MESSAGES, method="GET", query_string={"To": "+14155550123", "PageSize": "100"}
    ).respond_with_json(empty)
    # A time with an offset is converted to UTC before it goes into the query.
    since = datetime.fromisoformat("2027-01-01T09:00:00+01:00")
    assert twilio.find_sent("+14155550123", since) == []
    httpserver.check_assertions()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_connection_refused_is_transient(closed_port: int) -> None:
    twilio = channel_at(f"http://127.0.0.1:{closed_port}")
    with pytest.raises(TransientSendError):
        twilio.send(sms())
    with pytest.raises(TransientSendError):
        twilio.find_sent("+14155550123", SINCE)


def test_no_answer_after_sending_is_an_unknown_outcome(silent_server: str) -> None:
    twilio = channel_at(silent_server, timeout=0.3)
    with pytest.raises(UnknownOutcomeError):
        twilio.send(sms())
    # Listing changes nothing at Twilio, so a timeout there is simply transient.
    with pytest.raises(TransientSendError):
        twilio.find_sent("+14155550123", SINCE)


def test_a_tls_error_may_come_after_sending_so_its_outcome_is_unknown() -> None:
    """urllib3 reports a TLS error met while reading the answer as it does one in the
    handshake; taken for "never sent", the text was sent again blind."""
    reason = Urllib3SSLError("[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac")
    failure = requests.ConnectionError(MaxRetryError(None, "/Messages.json", reason))
    assert isinstance(network_error(failure, request_may_change_state=True), UnknownOutcomeError)
    listing = network_error(failure, request_may_change_state=False)
    assert type(listing) is TransientSendError  # a list request changes nothing at Twilio
    refused = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "no")))
    assert type(network_error(refused, request_may_change_state=True)) is TransientSendError


class CannedHttpClient(HttpClient):
    """An `http_client` that answers every request with one canned response."""

    def __init__(self, response: Response) -> None:
        super().__init__(logger=None, is_async=False)
        self.response = response

    def request(self, method: str, url: str, *args, **kwargs) -> Response:
        return self.response


def test_custom_http_client_is_used() -> None:
    canned = Response(429, twilio_error(20429, 429), {"retry-after": "7"})
    twilio = TwilioSmsChannel(
        ACCOUNT_SID, "token", from_number=SENDER, http_client=CannedHttpClient(canned)
    )
    with pytest.raises(TransientSendError) as caught:
        twilio.send(sms())
    assert (caught.value.code, caught.value.retry_after) == (20429, 7)


def test_unparsable_success_is_an_unknown_outcome() -> None:
    twilio = TwilioSmsChannel(
        ACCOUNT_SID, "token", from_number=SENDER, http_client=CannedHttpClient(Response(201, "<"))
    )
    with pytest.raises(UnknownOutcomeError):
        twilio.send(sms())


@pytest.mark.parametrize(
    "senders",
    [
        {},
        {"from_number": "", "messaging_service_sid": ""},
        {"from_number": SENDER, "messaging_service_sid": "MG" + "b" * 32},
    ],
)
def test_exactly_one_sender_is_required(senders: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one of from_number or messaging_service_sid"):
        TwilioSmsChannel(ACCOUNT_SID, "token", **senders)


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="account_sid and an auth_token"):
        TwilioSmsChannel(ACCOUNT_SID, "", from_number=SENDER)


def test_base_url_wins_over_edge_and_region(httpserver: HTTPServer, monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    httpserver.expect_request(MESSAGES, method="POST").respond_with_json(
        {"sid": "SM" + "c" * 32, "status": "queued"}, status=201
    )
    receipt = channel_at(httpserver.url_for("/")).send(sms())
    assert receipt.provider_sid == "SM" + "c" * 32
