"""The survey-link guess limit, shared by every worker through the database.

Only misses count: a request for a link that does not exist is stored (under a keyed hash
of the client's address, never the address itself), and a client with ``GUESS_LIMIT``
misses within ``GUESS_WINDOW`` is answered 429 for further unknown links until its oldest
miss leaves the window. A real link is looked up first and always opens, so a ward's
Wi-Fi or a carrier's shared address where someone is guessing never locks patients out.
The count lives in the database, so it holds across workers and restarts.
"""

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from ..models import SurveyLinkMiss

GUESS_LIMIT = 20
GUESS_WINDOW = timedelta(minutes=10)


def client_key(secret_key: str, address: str) -> str:
    """A stable, non-reversible key for a client address."""
    return hmac.new(
        secret_key.encode(), f"survey-link-client:{address}".encode(), hashlib.sha256
    ).hexdigest()


def retry_after(session: Session, key: str, now: datetime) -> int | None:
    """Seconds until ``key`` may try an unknown link again, or None when it may now."""
    since = now - GUESS_WINDOW
    count, oldest = session.exec(
        select(func.count(), func.min(SurveyLinkMiss.at)).where(
            SurveyLinkMiss.client_key == key, SurveyLinkMiss.at > since
        )
    ).one()
    if count < GUESS_LIMIT:
        return None
    return max(1, math.ceil((oldest + GUESS_WINDOW - now).total_seconds()))


def record_miss(session: Session, key: str, now: datetime) -> None:
    """Count one miss for ``key``, and forget misses that no longer count for anyone."""
    session.exec(delete(SurveyLinkMiss).where(SurveyLinkMiss.at <= now - GUESS_WINDOW))
    session.add(SurveyLinkMiss(client_key=key, at=now))
