"""Alert handling, for the audit: how many alerts the answers raised, how soon nurses
acknowledged them, whether within each alert's target, and what they did.

Each alert's target is the ``due_by`` set when it was raised (``pro_app/alerts.py``: one
hour for a call-now red flag, 24 hours for a 24-hour one, the site's target otherwise).
Alerts raised by a survey count at that survey's timepoint and overall; alerts about
texts or replies with no survey behind them count overall only. Actions are counted by
the value stored and named from ``ALERT_ACTION_LABELS`` (``pro_app/models/safety.py``),
so a new action shows up without a change here; attempts that did not reach the patient
(which leave the alert open) are counted apart, as attempts and as alerts. Only counts
and durations leave this module: nothing identifies a patient.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, null
from sqlmodel import Session, select

from ..models import Alert, AlertKind, Patient, Procedure, SurveyInstance
from ..models.safety import ALERT_ACTION_LABELS, NOT_REACHED, AlertAction
from .sql_time import hours_between
from .statistics import Summary, summarise
from .timelines import STREAM_ROWS, AuditFilters, apply_filters

ALL = "all"
NO_TIMEPOINT = "no survey (texts and replies)"
OVERALL = "overall"
URGENCY_LABELS = {"now": "call now", "24h": "within 24 h", "local": "local policy", "routine": ""}
KIND_LABELS = {
    AlertKind.PAIN_WORSE: "Worsening pain",
    AlertKind.OPIOID_UP: "Opioid rise",
    AlertKind.NON_RESPONSE: "No reply",
    AlertKind.UNREADABLE_REPLY: "Reply not understood",
    AlertKind.WORDS_IN_REPLY: "Texted words to read",
    AlertKind.UNMATCHED_REPLY: "Reply from a shared number",
    AlertKind.DELIVERY_FAILURE: "Text not delivered",
    AlertKind.NOT_SENT: "Text not sent",
    AlertKind.OPTED_OUT: "Opted out of texts",
}
# The order rows appear in: the most urgent first, then any kind not listed here.
KIND_ORDER = ("red_flag:now", "red_flag:24h", *(kind.value for kind in KIND_LABELS))


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """One alert, as the audit sees it (its times worked out in SQL, as of the audit)."""

    kind: str
    urgency: str
    timepoint: str | None
    action: str | None
    target_hours: float  # from raised to due_by
    waited_hours: float | None  # from raised to acknowledged; None while open
    in_time: bool  # acknowledged by its due_by
    past_target: bool  # still open after its due_by
    unreached: int = 0  # attempts that did not reach the patient ("could not reach")

    @property
    def group(self) -> str:
        """The row it counts in: a red flag by urgency, any other alert by kind."""
        return f"{self.kind}:{self.urgency}" if self.kind == AlertKind.RED_FLAG else self.kind


def group_label(group: str) -> str:
    """A row's name in words: "Red flag: call now", "Worsening pain"..."""
    if group == ALL:
        return "All alerts"
    kind, _, urgency = group.partition(":")
    if kind == AlertKind.RED_FLAG:
        detail = URGENCY_LABELS.get(urgency, urgency)
        return f"Red flag: {detail}" if detail else "Red flag"
    return KIND_LABELS.get(kind) or kind.replace("_", " ").capitalize()


def action_label(action: str) -> str:
    """An action's label where the actions are defined, else the stored value in words."""
    return ALERT_ACTION_LABELS.get(action) or action.replace("_", " ").capitalize()


@dataclass
class Tally:
    """The alerts of one row: one kind (or all) at one timepoint (or overall)."""

    alerts: int = 0
    acknowledged: int = 0
    hours_to_acknowledge: list[float] = field(default_factory=list)
    assessable: int = 0  # acknowledged, or its target time has passed
    within_target: int = 0
    open_past_target: int = 0
    target_hours: Counter = field(default_factory=Counter)  # target in hours -> alerts
    actions: Counter = field(default_factory=Counter)  # stored action -> alerts
    unreached_attempts: int = 0  # "could not reach" attempts, however many an alert had
    alerts_unreached: int = 0  # alerts with at least one such attempt

    def add(self, alert: AlertFacts) -> None:
        self.alerts += 1
        self.unreached_attempts += alert.unreached
        self.alerts_unreached += alert.unreached > 0
        self.target_hours[round(alert.target_hours)] += 1
        if alert.action:
            self.actions[alert.action] += 1
        if alert.waited_hours is not None:
            self.acknowledged += 1
            self.assessable += 1
            self.hours_to_acknowledge.append(max(alert.waited_hours, 0))
            self.within_target += alert.in_time
        elif alert.past_target:
            self.assessable += 1
            self.open_past_target += 1

    def merge(self, other: "Tally") -> None:
        """Count ``other``'s alerts in this row too."""
        self.alerts += other.alerts
        self.acknowledged += other.acknowledged
        self.hours_to_acknowledge += other.hours_to_acknowledge
        self.assessable += other.assessable
        self.within_target += other.within_target
        self.open_past_target += other.open_past_target
        self.target_hours.update(other.target_hours)
        self.actions.update(other.actions)
        self.unreached_attempts += other.unreached_attempts
        self.alerts_unreached += other.alerts_unreached

    @property
    def time_to_acknowledge(self) -> Summary:
        return summarise(self.hours_to_acknowledge)

    def target(self) -> str:
        """The targets of its alerts in words: "1 h", "24 h" or "48 h, 72 h"."""
        return ", ".join(f"{hours:g} h" for hours in sorted(self.target_hours))


