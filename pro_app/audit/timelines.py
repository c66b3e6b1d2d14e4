"""The audited cohort read from the database, one patient at a time, in bounded memory.

``AuditFilters`` says which procedures count (``apply_filters`` adds it to a query);
``timelines`` streams each patient's instances with the few scores the audit needs, read
in SQL from the current (never superseded) answers. Rows arrive ordered by patient, so a
patient is complete as soon as the next one starts, and nothing holds the whole cohort.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ..models import Direction, Message, Patient, Procedure, Response, Site, SurveyInstance

STREAM_ROWS = 2000


@dataclass(frozen=True)
class AuditFilters:
    """Which procedures the audit covers; ``site_id`` None means every site (registry)."""

    site_id: int | None = None
    augmentation: str = ""
    electrode: str = ""
    lesion_type: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        parts = [
            f"{name.replace('_', ' ')} {value}"
            for name, value in (
                ("procedure", self.augmentation),
                ("electrode", self.electrode),
                ("lesion", self.lesion_type),
                ("from", self.date_from),
                ("to", self.date_to),
            )
            if value
        ]
        return ", ".join(parts) or "all procedures"


@dataclass
class InstanceFacts:
    """One timepoint of one patient, with what the audit counts (flags worked out in SQL)."""

    instance_id: int
    timepoint: str
    day_offset: int
    status: str
    due: bool  # the due time has passed
    invited: bool
    delivered: bool  # a text for it has a delivery receipt
    opened: bool
    late: bool  # answered after the window closed
    worst: float | None
    average: float | None
    omed: float | None
    any_opioid: bool | None
    omed_needs_review: bool | None
    qol: float | None
    channel: str | None


@dataclass
class PatientTimeline:
    patient_id: int
    study_id: str
    site_code: str
    procedure_id: int
    augmentation: str
    electrode: str
    lesion_type: str
    procedure_date: date
    opted_out: bool
    instances: list[InstanceFacts] = field(default_factory=list)

    def at(self, timepoint: str) -> InstanceFacts | None:
        return next((i for i in self.instances if i.timepoint == timepoint), None)


def apply_filters(statement, filters: AuditFilters):
    """``statement`` (joining Patient and Procedure) limited to the covered procedures."""
    if filters.site_id is not None:
        statement = statement.where(Patient.site_id == filters.site_id)
    for column, value in (
        (Procedure.augmentation, filters.augmentation),
        (Procedure.electrode, filters.electrode),
        (Procedure.lesion_type, filters.lesion_type),
    ):
        if value:
            statement = statement.where(column == value)
    if filters.date_from:
        statement = statement.where(Procedure.procedure_date >= filters.date_from)
    if filters.date_to:
        statement = statement.where(Procedure.procedure_date <= filters.date_to)
    return statement


def _current(instrument_id: str):
    """An alias of Response and the join condition for an instance's current answer."""
    row, newer = aliased(Response), aliased(Response)
    condition = and_(
        row.instance_id == SurveyInstance.id,
        row.instrument_id == instrument_id,
        ~exists().where(newer.supersedes_id == row.id),
    )
    return row, condition


def delivery_receipts():
    """A subquery: each instance's first delivery receipt of a text sent for it."""
    return (
        select(
            Message.instance_id.label("instance_id"),
            func.min(Message.delivered_at).label("delivered_at"),
        )
        .where(Message.direction == Direction.OUT, Message.instance_id.is_not(None))
        .group_by(Message.instance_id)
        .subquery()
    )


def timelines(session: Session, filters: AuditFilters, now: datetime) -> Iterator[PatientTimeline]:
    """Each covered patient's timeline at ``now``, in patient order, from one query."""
    pain, pain_on = _current("pain_nrs")
    drugs, drugs_on = _current("analgesic_use")
    qol, qol_on = _current("qol_overall")
    delivered = delivery_receipts()
    counted = [
        SurveyInstance.due_at <= now,
        SurveyInstance.invited_at.is_not(None),
        delivered.c.delivered_at.is_not(None),
        or_(SurveyInstance.first_opened_at.is_not(None), SurveyInstance.completed_at.is_not(None)),
        func.coalesce(SurveyInstance.completed_at > SurveyInstance.closes_at, False),
        pain.scores["worst"].as_float(),
        pain.scores["average"].as_float(),
        drugs.scores[("omed", "omed_mg_per_day")].as_float(),
        drugs.scores[("omed", "any_opioid")].as_boolean(),
        drugs.scores[("omed", "needs_review")].as_boolean(),
        qol.scores["overall"].as_float(),
        func.coalesce(pain.channel, qol.channel, drugs.channel),
    ]
    statement = (
        select(
            Patient.id,
            Patient.study_id,
            Site.code,
            Procedure.id,
            Procedure.augmentation,
            Procedure.electrode,
            Procedure.lesion_type,
            Procedure.procedure_date,
            Patient.sms_opted_out,
            SurveyInstance.id,
            SurveyInstance.timepoint,
            SurveyInstance.day_offset,
            SurveyInstance.status,
            *counted,
        )
        .join(Procedure, Procedure.patient_id == Patient.id)
        .join(Site, Site.id == Patient.site_id)
        .join(SurveyInstance, SurveyInstance.procedure_id == Procedure.id)
        .outerjoin(pain, pain_on)
        .outerjoin(drugs, drugs_on)
        .outerjoin(qol, qol_on)
        .outerjoin(delivered, delivered.c.instance_id == SurveyInstance.id)
        .order_by(Patient.id, SurveyInstance.due_at, SurveyInstance.id)
    )
    statement = apply_filters(statement, filters)
    current: PatientTimeline | None = None
    result = session.connection().execute(statement.execution_options(yield_per=STREAM_ROWS))
    for row in result:
        if current is None or current.patient_id != row[0]:
            if current is not None:
                yield current
            current = PatientTimeline(*row[:9])
        current.instances.append(InstanceFacts(*row[9:]))
    if current is not None:
        yield current
