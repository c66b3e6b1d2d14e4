"""The channel interface: what every way of sending an SMS promises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, kw_only=True)
class OutgoingSms:
    """One text to send (keyword arguments only).

    `to` is an E.164 number. `idempotency_key` identifies the outbox row; providers
    without native idempotency use it only for logging and reconciliation.
    """

    to: str
    body: str
    idempotency_key: str
    status_callback: str | None = None
    validity_period_s: int | None = None


@dataclass(frozen=True)
class SendReceipt:
    """What the provider answered: its message id and the message's status."""

    provider_sid: str
    status: str


class SendError(Exception):
    """Base class of every error a channel raises from `send`."""


class TransientSendError(SendError):
    """Not sent, try again later: timeout before sending, refused connection, 429, 5xx."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Not sent and retrying will not help.

    `stop_sms_to_number` is true when the number itself is the problem (invalid,
    unsubscribed, landline): the app should stop texting it until someone fixes it.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        stop_sms_to_number: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.stop_sms_to_number = stop_sms_to_number


class UnknownOutcomeError(SendError):
    """The request may have reached the provider but no answer came back.

    Do not resend blindly: reconcile with `find_sent` first.
    """


@runtime_checkable
class Channel(Protocol):
    """Sends one SMS and says what happened."""

    def send(self, message: OutgoingSms) -> SendReceipt:
        """Send `message`; raise a `SendError` subclass if it was not accepted."""
        ...


@runtime_checkable
class ReconcilingChannel(Channel, Protocol):
    """A channel that can also look up what it already sent."""

    def find_sent(self, to: str, since: datetime, body: str | None = None) -> list[SendReceipt]:
        """Messages sent to `to` since `since` (and with exactly `body`, if given)."""
        ...
