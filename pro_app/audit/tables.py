"""The audit report as tables: one section per outcome, the same for page, CSV and XLSX.

Cells that count patients carry their count, so small cells can be suppressed in exports
that leave the site: a count, or a statistic computed from fewer patients than the
site's minimum (and more than none), is shown as "<k" instead. A section's title is made
of the same cells (text and counts), so a count in a title is suppressed alike.
"""

from dataclasses import dataclass

from surveys import NotEvaluable

from ..models import SAFETY_EVENT_LABELS
from .alert_handling import ALL, NO_TIMEPOINT, OVERALL, Tally, action_label, group_label
from .outcomes import AuditReport, TimepointOutcome
from .statistics import ChangeSummary, Summary

RESPONSES = ("complete", "partial", "indeterminate", "progression")
CHANNELS = ("web", "sms", "nurse")


@dataclass(frozen=True)
class Count:
    n: int


@dataclass(frozen=True)
class Stat:
    """A figure computed from ``n`` patients (a median, a share, an interval bound)."""

    value: float | None
    n: int


Cell = str | int | float | Count | Stat | None


@dataclass(frozen=True)
class Section:
    key: str
    heading: tuple[Cell, ...]  # the title's parts: text and counts
    columns: tuple[str, ...]
    rows: list[list[Cell]]

    def title(self, min_count: int = 0, *, every_count: bool = False) -> str:
        """The title, its counts suppressed as cells are when ``min_count`` is above 1;
        with ``every_count`` (a cohort smaller than that), zeros too."""
        return "".join(
            f"<{min_count}"
            if every_count and isinstance(part, Count)
            else str(plain(part, min_count))
            for part in self.heading
        )


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _summary(summary: Summary | None) -> list[Cell]:
    if summary is None or not summary.n:
        return [Count(0), None, None, None, None, None]
    n = summary.n
    return [
        Count(n),
        Stat(_round(summary.median), n),
        Stat(_round(summary.q1), n),
        Stat(_round(summary.q3), n),
        Stat(_round(summary.mean), n),
        Stat(_round(summary.sd), n),
    ]


SUMMARY_COLUMNS = ("n", "median", "Q1", "Q3", "mean", "SD")


def _change(change: ChangeSummary | None) -> list[Cell]:
    if change is None or not change.n:
        return [Count(0) if change else None, None, None, None, None, None, None]
    n = change.n
    return [Count(n)] + [
        Stat(_round(value), n)
        for value in (
            change.median,
            change.median_low,
            change.median_high,
            change.mean,
            change.mean_low,
            change.mean_high,
        )
    ]


CHANGE_COLUMNS = (
    "change n",
    "median change",
    "median change 95% CI low",
    "median change 95% CI high",
    "mean change",
    "mean change 95% CI low",
    "mean change 95% CI high",
)


def _percent(part: int, whole: int) -> Stat:
    return Stat(round(100 * part / whole, 1) if whole else None, part)


def _rate(outcome: TimepointOutcome) -> Stat:
    return _percent(outcome.answered, outcome.due)


def _tables(outcome: TimepointOutcome) -> str:
    """The conversion tables (id and version) behind a timepoint's OMED figures."""
    return "; ".join(f"{table} {version}".strip() for table, version in sorted(outcome.omed_tables))


