"""Every current answer of an audited cohort, streamed from one query in patient order.

The patient-level exports read hundreds of thousands of answers, so this reads plain rows
(no ORM objects): only current answers (``Response.is_current``), with the days since the
procedure and the window adherence worked out in SQL. Answers of one timepoint share one
``TimepointContext``, built once (with its times as hours from the due time).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, case, cast, func, null
from sqlmodel import Session, select

from ..models import InstanceStatus, Patient, Procedure, Response, Site, SurveyInstance
from .sql_time import days_from_date, utc_text
from .timelines import AuditFilters, apply_filters, delivery_receipts, medicine_changes

STREAM_ROWS = 5000


@dataclass(frozen=True, slots=True)
class KeyFigures:
    """A timepoint's pain and opioid figures, as kept on its instance, and its answer to
    "less, the same or more pain medicine" (what ``response_class`` reads)."""

    patient_id: int
    worst: float | None
    omed: float | None
    omed_needs_review: bool | None
    omed_table: str | None
    omed_table_version: str | None
    medicine_change: str | None  # less / same / more / none (the proxy's answer)

    @property
    def omed_provenance(self) -> tuple[str, str] | None:
        return (self.omed_table, self.omed_table_version or "") if self.omed_table else None


@dataclass(frozen=True, slots=True)
class TimepointContext:
    """What the answers of one patient's timepoint share."""

    study_id: str
    site_code: str
    augmentation: str
    electrode: str
    lesion_type: str
    timepoint: str
    days_since_procedure: int  # to the answer (to the due date if never completed)
    adherence: str  # on_time, early, late, or the status (missed if the window closed)
    sent_hours_from_due: float | None
    delivered_hours_from_due: float | None
    answered_hours_from_due: float | None
    status: str
    figures: KeyFigures | None = None

    def leading(self) -> tuple:
        """The patient-level columns before the questionnaire's."""
        return (
            self.study_id,
            self.site_code,
            self.augmentation,
            self.electrode,
            self.lesion_type,
            self.timepoint,
            self.days_since_procedure,
        )

    def trailing(self) -> tuple:
        """The patient-level columns after the channel."""
        return (
            self.adherence,
            self.sent_hours_from_due,
            self.delivered_hours_from_due,
            self.answered_hours_from_due,
        )


@dataclass(frozen=True, slots=True)
class ExportedAnswer:
    """One questionnaire's current answers at one timepoint, with its context."""

    context: TimepointContext
    response_id: int
    instrument_id: str
    instrument_version: str
    channel: str
    scores_json: str
    answers_json: str | None

    @property
    def scores(self) -> dict:
        return json.loads(self.scores_json)

    @property
    def answers(self) -> dict | None:
        return None if self.answers_json is None else json.loads(self.answers_json)


def _adherence():
    instance = SurveyInstance
    return case(
        (
            instance.completed_at.is_(None),
            case(
                (instance.status == InstanceStatus.EXPIRED, "missed"),
                else_=instance.status,
            ),
        ),
        (instance.completed_at > instance.closes_at, "late"),
        (instance.completed_at < instance.opens_at, "early"),
        else_="on_time",
    )


def current_answers(
    session: Session, filters: AuditFilters, *, with_answers: bool = False
) -> Iterator[ExportedAnswer]:
    """The cohort's current answers, scores (and with ``with_answers`` the raw answers)
    kept as JSON text until asked for."""
    delivered, medicine = delivery_receipts(), medicine_changes()
    due = SurveyInstance.due_at
    statement = (
        select(
            SurveyInstance.id,
            Patient.study_id,
            Site.code,
            Procedure.augmentation,
            Procedure.electrode,
            Procedure.lesion_type,
            SurveyInstance.timepoint,
            days_from_date(
                func.coalesce(SurveyInstance.completed_at, due), Procedure.procedure_date
            ),
            _adherence(),
            utc_text(due),
            utc_text(SurveyInstance.invited_at),
            utc_text(delivered.c.delivered_at),
            utc_text(SurveyInstance.completed_at),
            SurveyInstance.status,
            Response.id,
            Response.instrument_id,
            Response.instrument_version,
            Response.channel,
            cast(Response.scores, Text),
            cast(Response.answers, Text) if with_answers else null(),
            Patient.id,
            SurveyInstance.pain_worst,
            SurveyInstance.omed_mg_per_day,
            SurveyInstance.omed_needs_review,
            SurveyInstance.omed_table,
            SurveyInstance.omed_table_version,
            medicine.c.medicine_change,
        )
        .join(SurveyInstance, SurveyInstance.id == Response.instance_id)
        .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
        .join(Patient, Patient.id == Procedure.patient_id)
        .join(Site, Site.id == Patient.site_id)
        .outerjoin(delivered, delivered.c.instance_id == SurveyInstance.id)
        .outerjoin(medicine, medicine.c.instance_id == SurveyInstance.id)
        .where(Response.is_current)
        .order_by(Patient.id, SurveyInstance.due_at, SurveyInstance.id, Response.id)
    )
    result = session.connection().execute(
        apply_filters(statement, filters).execution_options(yield_per=STREAM_ROWS)
    )
    instance_id, context = None, None
    for rows in result.partitions():
        for row in rows:
            if row[0] != instance_id:
                instance_id, context = row[0], _context(row)
            yield ExportedAnswer(context, *row[14:20])


def _context(row) -> TimepointContext:
    due = _moment(row[9])
    hours = (_hours_after(due, _moment(value)) for value in row[10:13])
    return TimepointContext(*row[1:9], *hours, row[13], KeyFigures(*row[20:27]))


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _hours_after(due: datetime, moment: datetime | None) -> float | None:
    """Hours from the due time, to 0.1 (Python's rounding, the same on every database)."""
    return None if moment is None else round((moment - due).total_seconds() / 3600, 1)
