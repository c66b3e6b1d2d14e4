"""Shared bits for the Twilio channel tests."""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from notifications import OutgoingSms

ACCOUNT_SID = "AC" + "a" * 32
SENDER = "+15005550006"
SERVICE_SID = "MG" + "b" * 32


def sms(**changes: Any) -> OutgoingSms:
    fields: dict[str, Any] = {
        "to": "+14155550123",
        "body": "Hello Ada, please answer a few short questions.",
        "idempotency_key": "msg-1",
    }
    fields.update(changes)
    return OutgoingSms(**fields)


class RecordingHttpClient(TwilioHttpClient):
    """The SDK's real HTTP client, keeping every request's form data."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self.sent.append({"method": method, "url": url, **kwargs})
        return super().request(method, url, *args, **kwargs)
