"""Bulk-inserted cohorts for delivery tests: many patients with one survey each, fast."""

from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select, text

from pro_app.models import Patient, Procedure, Site, SurveyInstance

CHUNK = 2000


def seed_surveys(
    engine,
    *,
    now: datetime,
    open_due: int = 0,
    closed: int = 0,
    phone_prefix: str = "+4474",
) -> int:
    """A site with ``open_due`` patients whose baseline survey is due and open at ``now``
    and ``closed`` patients whose baseline window closed unanswered; returns the site id."""
    with engine.begin() as connection:
        site_id = connection.execute(
            insert(Site.__table__)
            .values(
                code=f"BULK{now:%H%M%S}{open_due}{closed}",
                name="Spine team",
                team_phone="0113 496 0000",
                timezone="Europe/London",
                phone_region="GB",
                protocol_id="default",
                omed_table="opioids_aware",
                alert_target_hours=72,
                min_cell_count=5,
                created_at=now,
            )
            .returning(Site.__table__.c.id)
        ).scalar_one()
        first = (connection.execute(select(func.max(Patient.id))).scalar() or 0) + 1
    total = open_due + closed
    for start in range(0, total, CHUNK):
        numbers = range(start, min(start + CHUNK, total))
        with engine.begin() as connection:
            connection.execute(
                insert(Patient.__table__),
                [_patient(first + n, site_id, now, phone_prefix) for n in numbers],
            )
            connection.execute(
                insert(Procedure.__table__), [_procedure(first + n, now) for n in numbers]
            )
            connection.execute(
                insert(SurveyInstance.__table__),
                [_instance(first + n, now, is_open=n < open_due) for n in numbers],
            )
    if engine.dialect.name == "postgresql":  # explicit ids do not move the sequences
        with engine.begin() as connection:
            for table in ("patient", "procedure", "survey_instance"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {first + total})")
                )
    return site_id


def _patient(i: int, site_id: int, now: datetime, prefix: str) -> dict:
    return {
        "id": i,
        "site_id": site_id,
        "study_id": f"B{i}",
        "first_name": "Pat",
        "phone_e164": f"{prefix}{i:08d}",
        "timezone": "Europe/London",
        "language": "en",
        "consent": True,
        "channel": "link",
        "sms_opted_out": False,
        "status": "active",
        "created_at": now - timedelta(days=30),
    }


def _procedure(i: int, now: datetime) -> dict:
    return {
        "id": i,
        "patient_id": i,
        "procedure_date": date(2027, 1, 11),
        "augmentation": "kyphoplasty",
        "levels": "T12",
        "lesion_type": "lytic",
        "electrode": "bipolar",
        "protocol_id": "default",
        "created_at": now - timedelta(days=30),
    }


def _instance(i: int, now: datetime, *, is_open: bool) -> dict:
    # Oldest first: the closed backlog is older than every open survey, as after an outage.
    due = now - timedelta(hours=1, seconds=i) if is_open else now - timedelta(days=4, seconds=i)
    return {
        "id": i,
        "procedure_id": i,
        "patient_id": i,
        "timepoint": "baseline",
        "day_offset": 0,
        "instruments": ["pain_nrs"],
        "opens_at": due - timedelta(days=1),
        "due_at": due,
        "closes_at": now + timedelta(days=2) if is_open else due + timedelta(days=3),
        "status": "scheduled",
        "reminders_sent": 0,
        "link_version": 0,
        "progress": {},
    }
