"""Everything the nurse's patient page shows, gathered in a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from surveys import get_instrument
from surveys.model import Instrument, ItemType

from ..followup.conversation import is_baseline
from ..followup.instruments import missing_text_items
from ..local_time import in_zone
from ..messaging.links import redact_body
from ..models import (
    SAFETY_EVENT_LABELS,
    Alert,
    AlertAction,
    InstanceStatus,
    Message,
    Patient,
    Procedure,
    Response,
    SafetyEvent,
    SurveyInstance,
    User,
)
from .expected_course import expected_course
from .trajectory import Marker, Point, omed_figure, pain_figure, qol_figure, worst_pain, x_range

MESSAGES_SHOWN = 200
RECENT_ALERTS = timedelta(days=90)  # closed alerts the printed summary still shows


@dataclass
class AnsweredInstrument:
    title: str
    channel: str
    nurse_entered: bool
    answers: list[tuple[str, str]]
    scores: list[tuple[str, str]]


@dataclass
class TimepointRecord:
    instance: SurveyInstance
    instruments: list[AnsweredInstrument] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # texted questions not yet answered


@dataclass
class PatientRecord:
    timepoints: list[TimepointRecord]
    messages: list[tuple[Message, str]]  # with the body as staff may see it
    alerts: list[Alert]
    acknowledgers: dict[int, str]  # user id -> name, for every action on an alert
    alert_actions: dict[int, list[AlertAction]]  # alert id -> actions taken, oldest first
    safety_events: list[SafetyEvent]
    figures: dict[str, dict]
    cohort_label: str


def _day(procedure: Procedure | None, moment: date) -> int:
    return (moment - procedure.procedure_date).days if procedure else 0


def _answer_text(instrument: Instrument, item_id: str, value) -> tuple[str, str]:
    try:
        item = instrument.item(item_id)
    except KeyError:
        return item_id, str(value)
    if item.type == ItemType.YES_NO:
        return item.text, "yes" if value else "no"
    if item.type == ItemType.SINGLE_CHOICE:
        option = item.option(value)
        return item.text, option.text if option else str(value)
    if item.type == ItemType.MULTIPLE_CHOICE:
        labels = [(item.option(code).text if item.option(code) else code) for code in value]
        return item.text, ", ".join(labels) or "none"
    if item.type == ItemType.MEDICATION_LIST:
        if not value:
            return item.text, "none taken"
        return item.text, "; ".join(_medicine_text(entry) for entry in value)
    return item.text, str(value)


def _medicine_text(entry: dict) -> str:
    name = entry.get("name") or entry.get("drug")
    unit = entry.get("unit", "mg")
    doses = entry.get("doses")
    how = "when needed" if entry.get("pattern") == "as_needed" else "regularly"
    return f"{name} {entry.get('strength')} {unit}, {doses} doses in 24 h, {how}"


def _omed_text(value: dict) -> str:
    """An OMED as the nurse reads it: the figure and its table, or why it needs review."""
    table = " ".join(str(value[key]) for key in ("table", "table_version") if value.get(key))
    source = f" ({table})" if table else ""
    if not value.get("needs_review"):
        return f"{value.get('omed_mg_per_day'):,g} mg/day{source}"
    reasons = "; ".join(value.get("review_reasons") or [])
    known = f"{value.get('known_mg_per_day') or 0:,g} mg/day known{source}"
    return f"{known}; needs review: {reasons}" if reasons else f"{known}; needs review"


def _score_text(instrument: Instrument, scores: dict) -> list[tuple[str, str]]:
    shown = []
    for rule in instrument.scoring:
        value = scores.get(rule.id)
        if value is None:
            continue
        if isinstance(value, dict):  # oral morphine equivalent
            text = _omed_text(value)
        else:
            text = f"{value:g}" if isinstance(value, float | int) else str(value)
        shown.append((rule.label or rule.id, text))
    return shown


def gather(
    session: Session,
    patient: Patient,
    procedure: Procedure | None,
    *,
    now: datetime,
    zone: str | None = None,
) -> PatientRecord:
    """The patient's timepoints with answers, messages, alerts, safety events and figures.

    Days on the figures are counted in ``zone`` (the staff's site zone; the default zone
    when None), so an answer at 00:30 BST falls on its own day, not the day before.
    """
    instances = session.exec(
        select(SurveyInstance)
        .where(SurveyInstance.patient_id == patient.id)
        .order_by(SurveyInstance.due_at)
    ).all()
    by_instance = {instance.id: TimepointRecord(instance) for instance in instances}
    current = session.exec(
        select(Response)
        .join(SurveyInstance, SurveyInstance.id == Response.instance_id)
        .where(SurveyInstance.patient_id == patient.id)
        .where(Response.is_current)
        .order_by(Response.id)
    ).all()
    scores_at: dict[int, dict] = {}
    for response in current:
        instrument = get_instrument(response.instrument_id)
        by_instance[response.instance_id].instruments.append(
            AnsweredInstrument(
                title=instrument.title,
                channel=response.channel,
                nurse_entered=response.entered_by_user_id is not None,
                answers=[_answer_text(instrument, k, v) for k, v in response.answers.items()],
                scores=_score_text(instrument, response.scores),
            )
        )
        scores_at.setdefault(response.instance_id, {})[response.instrument_id] = response.scores
    answers_at: dict[int, dict] = {}
    for response in current:
        answers_at.setdefault(response.instance_id, {})[response.instrument_id] = response.answers
    for instance in instances:
        if _partly_answered_by_text(instance):
            by_instance[instance.id].missing = missing_text_items(
                instance.instruments,
                answers_at.get(instance.id, {}),
                baseline=is_baseline(instance, session),
            )
    alerts = session.exec(
        select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.created_at.desc())
    ).all()
    events = session.exec(
        select(SafetyEvent)
        .where(SafetyEvent.patient_id == patient.id)
        .order_by(SafetyEvent.event_date.desc())
    ).all()
    messages = session.exec(
        select(Message)
        .where(Message.patient_id == patient.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(MESSAGES_SHOWN)
    ).all()
    alert_actions: dict[int, list[AlertAction]] = {}
    if alerts:
        for action in session.exec(
            select(AlertAction)
            .where(AlertAction.alert_id.in_([a.id for a in alerts]))
            .order_by(AlertAction.at, AlertAction.id)
        ):
            alert_actions.setdefault(action.alert_id, []).append(action)
    user_ids = {a.acknowledged_by for a in alerts if a.acknowledged_by}
    user_ids |= {action.user_id for taken in alert_actions.values() for action in taken}
    names = (
        {u.id: u.name for u in session.exec(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    points = [
        Point(
            instance.timepoint,
            instance.timepoint.replace("_", " "),
            _day(procedure, in_zone(instance.completed_at or instance.due_at, zone).date()),
            in_zone(instance.completed_at or instance.due_at, zone).date(),
            scores_at[instance.id],
        )
        for instance in instances
        if instance.id in scores_at
    ]
    markers = _markers(procedure, instances, alerts, events, zone)
    course = expected_course(session, patient.site_id)
    baseline = next((p for p in points if p.timepoint == "baseline"), None)
    days = x_range(points, markers)
    figures = {
        "pain": pain_figure(
            points,
            course.bands.get("worst_pain", []),
            markers,
            cohort_label=course.label,
            baseline_worst=worst_pain(baseline.scores) if baseline else None,
        ),
        "omed": omed_figure(
            points, course.bands.get("omed", []), cohort_label=course.label, days=days
        ),
        "qol": qol_figure(
            points, course.bands.get("qol", []), cohort_label=course.label, days=days
        ),
    }
    return PatientRecord(
        timepoints=list(by_instance.values()),
        messages=[(message, redact_body(message.body)) for message in messages],
        alerts=list(alerts),
        acknowledgers=names,
        alert_actions=alert_actions,
        safety_events=list(events),
        figures=figures,
        cohort_label=course.label,
    )


def summary_alerts(alerts: list[Alert], *, now: datetime) -> list[Alert]:
    """The alerts a printed summary shows: every open one and those raised recently."""
    return [a for a in alerts if a.acknowledged_at is None or now - a.created_at <= RECENT_ALERTS]


def _partly_answered_by_text(instance: SurveyInstance) -> bool:
    """A text conversation that started and did not complete."""
    return "sms" in (instance.progress or {}) and instance.status in (
        InstanceStatus.IN_PROGRESS,
        InstanceStatus.EXPIRED,
    )


def _markers(procedure, instances, alerts, events, zone: str | None) -> list[Marker]:
    def local(moment: datetime) -> date:
        return in_zone(moment, zone).date()

    markers = [
        Marker("alert", _day(procedure, local(a.created_at)), local(a.created_at), a.summary)
        for a in alerts
    ]
    markers += [
        Marker(
            "missed",
            _day(procedure, local(i.due_at)),
            local(i.due_at),
            f"{i.timepoint} not answered",
        )
        for i in instances
        if i.status == InstanceStatus.EXPIRED
    ]
    markers += [
        Marker(
            "safety",
            _day(procedure, e.event_date),
            e.event_date,
            f"{SAFETY_EVENT_LABELS.get(e.kind, e.kind)}, grade {e.grade}",
        )
        for e in events
        if e.withdrawn_at is None  # recorded in error: listed, not drawn
    ]
    return markers
