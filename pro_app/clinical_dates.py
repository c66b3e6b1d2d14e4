"""The range of dates the app accepts for a procedure.

pro-app follows patients from their procedure onwards, so a procedure date is plausible
from ``EARLIEST_PROCEDURE_DATE`` (records older than that are not followed up) to
``PROCEDURE_DAYS_AHEAD`` days after today (a procedure booked up to a year ahead).
Anything else is a typing error (0001-01-01, 2099, 9999-12-31) and is refused with this
range in the message, before any survey is planned from it.
"""

from datetime import date, timedelta

EARLIEST_PROCEDURE_DATE = date(2000, 1, 1)
PROCEDURE_DAYS_AHEAD = 365


def latest_procedure_date(today: date) -> date:
    return today + timedelta(days=PROCEDURE_DAYS_AHEAD)


def procedure_date_problem(value: date, today: date) -> str | None:
    """Why ``value`` cannot be a procedure date, or None when it can."""
    latest = latest_procedure_date(today)
    if EARLIEST_PROCEDURE_DATE <= value <= latest:
        return None
    return (
        f"give a procedure date from {EARLIEST_PROCEDURE_DATE.isoformat()} "
        f"to {latest.isoformat()} (one year ahead)"
    )
