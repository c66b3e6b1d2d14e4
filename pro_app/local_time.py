"""Times as staff and on-call contacts read them: in the site's zone, with its abbreviation.

Times are stored in UTC. Pages and texts for people show the site's local time with the
zone's abbreviation (GMT or BST in the UK), so nothing reads an hour off for half the
year; exports keep UTC and say so in their headers.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Europe/London"  # a new site's zone, and the registry-wide staff's


def zone(name: str | None) -> ZoneInfo:
    """The named zone, or the default one when the name is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def in_zone(moment: datetime, zone_name: str | None) -> datetime:
    """``moment`` (UTC when naive, as the database returns it) in the named zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(zone_name))


def local_today(now: datetime, zone_name: str | None) -> date:
    """The date it is at ``now`` in the named zone (a nurse's "today", not UTC's)."""
    return in_zone(now, zone_name).date()


def local_time(moment: datetime | None, zone_name: str | None, *, with_date: bool = True) -> str:
    """``"2 Dec 2026, 23:30 GMT"`` (or ``"23:30 GMT"``); an empty string for no time."""
    if moment is None:
        return ""
    local = in_zone(moment, zone_name)
    clock = f"{local:%H:%M} {local.tzname()}"
    return f"{local_date(local)}, {clock}" if with_date else clock


def local_date(day: date | datetime | None, zone_name: str | None = None) -> str:
    """``"2 Dec 2026"``: a datetime is first moved into the zone; a date is shown as it is."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = in_zone(day, zone_name) if zone_name or day.tzinfo is None else day
    return f"{day.day} {day:%b %Y}"