def sections(report: AuditReport) -> list[Section]:
    """Every section of the audit, in the order the page shows them."""
    tps = report.timepoints
    response = Section(
        "response",
        ("Patients due and answered",),
        ("timepoint", "day", "due", "answered", "response rate %", "partly answered"),
        [
            [
                o.timepoint,
                o.day,
                Count(o.due),
                Count(o.answered),
                _rate(o),
                Count(o.partly_answered),
            ]
            for o in tps
        ],
    )
    pain_rows = []
    for o in tps:
        for measure, summary, change in (
            ("worst pain", o.worst, o.worst_change),
            ("average pain", o.average, o.average_change),
        ):
            row: list[Cell] = [o.timepoint, o.day, measure, *_summary(summary), *_change(change)]
            if measure == "worst pain" and o.timepoint != "baseline":
                row += [
                    Count(o.no_baseline),
                    Count(o.improved_2_points),
                    _percent(o.improved_2_points, o.change_n),
                    Count(o.improved_30_percent),
                    _percent(o.improved_30_percent, o.change_n),
                ]
            else:
                row += [None] * 5
            pain_rows.append(row)
    pain = Section(
        "pain",
        ("Pain (0-10)",),
        (
            "timepoint",
            "day",
            "measure",
            *SUMMARY_COLUMNS,
            *CHANGE_COLUMNS,
            "answered without baseline (excluded from change)",
            "improved >=2 points",
            "improved >=2 points %",
            "improved >=30%",
            "improved >=30% %",
        ),
        pain_rows,
    )
    consensus = Section(
        "pain_response",
        ("Pain response (international consensus, Chow 2012)",),
        (
            "timepoint",
            "day",
            "evaluable",
            *RESPONSES,
            "responders %",
            "not evaluable",
            *(f"not evaluable: {reason.describe()}" for reason in NotEvaluable),
            "from OMED",
            "from medicine change (proxy)",
        ),
        [
            [
                o.timepoint,
                o.day,
                Count(sum(o.response.values())),
                *[Count(o.response[r]) for r in RESPONSES],
                _percent(o.response["complete"] + o.response["partial"], sum(o.response.values())),
                Count(o.response_not_evaluable),
                *(Count(o.not_evaluable[reason]) for reason in NotEvaluable),
                Count(sum(o.response.values()) - o.response_from_proxy),
                Count(o.response_from_proxy),
            ]
            for o in tps
            if o.timepoint != "baseline"
        ],
    )
    opioids = Section(
        "opioids",
        ("Opioid use (oral morphine equivalent, mg/day)",),
        (
            "timepoint",
            "day",
            "answered",
            "taking any opioid",
            "taking any opioid %",
            "OMED needs review (left out of OMED figures)",
            "OMED above plausibility limit (of those needing review)",
            *(f"OMED {c}" for c in SUMMARY_COLUMNS),
            *(f"OMED {c}" for c in CHANGE_COLUMNS),
            "OMED conversion table changed since baseline (left out of change)",
            "OMED conversion tables",
        ),
        [
            [
                o.timepoint,
                o.day,
                Count(o.opioid_answered),
                Count(o.any_opioid),
                _percent(o.any_opioid, o.opioid_answered),
                Count(o.omed_needs_review),
                Count(o.omed_implausible),
                *_summary(o.omed),
                *_change(o.omed_change),
                Count(o.omed_table_changed),
                _tables(o),
            ]
            for o in tps
        ],
    )
    qol = Section(
        "quality_of_life",
        ("Quality of life (overall, 0-10)",),
        ("timepoint", "day", *SUMMARY_COLUMNS, *CHANGE_COLUMNS),
        [[o.timepoint, o.day, *_summary(o.qol), *_change(o.qol_change)] for o in tps],
    )
    return [
        response,
        pain,
        consensus,
        opioids,
        qol,
        _safety(report),
        _quality(report),
        _alert_handling(report),
    ]


def _safety(report: AuditReport) -> Section:
    rows: list[list[Cell]] = []
    for kind, label in SAFETY_EVENT_LABELS.items():
        events = {grade: n for (k, grade), n in report.safety.items() if k == kind}
        with_event = report.safety_patients[kind]
        rows.append(
            [
                label,
                *[Count(events.get(grade, 0)) for grade in range(1, 6)],
                Count(sum(events.values())),
                Count(with_event),
                _percent(with_event, report.procedures),
            ]
        )
    return Section(
        "safety",
        ("Safety events (clinician-reported) in ", Count(report.procedures), " procedures"),
        (
            "event",
            *(f"grade {g}" for g in range(1, 6)),
            "events",
            "procedures with the event",
            "per 100 procedures",
        ),
        rows,
    )


