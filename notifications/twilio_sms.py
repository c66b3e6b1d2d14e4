"""Send SMS through Twilio's Messages API with the official SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from .channel import (
    OutgoingSms,
    PermanentSendError,
    SendError,
    SendReceipt,
    UnknownOutcomeError,
)
from .twilio_errors import error_from_response, parse_retry_after
from .twilio_http import HeaderKeepingHttpClient, network_error

_PAGE_SIZE = 100
_MAX_PAGES = 10


class TwilioSmsChannel:
    """A `Channel` backed by Twilio Programmable Messaging.

    Give exactly one sender: `from_number` (E.164) or `messaging_service_sid`
    (an empty string counts as not given, as unset environment variables often are).
    `base_url` replaces `https://api.twilio.com` (for a local mock). `timeout`
    (seconds) applies when no `http_client` is given.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        http_client: HttpClient | None = None,
        base_url: str | None = None,
        timeout: float = 10,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("TwilioSmsChannel needs an account_sid and an auth_token")
        from_number, messaging_service_sid = from_number or None, messaging_service_sid or None
        if (from_number is None) == (messaging_service_sid is None):
            raise ValueError(
                "TwilioSmsChannel needs exactly one of from_number or messaging_service_sid"
            )
        self._from_number = from_number
        self._messaging_service_sid = messaging_service_sid
        self._http = HeaderKeepingHttpClient(http_client or TwilioHttpClient(timeout=timeout))
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if base_url:
            self._client.api.base_url = base_url.rstrip("/")
            # TWILIO_EDGE / TWILIO_REGION would otherwise rewrite the host.
            self._client.edge = self._client.region = None

    def send(self, message: OutgoingSms) -> SendReceipt:
        """Create the message at Twilio; raise Transient, Permanent or UnknownOutcome errors."""
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if self._messaging_service_sid:
            params["messaging_service_sid"] = self._messaging_service_sid
        else:
            params["from_"] = self._from_number
        if message.status_callback:
            params["status_callback"] = message.status_callback
        if message.validity_period_s is not None:
            params["validity_period"] = message.validity_period_s
        try:
            created = self._client.messages.create(**params)
        except TwilioException as exc:
            raise self._api_error(exc) from exc
        except requests.RequestException as exc:
            raise network_error(exc, request_may_change_state=True) from exc
        except ValueError as exc:  # a success status with a body that is not JSON
            raise UnknownOutcomeError(f"unreadable answer from Twilio: {exc}") from exc
        return SendReceipt(provider_sid=str(created.sid), status=str(created.status))

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> list[SendReceipt]:
        """Outgoing messages to `to` created at or after `since`, optionally with this body.

        Pass `since` a little before the uncertain attempt (naive means UTC). Looks at
        messages sent since then and at the most recent page, which also holds messages
        still queued (their `date_sent` is empty, so the date filter alone misses them).
        Raises `TransientSendError` or `PermanentSendError` if Twilio cannot be asked.
        """
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        found: dict[str, SendReceipt] = {}
        try:
            queries = (self._messages(to, since, _MAX_PAGES), self._messages(to, None, 1))
            for query in queries:
                for msg in query:
                    if _matches(msg, since, body):
                        found.setdefault(str(msg.sid), _receipt(msg))
        except TwilioException as exc:
            raise self._api_error(exc) from exc
        except requests.RequestException as exc:
            raise network_error(exc, request_may_change_state=False) from exc
        return list(found.values())

    def _messages(
        self, to: str, sent_after: datetime | None, max_pages: int
    ) -> Iterator[MessageInstance]:
        filters: dict[str, Any] = {"to": to, "page_size": _PAGE_SIZE}
        if sent_after is not None:
            filters["date_sent_after"] = sent_after
        page = self._client.messages.page(**filters)
        seen: set[str] = set()
        for _ in range(max_pages):
            records = list(page)
            new = [m for m in records if m.sid not in seen]
            if not new:
                return
            seen.update(str(m.sid) for m in new)
            yield from new
            page = page.next_page()
            if page is None:
                return

    def _api_error(self, exc: TwilioException) -> SendError:
        status, code = _status_and_code(exc)
        message = _message_of(exc)
        if status is None:
            return PermanentSendError(message, code=code)
        retry_after = parse_retry_after(self._http.last_header("Retry-After"))
        return error_from_response(status, code, message, retry_after)


def _matches(msg: MessageInstance, since: datetime, body: str | None) -> bool:
    if msg.direction is not None and not str(msg.direction).startswith("outbound"):
        return False
    if msg.date_created is not None and msg.date_created < since:
        return False
    return body is None or msg.body == body


def _receipt(msg: MessageInstance) -> SendReceipt:
    return SendReceipt(provider_sid=str(msg.sid), status=str(msg.status))


def _status_and_code(exc: TwilioException) -> tuple[int | None, int | None]:
    """HTTP status and Twilio error code from any of the SDK's exception shapes."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if status is None and len(exc.args) > 1 and isinstance(exc.args[1], Response):
        # Page fetches raise a bare TwilioException("Unable to fetch page", response).
        response = exc.args[1]
        status = response.status_code
        try:
            code = json.loads(response.text).get("code")
        except (ValueError, AttributeError):
            code = None
    return _int_or_none(status), _int_or_none(code)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _message_of(exc: TwilioException) -> str:
    for attr in ("msg", "detail", "title"):
        text = getattr(exc, attr, None)
        if text:
            return str(text)
    return str(exc.args[0]) if exc.args else exc.__class__.__name__
