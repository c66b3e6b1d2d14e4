"""The nurse's patient list: open alerts first, with recovery figures, in a fixed number of
queries per page however many patients the site has."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, select

from ..models import Alert, AlertKind, InstanceStatus, Patient, Procedure, SurveyInstance

PER_PAGE = 50


@dataclass
class PatientRow:
    patient: Patient
    procedure: Procedure | None
    open_alerts: int = 0
    red_flags: int = 0
    overdue_alerts: int = 0
    last_worst: float | None = None
    worst_change: float | None = None
    omed: float | None = None
    omed_needs_review: bool = False
    due: int = 0
    answered: int = 0
    next_due: datetime | None = None
    alert_kinds: list[str] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.due if self.due else None

    def days_since(self, today: date) -> int | None:
        return (today - self.procedure.procedure_date).days if self.procedure else None


@dataclass
class Filters:
    query: str = ""
    alerts_only: bool = False
    augmentation: str = ""
    status: str = ""


def _open_alert(kind: str | None = None):
    condition = and_(Alert.patient_id == Patient.id, Alert.acknowledged_at.is_(None))
    if kind:
        condition = and_(condition, Alert.kind == kind)
    return exists().where(condition)


def patient_page(
    session: Session, site_id: int, filters: Filters, page: int, now: datetime
) -> tuple[list[PatientRow], bool]:
    """One page of the site's patients and whether another page follows."""
    statement = (
        select(Patient, Procedure)
        .join(Procedure, Procedure.patient_id == Patient.id, isouter=True)
        .where(Patient.site_id == site_id)
    )
    if filters.query:
        like = f"%{filters.query}%"
        statement = statement.where(
            or_(Patient.study_id.ilike(like), Patient.first_name.ilike(like))
        )
    if filters.alerts_only:
        statement = statement.where(_open_alert())
    if filters.augmentation:
        statement = statement.where(Procedure.augmentation == filters.augmentation)
    if filters.status:
        statement = statement.where(Patient.status == filters.status)
    statement = statement.order_by(
        _open_alert(AlertKind.RED_FLAG).desc(), _open_alert().desc(), Patient.study_id
    )
    found = session.exec(statement.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    rows = [PatientRow(patient, procedure) for patient, procedure in found[:PER_PAGE]]
    _add_details(session, rows, now)
    return rows, len(found) > PER_PAGE


def _add_details(session: Session, rows: list[PatientRow], now: datetime) -> None:
    """Alerts, scores, response rate and next survey for the rows shown (four queries)."""
    by_id = {row.patient.id: row for row in rows}
    if not by_id:
        return
    ids = list(by_id)
    for alert in session.exec(
        select(Alert).where(Alert.patient_id.in_(ids), Alert.acknowledged_at.is_(None))
    ):
        row = by_id[alert.patient_id]
        row.open_alerts += 1
        row.red_flags += alert.kind == AlertKind.RED_FLAG
        row.overdue_alerts += alert.due_by < now
        row.alert_kinds.append(alert.kind)
    counts = session.exec(
        select(
            SurveyInstance.patient_id,
            func.count().filter(
                SurveyInstance.due_at <= now,
                SurveyInstance.status.not_in([InstanceStatus.SCHEDULED, InstanceStatus.CANCELLED]),
            ),
            func.count().filter(SurveyInstance.status == InstanceStatus.COMPLETED),
            func.min(SurveyInstance.due_at).filter(
                SurveyInstance.status == InstanceStatus.SCHEDULED
            ),
        )
        .where(SurveyInstance.patient_id.in_(ids))
        .group_by(SurveyInstance.patient_id)
    ).all()
    for patient_id, due, answered, next_due in counts:
        row = by_id[patient_id]
        row.due, row.answered, row.next_due = due, answered, next_due
    _add_scores(session, by_id)


def _add_scores(session: Session, by_id: dict[int, PatientRow]) -> None:
    """Pain and opioid figures from the key outcomes kept on each instance."""
    instance = SurveyInstance
    timepoints = session.exec(
        select(
            instance.patient_id,
            instance.timepoint,
            instance.pain_worst,
            instance.omed_mg_per_day,
            instance.any_opioid,
            instance.omed_needs_review,
        )
        .where(instance.patient_id.in_(list(by_id)), instance.answer_channel.is_not(None))
        .order_by(instance.due_at)
    ).all()
    baseline: dict[int, float] = {}
    pain: dict[int, list[float]] = defaultdict(list)
    for patient_id, timepoint, worst, omed, any_opioid, needs_review in timepoints:
        row = by_id[patient_id]
        if worst is not None:
            if timepoint == "baseline":
                baseline[patient_id] = worst
            pain[patient_id].append(worst)
        if (omed, any_opioid, needs_review) != (None, None, None):  # opioids were asked
            row.omed = omed
            row.omed_needs_review = bool(needs_review)
    for patient_id, values in pain.items():
        row = by_id[patient_id]
        row.last_worst = values[-1]
        if patient_id in baseline:
            row.worst_change = values[-1] - baseline[patient_id]
