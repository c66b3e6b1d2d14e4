"""The nurse's patient list: most urgent alerts first, with recovery figures, in a fixed
number of queries per page however many patients the site has."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ..models import Alert, AlertKind, InstanceStatus, Patient, Procedure, SurveyInstance
from .triage import NO_ALERT, AlertLine, Outcomes, alert_lines, tier_expression

PER_PAGE = 50

# Sortable columns: query-parameter name -> what it sorts by. "triage" is the default.
SORTS = ("triage", "study_id", "name", "procedure", "day", "last_answered", "next_survey")


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
    last_answered: datetime | None = None
    part_answered: int = 0  # surveys answered in part only (not counted as answered)
    alert_kinds: list[str] = field(default_factory=list)
    alerts: list[AlertLine] = field(default_factory=list)

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
    procedure_from: date | None = None
    procedure_to: date | None = None
    days_from: int | None = None  # days since the procedure, inclusive
    days_to: int | None = None
    sort: str = "triage"
    descending: bool = False

    def procedure_window(self, today: date) -> tuple[date | None, date | None]:
        """The procedure dates the date range and the days-since range both allow."""
        earliest, latest = self.procedure_from, self.procedure_to
        if self.days_to is not None:
            bound = today - timedelta(days=self.days_to)
            earliest = max(earliest, bound) if earliest else bound
        if self.days_from is not None:
            bound = today - timedelta(days=self.days_from)
            latest = min(latest, bound) if latest else bound
        return earliest, latest


class _Lead:
    """Each patient's most pressing open alert, joined to the patient row: one correlated
    subquery (an index lookup a patient) finds its id."""

    def __init__(self) -> None:
        self.alert = aliased(Alert, name="lead_alert")
        self.alert_id = (
            select(Alert.id)
            .where(Alert.patient_id == Patient.id, Alert.acknowledged_at.is_(None))
            .order_by(tier_expression(), Alert.due_by, Alert.created_at, Alert.id)
            .limit(1)
            .scalar_subquery()
        )

    def ordering(self) -> list:
        lead = self.alert
        tier = case((lead.id.is_(None), NO_ALERT), else_=tier_expression(lead))
        return [tier, lead.due_by, lead.created_at]


def _last_answered():
    return (
        select(func.max(SurveyInstance.completed_at))
        .where(
            SurveyInstance.patient_id == Patient.id,
            SurveyInstance.status == InstanceStatus.COMPLETED,
        )
        .scalar_subquery()
    )


def _next_survey():
    return (
        select(func.min(SurveyInstance.due_at))
        .where(
            SurveyInstance.patient_id == Patient.id,
            SurveyInstance.status == InstanceStatus.SCHEDULED,
        )
        .scalar_subquery()
    )


def _ordering(filters: Filters, lead: _Lead) -> list:
    """ORDER BY for the chosen column, ties by study id; triage order by default.

    Empty values (no procedure, never answered) go last whichever way a column is sorted.
    """
    if filters.sort == "triage":
        return [*lead.ordering(), Patient.study_id]
    column = {
        "study_id": Patient.study_id,
        "name": Patient.first_name,
        "procedure": Procedure.procedure_date,
        "day": Procedure.procedure_date,
        "last_answered": _last_answered(),
        "next_survey": _next_survey(),
    }[filters.sort]
    # days since the procedure rise as the procedure date falls
    descending = filters.descending != (filters.sort == "day")
    keyed = column.desc() if descending else column.asc()
    return [keyed.nulls_last(), Patient.study_id]


def patient_page(
    session: Session,
    site_id: int,
    filters: Filters,
    page: int,
    now: datetime,
    today: date | None = None,
) -> tuple[list[PatientRow], bool]:
    """One page of the site's patients and whether another page follows.

    ``today`` is the site's local date (for days since the procedure); UTC's by default.
    """
    today = today or now.date()
    lead = _Lead()
    statement = (
        select(Patient, Procedure)
        .join(Procedure, Procedure.patient_id == Patient.id, isouter=True)
        .where(Patient.site_id == site_id)
    )
    if filters.sort == "triage":
        statement = statement.join(
            lead.alert,
            # the patient's own alerts first (by index), then the one that leads
            and_(lead.alert.patient_id == Patient.id, lead.alert.id == lead.alert_id),
            isouter=not filters.alerts_only,  # inner: only patients with an open alert
        )
    elif filters.alerts_only:
        statement = statement.where(
            exists().where(Alert.patient_id == Patient.id, Alert.acknowledged_at.is_(None))
        )
    if filters.query:  # "_" and "%" are searched for as typed (a study id may hold "_")
        query = filters.query
        statement = statement.where(
            or_(
                Patient.study_id.icontains(query, autoescape=True),
                Patient.first_name.icontains(query, autoescape=True),
            )
        )
    if filters.augmentation:
        statement = statement.where(Procedure.augmentation == filters.augmentation)
    if filters.status:
        statement = statement.where(Patient.status == filters.status)
    earliest, latest = filters.procedure_window(today)
    if earliest is not None:
        statement = statement.where(Procedure.procedure_date >= earliest)
    if latest is not None:
        statement = statement.where(Procedure.procedure_date <= latest)
    statement = statement.order_by(*_ordering(filters, lead))
    found = session.exec(statement.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    rows = [PatientRow(patient, procedure) for patient, procedure in found[:PER_PAGE]]
    _add_details(session, rows, now)
    return rows, len(found) > PER_PAGE


def _add_details(session: Session, rows: list[PatientRow], now: datetime) -> None:
    """Alerts, scores, response rate and next survey for the rows shown (three queries)."""
    by_id = {row.patient.id: row for row in rows}
    if not by_id:
        return
    ids = list(by_id)
    open_alerts: dict[int, list[Alert]] = defaultdict(list)
    for alert in session.exec(
        select(Alert).where(Alert.patient_id.in_(ids), Alert.acknowledged_at.is_(None))
    ):
        row = by_id[alert.patient_id]
        row.open_alerts += 1
        row.red_flags += alert.kind == AlertKind.RED_FLAG
        row.overdue_alerts += alert.due_by < now
        row.alert_kinds.append(alert.kind)
        open_alerts[alert.patient_id].append(alert)
    counts = session.exec(
        select(
            SurveyInstance.patient_id,
            # Due: its time has come, or it was answered before (a baseline taken by phone
            # once its window opened), as the audit counts it; so answered never exceeds due.
            func.count().filter(
                or_(
                    SurveyInstance.due_at <= now,
                    SurveyInstance.status == InstanceStatus.COMPLETED,
                ),
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
    known = _add_scores(session, by_id)
    for patient_id, alerts in open_alerts.items():
        by_id[patient_id].alerts = alert_lines(alerts, known[patient_id])


def _add_scores(session: Session, by_id: dict[int, PatientRow]) -> dict[int, Outcomes]:
    """Pain and opioid figures from the key outcomes kept on each instance, the last
    answer, and what wording the patient's alerts needs (baseline, missed in a row)."""
    instance = SurveyInstance
    timepoints = session.exec(
        select(
            instance.id,
            instance.patient_id,
            instance.timepoint,
            instance.status,
            instance.completed_at,
            instance.answer_channel,
            instance.pain_worst,
            instance.omed_mg_per_day,
            instance.any_opioid,
            instance.omed_needs_review,
        )
        .where(
            instance.patient_id.in_(list(by_id)),
            or_(
                instance.answer_channel.is_not(None),
                instance.status.in_((InstanceStatus.COMPLETED, InstanceStatus.EXPIRED)),
            ),
        )
        .order_by(instance.due_at)
    ).all()
    known: dict[int, Outcomes] = defaultdict(lambda: Outcomes(worst_at={}, omed_at={}))
    pain: dict[int, list[tuple[str, float]]] = defaultdict(list)  # (timepoint, worst)
    for (
        instance_id,
        patient_id,
        timepoint,
        status,
        completed_at,
        channel,
        worst,
        omed,
        any_opioid,
        needs_review,
    ) in timepoints:
        row, outcomes = by_id[patient_id], known[patient_id]
        if channel is None and status == InstanceStatus.EXPIRED:  # not answered at all
            outcomes.missed_in_a_row += 1
            continue
        if status == InstanceStatus.COMPLETED:
            outcomes.missed_in_a_row = 0
            row.last_answered = max(filter(None, (row.last_answered, completed_at)))
        elif channel is not None:
            row.part_answered += 1
        if timepoint == "baseline":
            outcomes.baseline_worst, outcomes.baseline_omed = worst, omed
        if worst is not None:
            outcomes.worst_at[instance_id] = worst
            pain[patient_id].append((timepoint, worst))
        if omed is not None:
            outcomes.omed_at[instance_id] = omed
        if (omed, any_opioid, needs_review) != (None, None, None):  # opioids were asked
            row.omed = omed
            row.omed_needs_review = bool(needs_review)
    for patient_id, values in pain.items():
        row = by_id[patient_id]
        last_timepoint, row.last_worst = values[-1]
        baseline = known[patient_id].baseline_worst
        if baseline is not None and last_timepoint != "baseline":  # not baseline against itself
            row.worst_change = row.last_worst - baseline
    return known
