"""Browsers an account has signed in from: they may sign in while the account is paused.

An account's sign-in pauses after repeated failures (``accounts.sign_in_throttle``). From
many addresses, one wrong password an hour would keep a nurse out for good. So, as OWASP
advises ("device cookies"), a successful sign-in leaves a signed cookie naming the account
(by a keyed digest, never the email), and a browser that shows it is not held by the
account's pause. Its failures count against the cookie instead (``device_key``), which
pauses as an account does, so a copied cookie buys no more guesses than the account's own
pause allows, and its failures do not lengthen the pause that holds everyone else. The
cookie names the account with its password hash: after a change or an administrator's
reset, no browser is known until it signs in with the new password.
"""

import hashlib
import hmac
from datetime import timedelta

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "pro_device"
KEEP_FOR = timedelta(days=180)
MOST_ACCOUNTS = 5  # a ward's shared computer: the last five accounts signed in on it


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _digest(email: str, password_hash: str) -> str:
    """The account as the cookie names it: keyed, and made with the account's password
    hash, so a changed or reset password forgets every browser known before."""
    return _keyed("device", email, password_hash)[:32]


def _keyed(*parts: str) -> str:
    """A digest of ``parts`` keyed with the app's secret: nothing in it can be read back."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, ":".join(parts).encode(), hashlib.sha256).hexdigest()


def _known() -> list[str]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return []
    try:
        digests = _serializer().loads(raw, max_age=int(KEEP_FOR.total_seconds()))
    except BadSignature:
        return []
    return [d for d in digests if isinstance(d, str)] if isinstance(digests, list) else []


def device_key(email: str, password_hash: str | None) -> str | None:
    """If this browser has signed in to the account ``email`` before (within 180 days,
    with the password it has now), the key its failed sign-ins to it are counted under: a
    keyed digest of the cookie, so every copy of the cookie shares one count. None for any
    other browser, and for an email with no account."""
    raw = request.cookies.get(COOKIE)
    if not raw or not password_hash or _digest(email, password_hash) not in _known():
        return None
    return _keyed("device-key", email, raw)[:40]


def remember(response: Response, email: str, password_hash: str) -> Response:
    """Mark this browser as one ``email`` signs in from (after a successful sign-in or a
    change of password)."""
    digest = _digest(email, password_hash)
    kept = [digest] + [d for d in _known() if d != digest][: MOST_ACCOUNTS - 1]
    response.set_cookie(
        COOKIE,
        _serializer().dumps(kept),
        max_age=int(KEEP_FOR.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response
