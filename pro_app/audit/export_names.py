"""File names for the audit's downloads: what, when and which filters, in safe characters.

For example ``pro-app-audit-aggregate-2027-03-01-site-LEEDS-kyphoplasty.csv``: letters,
digits and hyphens only, so the name survives every browser, file system and e-mail.
"""

import re
from datetime import date

from .timelines import AuditFilters

UNSAFE = re.compile(r"[^A-Za-z0-9]+")
LONGEST = 150
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "fhir": "json", "ndjson": "zip"}
# Formats named in the stem too, where the extension alone would not say what it holds.
FORMAT_WORDS = {"fhir": "fhir", "ndjson": "fhir-ndjson"}


def _safe(part: str) -> str:
    return UNSAFE.sub("-", part).strip("-")


def export_filename(
    level: str, fmt: str, filters: AuditFilters, site_code: str | None, made_on: date
) -> str:
    """The download's name: level (and FHIR), the UTC date it was made, then each filter."""
    parts = ["pro-app-audit", level, FORMAT_WORDS.get(fmt, ""), made_on.isoformat()]
    if site_code:
        parts += ["site", site_code]
    parts += [filters.augmentation, filters.electrode, filters.lesion_type]
    if filters.date_from:
        parts += ["from", filters.date_from.isoformat()]
    if filters.date_to:
        parts += ["to", filters.date_to.isoformat()]
    stem = "-".join(safe for safe in map(_safe, parts) if safe)
    return f"{stem[:LONGEST].rstrip('-')}.{EXTENSIONS.get(fmt) or _safe(fmt)}"