def _quality(report: AuditReport) -> Section:
    rows: list[list[Cell]] = []
    for o in report.timepoints:
        q = o.quality
        rows.append(
            [
                o.timepoint,
                o.day,
                Count(o.due),
                Count(q.invited),
                Count(q.delivered),
                Count(q.not_sent),
                Count(q.opened),
                Count(q.answered),
                Count(q.on_time),
                Count(q.late),
                Count(q.missed),
                *[Count(q.channels[c]) for c in CHANNELS],
            ]
        )
    return Section(
        "follow_up",
        (
            "Follow-up quality (",
            Count(report.patients_opted_out),
            " patients opted out of texts)",
        ),
        (
            "timepoint",
            "day",
            "due",
            "invited",
            "delivered",
            "invitation not sent",
            "opened",
            "answered",
            "answered on time",
            "answered late",
            "missed",
            *(f"answered by {c}" for c in CHANNELS),
        ),
        rows,
    )


def _alert_row(tally: Tally, completed: int | None, actions: list[str]) -> list[Cell]:
    """``completed`` is None for alerts with no survey behind them (no rate)."""
    waited = tally.time_to_acknowledge
    return [
        Count(tally.alerts),
        Stat(round(100 * tally.alerts / completed, 1) if completed else None, tally.alerts),
        None if completed is None else Count(completed),
        Count(tally.acknowledged),
        Stat(_round(waited.median), waited.n),
        Stat(_round(waited.q1), waited.n),
        Stat(_round(waited.q3), waited.n),
        tally.target() or None,
        Count(tally.assessable),
        Count(tally.within_target),
        _percent(tally.within_target, tally.assessable),
        Count(tally.open_past_target),
        Count(tally.alerts_unreached),
        Count(tally.unreached_attempts),
        *(Count(tally.actions[action]) for action in actions),
    ]


def _alert_handling(report: AuditReport) -> Section:
    """Per timepoint and overall: every alert, then each kind raised."""
    handling = report.alert_handling
    groups, actions = [ALL, *handling.groups], handling.actions
    places: list[tuple[str, int | None, int | None]] = [
        (o.timepoint, o.day, o.answered) for o in report.timepoints
    ]
    if NO_TIMEPOINT in handling.tallies:
        places.append((NO_TIMEPOINT, None, None))
    places.append((OVERALL, None, report.completed_surveys))
    rows: list[list[Cell]] = [
        [
            timepoint,
            day,
            group_label(group),
            *_alert_row(handling.tally(timepoint, group), completed, actions),
        ]
        for timepoint, day, completed in places
        for group in groups
    ]
    return Section(
        "alert_handling",
        ("Alert handling (alerts raised and how nurses acted on them)",),
        (
            "timepoint",
            "day",
            "alert",
            "alerts",
            "per 100 completed surveys",
            "completed surveys",
            "acknowledged",
            "median hours to acknowledgement",
            "hours to acknowledgement Q1",
            "hours to acknowledgement Q3",
            "target",
            "acknowledged or past target",
            "acknowledged within target",
            "acknowledged within target %",
            "open past target",
            "alerts with a call that did not reach the patient",
            "calls that did not reach the patient",
            *(f"action: {action_label(action)}" for action in actions),
        ),
        rows,
    )


def plain(cell: Cell, min_count: int = 0) -> str | int | float | None:
    """A cell's value, with small cells suppressed when ``min_count`` is above 1."""
    if isinstance(cell, Count):
        if 0 < cell.n < min_count:
            return f"<{min_count}"
        return cell.n
    if isinstance(cell, Stat):
        if cell.value is not None and 0 < cell.n < min_count:
            return f"<{min_count}"
        return cell.value
    return cell
