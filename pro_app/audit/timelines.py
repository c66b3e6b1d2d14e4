"""The audited cohort read from the database, one patient at a time, in bounded memory.

``AuditFilters`` says which procedures count (``apply_filters`` adds it to a query);
``timelines`` streams each patient's instances with the key outcomes the audit needs
(kept on each instance from its current answers, see ``pro_app/followup/key_outcomes.py``).
Rows arrive ordered by patient, so a patient is complete as soon as the next one starts,
and nothing holds the whole cohort.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, select

from ..models import (
    Direction,
    Message,
    MessageStatus,
    Patient,
    Procedure,
    Response,
    SurveyInstance,
)

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


@dataclass(slots=True)
class InstanceFacts:
    """One timepoint of one patient, with what the audit counts (flags worked out in SQL)."""

    instance_id: int
    timepoint: str
    day_offset: int
    status: str
    due: bool  # the due time has passed
    invited: bool
    delivered: bool  # a text for it has a delivery receipt
    not_sent: bool  # its invitation failed for good (an alert was raised)
    opened: bool
    late: bool  # answered after the window closed
    worst: float | None
    average: float | None
    omed: float | None
    any_opioid: bool | None
    omed_needs_review: bool | None
    qol: float | None
    channel: str | None
    omed_implausible: bool | None = None
    omed_table: str | None = None  # the conversion table (and version) of the OMED
    omed_table_version: str | None = None
    medicine_change: str | None = None  # less / same / more / none (the proxy's answer)

    @property
    def omed_provenance(self) -> tuple[str, str] | None:
        """(table id, version) of the OMED, when opioid use was answered."""
        return (self.omed_table, self.omed_table_version or "") if self.omed_table else None


@dataclass(slots=True)
class PatientTimeline:
    patient_id: int
    procedure_id: int
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


def delivery_receipts():
    """A subquery: each instance's first delivery receipt of a text sent for it, and
    whether its invitation failed for good (``not_sent``)."""
    failed_invitation = case(
        (
            and_(
                Message.status == MessageStatus.FAILED,
                Message.kind.in_(("invitation", "question")),
            ),
            1,
        ),
        else_=0,
    )
    return (
        select(
            Message.instance_id.label("instance_id"),
            func.min(Message.delivered_at).label("delivered_at"),
            func.max(failed_invitation).label("not_sent"),
        )
        .where(Message.direction == Direction.OUT, Message.instance_id.is_not(None))
        .group_by(Message.instance_id)
        .subquery()
    )


def medicine_changes():
    """A subquery: each instance's current answer to "less, the same or more pain medicine"."""
    return (
        select(
            Response.instance_id.label("instance_id"),
            Response.answers["medicine_change"].as_string().label("medicine_change"),
        )
        .where(Response.is_current, Response.instrument_id == "analgesic_use")
        .subquery()
    )


def timelines(session: Session, filters: AuditFilters, now: datetime) -> Iterator[PatientTimeline]:
    """Each covered patient's timeline at ``now``, in patient order, from one query."""
    delivered = delivery_receipts()
    medicine = medicine_changes()
    counted = [
        SurveyInstance.due_at <= now,
        SurveyInstance.invited_at.is_not(None),
        delivered.c.delivered_at.is_not(None),
        func.coalesce(delivered.c.not_sent, 0) == 1,
        or_(SurveyInstance.first_opened_at.is_not(None), SurveyInstance.completed_at.is_not(None)),
        func.coalesce(SurveyInstance.completed_at > SurveyInstance.closes_at, False),
        SurveyInstance.pain_worst,
        SurveyInstance.pain_average,
        SurveyInstance.omed_mg_per_day,
        SurveyInstance.any_opioid,
        SurveyInstance.omed_needs_review,
        SurveyInstance.quality_of_life,
        SurveyInstance.answer_channel,
        SurveyInstance.omed_implausible,
        SurveyInstance.omed_table,
        SurveyInstance.omed_table_version,
        medicine.c.medicine_change,
    ]
    statement = (
        select(
            Patient.id,
            Procedure.id,
            Patient.sms_opted_out,
            SurveyInstance.id,
            SurveyInstance.timepoint,
            SurveyInstance.day_offset,
            SurveyInstance.status,
            *counted,
        )
        .join(Procedure, Procedure.patient_id == Patient.id)
        .join(SurveyInstance, SurveyInstance.procedure_id == Procedure.id)
        .outerjoin(delivered, delivered.c.instance_id == SurveyInstance.id)
        .outerjoin(medicine, medicine.c.instance_id == SurveyInstance.id)
        .order_by(Patient.id, SurveyInstance.due_at, SurveyInstance.id)
    )
    statement = apply_filters(statement, filters)
    current: PatientTimeline | None = None
    result = session.connection().execute(statement.execution_options(yield_per=STREAM_ROWS))
    for row in result:
        if current is None or current.patient_id != row[0]:
            if current is not None:
                yield current
            current = PatientTimeline(*row[:3])
        current.instances.append(InstanceFacts(*row[3:]))
    if current is not None:
        yield current
