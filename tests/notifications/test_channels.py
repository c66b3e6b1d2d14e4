"""The development channels and the shared error mapping."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from notifications import (
    Channel,
    DevOutboxChannel,
    NullChannel,
    OutgoingSms,
    PermanentSendError,
    ReconcilingChannel,
    TransientSendError,
    TwilioSmsChannel,
    stops_sms_to_number,
)
from notifications.twilio_errors import error_from_response, parse_retry_after

MESSAGE = OutgoingSms(to="+14155550123", body="Hello", idempotency_key="k1")


def test_outgoing_sms_is_frozen_and_keyword_only() -> None:
    with pytest.raises(AttributeError):
        MESSAGE.body = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        OutgoingSms("+14155550123", "Hello", "k1")  # type: ignore[misc]
    assert MESSAGE.status_callback is None and MESSAGE.validity_period_s is None


def test_dev_outbox_returns_a_delivered_synthetic_sid() -> None:
    channel = DevOutboxChannel()
    first, second = channel.send(MESSAGE), channel.send(MESSAGE)
    assert re.fullmatch(r"DEV[0-9a-f]{32}", first.provider_sid)
    assert first.status == "delivered"
    assert first.provider_sid != second.provider_sid
    assert channel.find_sent("+14155550123", datetime(2027, 1, 15, tzinfo=UTC)) == []


def test_null_channel() -> None:
    receipt = NullChannel().send(MESSAGE)
    assert receipt.status == "delivered"
    assert receipt.provider_sid != NullChannel().send(MESSAGE).provider_sid


def test_channels_satisfy_the_protocols() -> None:
    twilio = TwilioSmsChannel("AC" + "a" * 32, "token", from_number="+15005550006")
    for channel in (DevOutboxChannel(), NullChannel(), twilio):
        assert isinstance(channel, Channel)
    assert isinstance(DevOutboxChannel(), ReconcilingChannel)
    assert isinstance(twilio, ReconcilingChannel)
    assert not isinstance(NullChannel(), ReconcilingChannel)


@pytest.mark.parametrize(
    ("status", "code", "kind", "stop"),
    [
        (429, 20429, TransientSendError, None),
        (400, 20429, TransientSendError, None),
        (500, 20500, TransientSendError, None),
        (503, None, TransientSendError, None),
        (400, 21610, PermanentSendError, True),
        (400, 21211, PermanentSendError, True),
        (400, 21614, PermanentSendError, True),
        (400, 21617, PermanentSendError, False),  # body too long
        (404, 20404, PermanentSendError, False),
    ],
)
def test_error_from_response(status, code, kind, stop) -> None:
    error = error_from_response(status, code, "message")
    assert type(error) is kind
    assert (error.status, error.code) == (status, code)
    if stop is not None:
        assert error.stop_sms_to_number is stop


def test_delivery_codes_that_stop_texting() -> None:
    assert stops_sms_to_number(30006)  # landline
    assert stops_sms_to_number(21610)
    assert not stops_sms_to_number(30003)  # phone off: try again another day
    assert not stops_sms_to_number(None)


def test_parse_retry_after() -> None:
    now = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Fri, 01 Jan 2027 09:00:30 GMT", now=now) == 30
    assert parse_retry_after("Fri, 01 Jan 2027 08:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
