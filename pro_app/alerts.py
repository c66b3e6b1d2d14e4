"""Raising alerts for nurses: idempotent on a dedupe key, with a target time to act."""

from datetime import datetime, timedelta

from sqlmodel import Session

from .models import Alert, Site, SiteAlert
from .storage.upsert import insert_ignore


def raise_alert(
    session: Session,
    *,
    site: Site,
    patient_id: int,
    kind: str,
    urgency: str,
    summary: str,
    dedupe_key: str,
    now: datetime,
    instance_id: int | None = None,
) -> int | None:
    """Open an alert unless one with ``dedupe_key`` exists; return the new id or None."""
    hours = 1 if urgency == "now" else 24 if urgency == "24h" else site.alert_target_hours
    return insert_ignore(
        session,
        Alert,
        {
            "patient_id": patient_id,
            "instance_id": instance_id,
            "kind": kind,
            "urgency": urgency,
            "summary": summary[:500],
            "dedupe_key": dedupe_key[:120],
            "created_at": now,
            "due_by": now + timedelta(hours=hours),
        },
    )


def raise_site_alert(
    session: Session, *, site_id: int, kind: str, summary: str, dedupe_key: str, now: datetime
) -> int | None:
    """Open an alert about the site itself (no patient) unless ``dedupe_key`` exists."""
    return insert_ignore(
        session,
        SiteAlert,
        {
            "site_id": site_id,
            "kind": kind,
            "summary": summary[:500],
            "dedupe_key": dedupe_key[:120],
            "created_at": now,
        },
    )
