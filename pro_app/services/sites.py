"""Checks on a site's own settings."""

from .enrolment import normalise_mobile


def normalise_on_call_phone(raw: str | None, region: str = "GB") -> str | None:
    """The on-call mobile in E.164 form, None if not given, or ValueError saying why not.

    Urgent-alert texts go to this number, so it must be a valid mobile number.
    """
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_mobile(raw.strip(), region)
    except ValueError as exc:
        raise ValueError(f"On-call phone: {exc}") from None
