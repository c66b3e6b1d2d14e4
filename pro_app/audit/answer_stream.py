"""Every current answer of an audited cohort, streamed from one query in patient order.

The patient-level exports read hundreds of thousands of answers, so this reads plain rows
(no ORM objects), decodes JSON and times itself, and drops superseded answers in Python: a
correction supersedes an earlier row of the same instance, and rows arrive grouped by
instance, so one instance's rows are enough to tell which are current.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import String, Text, type_coerce
from sqlmodel import Session, select

from ..models import Patient, Procedure, Response, Site, SurveyInstance
from .timelines import AuditFilters, apply_filters, delivery_receipts

STREAM_ROWS = 5000


@dataclass(frozen=True)
class ExportedAnswer:
    """One questionnaire's current answers at one timepoint, with its context."""

    response_id: int
    study_id: str
    site_code: str
    augmentation: str
    electrode: str
    lesion_type: str
    procedure_date: date
    timepoint: str
    status: str
    opens_at: datetime
    due_at: datetime
    closes_at: datetime
    invited_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    instrument_id: str
    instrument_version: str
    channel: str
    scores: dict
    answers: dict | None

    @property
    def days_since_procedure(self) -> int:
        """Days from the procedure to the answer (to the due date if never completed)."""
        return ((self.completed_at or self.due_at).date() - self.procedure_date).days

    def hours_from_due(self, moment: datetime | None) -> float | None:
        return None if moment is None else round((moment - self.due_at).total_seconds() / 3600, 1)

    @property
    def adherence(self) -> str:
        """Whether the answer came inside the window: on_time, early, late, or the status."""
        if self.completed_at is None:
            return "missed" if self.status == "expired" else self.status
        if self.completed_at > self.closes_at:
            return "late"
        if self.completed_at < self.opens_at:
            return "early"
        return "on_time"


def _raw(column):
    """A time column read without type processing: text on SQLite, datetime elsewhere."""
    return type_coerce(column, String)


def _moment(value) -> datetime | None:
    """Times stay in UTC; on SQLite they are naive, which is fine for differences."""
    return datetime.fromisoformat(value) if value.__class__ is str else value


def _json(value):
    """A JSON column read as text (SQLite) or already decoded (some drivers)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def current_answers(
    session: Session, filters: AuditFilters, *, with_answers: bool = False
) -> Iterator[ExportedAnswer]:
    """The cohort's current answers; ``with_answers`` also decodes the raw answers."""
    delivered = delivery_receipts()
    statement = (
        select(
            SurveyInstance.id,
            Response.supersedes_id,
            Response.id,
            Patient.study_id,
            Site.code,
            Procedure.augmentation,
            Procedure.electrode,
            Procedure.lesion_type,
            Procedure.procedure_date,
            SurveyInstance.timepoint,
            SurveyInstance.status,
            _raw(SurveyInstance.opens_at),
            _raw(SurveyInstance.due_at),
            _raw(SurveyInstance.closes_at),
            _raw(SurveyInstance.invited_at),
            _raw(delivered.c.delivered_at),
            _raw(SurveyInstance.completed_at),
            Response.instrument_id,
            Response.instrument_version,
            Response.channel,
            type_coerce(Response.scores, Text),
            type_coerce(Response.answers, Text) if with_answers else Response.id,
        )
        .join(SurveyInstance, SurveyInstance.id == Response.instance_id)
        .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
        .join(Patient, Patient.id == Procedure.patient_id)
        .join(Site, Site.id == Patient.site_id)
        .outerjoin(delivered, delivered.c.instance_id == SurveyInstance.id)
        .order_by(Patient.id, SurveyInstance.due_at, SurveyInstance.id, Response.id)
    )
    rows = session.connection().execute(
        apply_filters(statement, filters).execution_options(yield_per=STREAM_ROWS)
    )
    group: list = []
    for row in rows:
        if group and group[0][0] != row[0]:
            yield from _current(group, with_answers)
            group = []
        group.append(row)
    if group:
        yield from _current(group, with_answers)


def _current(rows: list, with_answers: bool) -> Iterator[ExportedAnswer]:
    superseded = {row[1] for row in rows if row[1] is not None}
    for row in rows:
        if row[2] in superseded:
            continue
        yield ExportedAnswer(
            *row[2:11],
            *map(_moment, row[11:17]),
            *row[17:20],
            _json(row[20]),
            _json(row[21]) if with_answers else None,
        )