@dataclass
class AlertHandling:
    """Tallies by timepoint (``NO_TIMEPOINT`` for alerts without a survey, ``OVERALL``
    for every alert) and by row group (``ALL`` and each kind). Each alert is added to
    its own timepoint and kind; ``total`` then adds up the ``ALL`` and ``OVERALL`` rows."""

    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)

    def add(self, alert: AlertFacts) -> None:
        rows = self.tallies.get(alert.timepoint or NO_TIMEPOINT)
        if rows is None:
            rows = self.tallies[alert.timepoint or NO_TIMEPOINT] = {}
        tally = rows.get(alert.group)
        if tally is None:
            tally = rows[alert.group] = Tally()
        tally.add(alert)

    def total(self) -> None:
        """Add the every-kind rows of each timepoint, and the overall rows."""
        overall: dict[str, Tally] = {ALL: Tally()}
        for rows in self.tallies.values():
            every = Tally()
            for group, tally in rows.items():
                every.merge(tally)
                overall.setdefault(group, Tally()).merge(tally)
            overall[ALL].merge(every)
            rows[ALL] = every
        self.tallies[OVERALL] = overall

    def tally(self, timepoint: str, group: str = ALL) -> Tally:
        return self.tallies.get(timepoint, {}).get(group) or Tally()

    @property
    def groups(self) -> list[str]:
        """The kinds of alert raised, most urgent first."""
        found = {group for rows in self.tallies.values() for group in rows if group != ALL}
        rank = {group: index for index, group in enumerate(KIND_ORDER)}
        return sorted(found, key=lambda group: (rank.get(group, len(rank)), group))

    @property
    def actions(self) -> list[str]:
        """The actions recorded, in the order the form offers them, then any others."""
        found = set(self.tally(OVERALL).actions)
        offered = [action for action in ALERT_ACTION_LABELS if action in found]
        return offered + sorted(found - set(offered))


def summarise_alerts(alerts: Iterable[AlertFacts]) -> AlertHandling:
    handling = AlertHandling()
    for alert in alerts:
        handling.add(alert)
    handling.total()
    return handling


def _columns(now: datetime) -> tuple:
    """An alert's kind, urgency and action, its times as hours and flags, and its
    attempts that did not reach the patient (SQL)."""
    acknowledged = Alert.acknowledged_at.is_not(None)
    unreached = (
        select(func.count(AlertAction.id))
        .where(AlertAction.alert_id == Alert.id, AlertAction.action == NOT_REACHED)
        .scalar_subquery()
    )
    return (
        Alert.kind,
        Alert.urgency,
        Alert.action,
        hours_between(Alert.due_by, Alert.created_at),
        hours_between(Alert.acknowledged_at, Alert.created_at),
        case((and_(acknowledged, Alert.acknowledged_at <= Alert.due_by), True), else_=False),
        case((and_(~acknowledged, Alert.due_by <= now), True), else_=False),
        unreached,
    )


def alert_facts(session: Session, filters: AuditFilters, now: datetime) -> Iterator[AlertFacts]:
    """The alerts of the covered procedures as of ``now``: those raised by a survey through
    its procedure, the others (about texts and replies) through the patient's procedures."""
    columns = _columns(now)
    from_surveys = apply_filters(
        select(SurveyInstance.timepoint, *columns)
        .join(SurveyInstance, SurveyInstance.id == Alert.instance_id)
        .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
        .join(Patient, Patient.id == Procedure.patient_id),
        filters,
    )
    covered = apply_filters(
        select(Patient.id).join(Procedure, Procedure.patient_id == Patient.id), filters
    )
    without_survey = select(null(), *columns).where(
        Alert.instance_id.is_(None), Alert.patient_id.in_(covered)
    )
    connection = session.connection()
    for statement in (from_surveys, without_survey):
        result = connection.execute(statement.execution_options(yield_per=STREAM_ROWS))
        for timepoint, kind, urgency, *rest in result:
            yield AlertFacts(kind, urgency, timepoint, *rest)


def alert_handling(session: Session, filters: AuditFilters, now: datetime) -> AlertHandling:
    """The alert handling of the covered procedures, as of ``now``."""
    return summarise_alerts(alert_facts(session, filters, now))
