"""The time zones offered when enrolling a patient or setting up a site.

Texts are sent at the patient's local hour, so the zone is a choice from a list rather
than free text. The list is the site's own zone first, then the zones patients of a UK or
Irish team most often live in, then the rest of Europe and a few far-away zones for
patients who moved; any other valid IANA zone is still accepted from a CSV file.
"""

from functools import cache, lru_cache
from zoneinfo import available_timezones

from babel.dates import get_timezone_location

COMMON_ZONES = (
    "Europe/London",
    "Europe/Dublin",
    "Europe/Isle_of_Man",
    "Europe/Jersey",
    "Europe/Guernsey",
    "Atlantic/Canary",
    "Atlantic/Madeira",
    "Europe/Lisbon",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Berlin",
    "Europe/Rome",
    "Europe/Malta",
    "Europe/Warsaw",
    "Europe/Bucharest",
    "Europe/Athens",
    "Asia/Nicosia",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Hong_Kong",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "America/St_Johns",
    "America/Halifax",
    "America/Toronto",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Jamaica",
    "America/Barbados",
)


# Names the zone database holds that are no place's zone: the server's own setting, and a
# placeholder zone (abbreviated "-00"). ``posix/`` and ``right/`` copies are not listed in
# ``available_timezones`` and so are refused too.
NOT_A_PLACE = frozenset({"Factory", "localtime"})


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone of a place, as this machine's database lists."""
    return name in _known_zones()


def canonical_zone(name: str) -> str | None:
    """The IANA zone ``name`` stands for, written in any case ("europe/london" is
    "Europe/London"), or None if it is none."""
    if is_time_zone(name):
        return name
    return _zones_by_folded_name().get(name.strip().casefold()) if name else None


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - NOT_A_PLACE


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {zone.casefold(): zone for zone in _known_zones()}


@lru_cache(maxsize=256)
def zone_label(name: str) -> str:
    """``United Kingdom (Europe/London)``: where, then the IANA name a file would carry."""
    try:
        place = get_timezone_location(name, locale="en_GB").removesuffix(" Time")
    except LookupError:
        return name
    return f"{place} ({name})"


def zone_choices(first: str | None = None) -> list[tuple[str, str]]:
    """(zone, label) pairs: ``first`` (the site's zone), then the common zones."""
    names = [first] if first and is_time_zone(first) else []
    names += [name for name in COMMON_ZONES if name not in names]
    return [(name, zone_label(name)) for name in names]
