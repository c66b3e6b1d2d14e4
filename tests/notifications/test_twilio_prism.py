"""TwilioSmsChannel against Prism serving Twilio's own OpenAPI spec."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications import PermanentSendError, SendReceipt, TwilioSmsChannel
from tests.twilio_mock import PrismMock

from .twilio_helpers import SENDER, SERVICE_SID, RecordingHttpClient, sms


def channel(mock: PrismMock, **kwargs) -> TwilioSmsChannel:
    kwargs.setdefault("from_number", SENDER)
    return TwilioSmsChannel(mock.account_sid, mock.auth_token, base_url=mock.base_url, **kwargs)


def test_send_from_number_returns_a_message_sid(twilio_mock: PrismMock) -> None:
    receipt = channel(twilio_mock).send(sms())
    assert receipt.provider_sid.startswith("SM")
    assert len(receipt.provider_sid) == 34
    assert receipt.status == "queued"


def test_send_passes_service_callback_and_validity(twilio_mock: PrismMock) -> None:
    http = RecordingHttpClient()
    ch = channel(twilio_mock, from_number=None, messaging_service_sid=SERVICE_SID, http_client=http)
    message = sms(status_callback="https://pro.example.org/sms/status/abc", validity_period_s=3600)

    receipt = ch.send(message)

    assert receipt.provider_sid.startswith("SM")
    [request] = http.sent
    assert request["method"] == "POST"
    assert request["url"] == (
        f"{twilio_mock.base_url}/2010-04-01/Accounts/{twilio_mock.account_sid}/Messages.json"
    )
    assert request["data"] == {
        "To": message.to,
        "Body": message.body,
        "MessagingServiceSid": SERVICE_SID,
        "StatusCallback": "https://pro.example.org/sms/status/abc",
        "ValidityPeriod": 3600,
    }


def test_a_request_that_breaks_the_spec_is_refused(twilio_mock: PrismMock) -> None:
    """Prism does validate: a status callback that is not a URI gets a 422."""
    with pytest.raises(PermanentSendError) as caught:
        channel(twilio_mock).send(sms(status_callback="not a uri"))
    assert caught.value.status == 422
    assert not caught.value.stop_sms_to_number


def test_find_sent_lists_outgoing_messages(twilio_mock: PrismMock) -> None:
    # Prism answers with the spec's example page: one outbound and one inbound message.
    ch = channel(twilio_mock)
    since = datetime(2019, 5, 24, 17, 0, tzinfo=UTC)

    expected = [SendReceipt("SMded05904ccb347238880ca9264e8fe1c", "sent")]
    assert ch.find_sent("+18182008801", since) == expected
    assert ch.find_sent("+18182008801", since, body="testing") == expected
    assert ch.find_sent("+18182008801", since, body="another text") == []
    assert ch.find_sent("+18182008801", datetime(2019, 5, 25)) == []
