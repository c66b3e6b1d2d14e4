"""HTTP plumbing for the Twilio SDK: keep response headers, classify network failures."""

from __future__ import annotations

import threading
from typing import Any

import requests
from twilio.http import HttpClient
from twilio.http.response import Response
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

from .channel import SendError, TransientSendError, UnknownOutcomeError

# Failures while opening the connection: the request never left this machine. A TLS
# error is not one: urllib3 reports one while reading the answer (a proxy that inspects
# TLS, a record cut short) just as it does one in the handshake, after the request left.
_CONNECT_PHASE_REASONS = (
    NewConnectionError,
    ConnectTimeoutError,
    Urllib3ProxyError,
)


class HeaderKeepingHttpClient(HttpClient):
    """Wraps another Twilio `HttpClient` and remembers the last response's headers.

    The SDK's exceptions drop the headers; this keeps `Retry-After` readable.
    Per thread, so one channel can serve several worker threads.
    """

    def __init__(self, inner: HttpClient) -> None:
        super().__init__(getattr(inner, "logger", None), False, getattr(inner, "timeout", None))
        self.inner = inner
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._local.headers = None
        response = self.inner.request(method, url, *args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_header(self, name: str) -> str | None:
        """A header of this thread's last response, looked up case-insensitively."""
        headers = getattr(self._local, "headers", None) or {}
        wanted = name.lower()
        for key, value in headers.items():
            if key.lower() == wanted:
                return str(value)
        return None


def never_sent(exc: requests.RequestException) -> bool:
    """True if the failure happened before the request could reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or not exc.args:
        return False
    cause = exc.args[0]
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, _CONNECT_PHASE_REASONS)


def network_error(exc: requests.RequestException, *, request_may_change_state: bool) -> SendError:
    """Transient if nothing reached the server (or nothing could change); unknown otherwise."""
    if never_sent(exc) or not request_may_change_state:
        return TransientSendError(f"network error: {exc.__class__.__name__}: {exc}")
    return UnknownOutcomeError(f"no answer after sending: {exc.__class__.__name__}: {exc}")
