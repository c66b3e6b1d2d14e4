"""Failed sign-ins counted in the database, per account and per network address.

After a number of free tries, each further failure pauses sign-in for that account (or
address) for twice as long as the last pause, up to an hour. Attempts during a pause are
refused without checking the password and are not counted. A browser the account has
signed in from before (``device``, see ``web.known_devices``) is held by its own count
and pause in place of the account's, and by its address's: failures from elsewhere cannot
keep a colleague out, and its own failures do not pause the account for everyone else. A
success clears the account's (or the browser's) count; a day without failures starts the
count afresh.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from ..models import SignInThrottle
from ..storage.upsert import insert_ignore

ACCOUNT = "account"
ADDRESS = "address"
DEVICE = "device"  # a browser the account has signed in from, for that account
FREE_TRIES = {ACCOUNT: 5, DEVICE: 5, ADDRESS: 20}  # a ward or a hospital shares an address
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Lock:
    """Sign-in is paused for ``scope`` until ``until``."""

    scope: str
    until: datetime

    def message(self, now: datetime) -> str:
        """The pause in plain words."""
        wait = in_words(self.until - now)
        whose = {ACCOUNT: "this account", DEVICE: "this account on this browser"}.get(
            self.scope, "your network address"
        )
        return (
            f"Too many failed sign-ins for {whose}, so signing in is paused. "
            f"Try again in {wait}. If you have forgotten your password, ask an administrator "
            "to reset it."
        )


def in_words(wait: timedelta) -> str:
    """A wait in whole minutes, rounded up: "1 minute", "4 minutes"."""
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def pause_after(scope: str, failures: int) -> timedelta | None:
    """How long sign-in pauses after ``failures`` failures in a row (None: no pause yet)."""
    beyond = failures - FREE_TRIES[scope]
    if beyond < 0:
        return None
    return min(FIRST_PAUSE * 2 ** min(beyond, 16), LONGEST_PAUSE)


def tries_left(scope: str, failures: int) -> int:
    """Failures still allowed before the first pause."""
    return max(0, FREE_TRIES[scope] - failures)


def _keys(email: str, address: str | None, device: str | None) -> list[tuple[str, str]]:
    keys = [(DEVICE, device) if device else (ACCOUNT, email[:254])]
    if address:
        keys.append((ADDRESS, address[:254]))
    return keys


def current_lock(
    session: Session, email: str, address: str | None, now: datetime, *, device: str | None = None
) -> Lock | None:
    """The pause in force for this email (or, from a browser it has signed in from,
    ``device``) or address, the longer one if both are paused."""
    locks = [
        Lock(row.scope, row.locked_until)
        for scope, key in _keys(email, address, device)
        for row in session.exec(
            select(SignInThrottle).where(SignInThrottle.scope == scope, SignInThrottle.key == key)
        )
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(locks, key=lambda lock: lock.until, default=None)


def record_failure(
    session: Session, email: str, address: str | None, now: datetime, *, device: str | None = None
) -> int:
    """Count a failed sign-in for the email (or ``device``) and the address; return the
    email's (or device's) count.

    Each row is locked while it is updated, so failures arriving at once through
    several workers are all counted.
    """
    first_failures = 0
    for scope, key in _keys(email, address, device):
        insert_ignore(
            session,
            SignInThrottle,
            {"scope": scope, "key": key, "failures": 0, "last_failure_at": now},
        )
        row = session.exec(
            select(SignInThrottle)
            .where(SignInThrottle.scope == scope, SignInThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if row.last_failure_at < now - FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        pause = pause_after(scope, row.failures)
        row.locked_until = now + pause if pause else None
        if scope != ADDRESS:
            first_failures = row.failures
    session.flush()
    return first_failures


def clear_account(session: Session, email: str, *, device: str | None = None) -> None:
    """Forget the email's (and this browser's) failures after a successful sign-in."""
    keys = [(ACCOUNT, email[:254])] + ([(DEVICE, device)] if device else [])
    for scope, key in keys:
        for row in session.exec(
            select(SignInThrottle).where(SignInThrottle.scope == scope, SignInThrottle.key == key)
        ):
            session.delete(row)
