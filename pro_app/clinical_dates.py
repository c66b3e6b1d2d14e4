"""The range of dates the app accepts for a procedure.

pro-app follows patients from their procedure onwards, so a procedure date is plausible
from ``EARLIEST_PROCEDURE_DATE`` (records older than that are not followed up) to
``PROCEDURE_DAYS_AHEAD`` days after today (a procedure booked up to a year ahead).
Anything else is a typing error (0001-01-01, 2099, 9999-12-31) and is refused with this
range in the message, before any survey is planned from it. A date in range whose every
survey window has already closed is refused at enrolment unless the patient is enrolled
for the record only (``follow_up_over_problem``).
"""

from datetime import date, datetime, timedelta

EARLIEST_PROCEDURE_DATE = date(2000, 1, 1)
PROCEDURE_DAYS_AHEAD = 365


def latest_procedure_date(today: date) -> date:
    return today + timedelta(days=PROCEDURE_DAYS_AHEAD)


def procedure_date_problem(value: date, today: date) -> str | None:
    """Why ``value`` cannot be a procedure date, or None when it can (``today`` is the
    site's local date)."""
    latest = latest_procedure_date(today)
    if EARLIEST_PROCEDURE_DATE <= value <= latest:
        return None
    return (
        f"give a procedure date from {EARLIEST_PROCEDURE_DATE:%-d %B %Y} "
        f"to {latest:%-d %B %Y} (one year ahead)"
    )


def follow_up_over_problem(
    value: date, follow_up_ends_at: datetime, now: datetime, *, record_only: bool
) -> str | None:
    """Why a procedure cannot be enrolled as asked, judged by when its follow-up ends.

    A procedure whose every survey window has closed would be enrolled with nothing to
    send, so it is refused unless the nurse enrols it for the record only; the record-only
    choice is refused in turn while surveys are still to come, so a patient is never left
    without follow-up by a stray tick.
    """
    over = follow_up_ends_at <= now
    if over and not record_only:
        return (
            f"Every follow-up survey of a procedure on {value:%-d %B %Y} has already closed "
            f"(the last on {follow_up_ends_at:%-d %B %Y}). Check the date, or tick "
            "“Enrol for the record only” to record the patient without sending any survey."
        )
    if record_only and not over:
        return (
            f"Follow-up of a procedure on {value:%-d %B %Y} is still running (the last survey "
            f"closes on {follow_up_ends_at:%-d %B %Y}). Untick “Enrol for the record only” "
            "to follow the patient up."
        )
    return None
