"""Turn Twilio's HTTP status and error codes into the channel's error classes.

Codes: https://www.twilio.com/docs/api/errors
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .channel import PermanentSendError, SendError, TransientSendError

TOO_MANY_REQUESTS = 20429

#: API error codes (on the create request) meaning this number cannot get our texts.
NUMBER_PROBLEM_CODES: frozenset[int] = frozenset(
    {
        21211,  # invalid 'To' phone number
        21217,  # phone number does not appear to be valid
        21401,  # invalid phone number
        21407,  # this phone number type does not support SMS
        21610,  # recipient replied STOP (unsubscribed)
        21612,  # 'To' number not reachable via SMS
        21614,  # 'To' number is not a valid mobile number (e.g. a landline)
    }
)

#: Delivery error codes (in status callbacks) that also mean: stop texting this number.
UNDELIVERABLE_NUMBER_CODES: frozenset[int] = frozenset(
    {
        30005,  # unknown destination handset
        30006,  # landline or unreachable carrier
    }
)


def stops_sms_to_number(code: int | None) -> bool:
    """True if a Twilio error code (API or delivery) says the number cannot take SMS."""
    return code in NUMBER_PROBLEM_CODES or code in UNDELIVERABLE_NUMBER_CODES


def error_from_response(
    status: int, code: int | None, message: str, retry_after: float | None = None
) -> SendError:
    """Map an HTTP error answer from Twilio to a transient or permanent error.

    429, Twilio's 20429 and any 5xx are transient; every other 4xx is permanent.
    """
    if status == 429 or code == TOO_MANY_REQUESTS or status >= 500:
        return TransientSendError(message, code=code, status=status, retry_after=retry_after)
    return PermanentSendError(
        message, code=code, status=status, stop_sms_to_number=stops_sms_to_number(code)
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date); None if absent."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0)
