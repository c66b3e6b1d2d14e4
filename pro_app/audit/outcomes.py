"""NICE's audit outcomes by timepoint, computed from patient timelines (no database here).

The definitions used are in ``definitions.py`` (shown on the page and in the workbook).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from surveys import clinically_important_improvement
from surveys.scoring.exact import exact

from .alert_handling import AlertHandling
from .response_class import classify_response
from .statistics import ChangeSummary, Summary, summarise, summarise_change
from .timelines import InstanceFacts, PatientTimeline

BASELINE = "baseline"
COUNTED = ("sent", "in_progress", "completed", "expired")


@dataclass
class Quality:
    """How follow-up went at a timepoint."""

    invited: int = 0
    delivered: int = 0
    not_sent: int = 0  # invitations that failed for good (each raised an alert)
    opened: int = 0
    answered: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    channels: Counter = field(default_factory=Counter)


@dataclass
class TimepointOutcome:
    timepoint: str
    day: int
    due: int = 0
    answered: int = 0
    worst: Summary | None = None
    average: Summary | None = None
    worst_change: ChangeSummary | None = None
    average_change: ChangeSummary | None = None
    change_n: int = 0  # answered with a baseline pain score
    no_baseline: int = 0  # answered without one: excluded from change figures
    improved_2_points: int = 0
    improved_30_percent: int = 0
    response: Counter = field(default_factory=Counter)  # consensus categories
    response_not_evaluable: int = 0
    not_evaluable: Counter = field(default_factory=Counter)  # NotEvaluable -> patients
    response_from_proxy: int = 0  # classified from the change in pain medicine (proxy.py)
    partly_answered: int = 0  # some answers, not complete: not counted as answered
    opioid_answered: int = 0
    any_opioid: int = 0
    omed: Summary | None = None
    omed_change: ChangeSummary | None = None
    omed_needs_review: int = 0  # left out of the OMED figures
    omed_implausible: int = 0  # of those, above the table's plausibility limits
    omed_table_changed: int = 0  # left out of OMED change: not the baseline's table
    omed_tables: Counter = field(default_factory=Counter)  # (table, version) -> answers
    qol: Summary | None = None
    qol_change: ChangeSummary | None = None
    quality: Quality = field(default_factory=Quality)

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.due if self.due else None


@dataclass
class AuditReport:
    timepoints: list[TimepointOutcome]
    procedures: int
    patients_opted_out: int
    safety: Counter  # (kind, grade) -> events
    safety_patients: Counter  # kind -> procedures with at least one event of that kind
    generated_at: datetime
    omed_tables: Counter = field(default_factory=Counter)  # (table, version) -> answers
    alert_handling: AlertHandling = field(default_factory=AlertHandling)
    min_count: int = 0  # the strictest small-cell threshold of the sites covered

    @property
    def completed_surveys(self) -> int:
        return sum(o.answered for o in self.timepoints)

    def safety_rate(self, kind: str) -> float | None:
        return self.safety_patients[kind] / self.procedures if self.procedures else None


@dataclass
class _Values:
    """What one timepoint collects before it is summarised."""

    day_offsets: list[int] = field(default_factory=list)
    worst: list[float] = field(default_factory=list)
    average: list[float] = field(default_factory=list)
    worst_change: list[float] = field(default_factory=list)
    average_change: list[float] = field(default_factory=list)
    omed: list[float] = field(default_factory=list)
    omed_change: list[float] = field(default_factory=list)
    qol: list[float] = field(default_factory=list)
    qol_change: list[float] = field(default_factory=list)


def _answered(facts: InstanceFacts | None) -> bool:
    return facts is not None and facts.status == "completed"


def _omed(facts: InstanceFacts | None) -> float | None:
    if facts is None or facts.omed is None or facts.omed_needs_review:
        return None
    return facts.omed


def _opioids_answered(facts: InstanceFacts) -> bool:
    return (facts.omed, facts.any_opioid, facts.omed_needs_review) != (None, None, None)


def _same_table(facts: InstanceFacts, base: InstanceFacts | None) -> bool:
    """Whether two OMEDs may be compared: same table and version (or either unknown)."""
    if base is None or None in (facts.omed_provenance, base.omed_provenance):
        return True
    return facts.omed_provenance == base.omed_provenance


class OutcomeAccumulator:
    """Feed timelines one at a time; ``report`` summarises them."""

    def __init__(self, now: datetime):
        self.now = now
        self.outcomes: dict[str, TimepointOutcome] = {}
        self.values: dict[str, _Values] = defaultdict(_Values)
        self.procedures = 0
        self.opted_out = 0

    def add(self, timeline: PatientTimeline) -> None:
        self.procedures += 1
        self.opted_out += timeline.opted_out
        base = timeline.at(BASELINE)
        base = base if _answered(base) else None
        for facts in timeline.instances:
            self._add_instance(facts, base)

    def _add_instance(self, facts: InstanceFacts, base: InstanceFacts | None) -> None:
        outcome = self.outcomes.get(facts.timepoint)
        if outcome is None:
            outcome = self.outcomes[facts.timepoint] = TimepointOutcome(
                facts.timepoint, facts.day_offset
            )
        # Answered before its due time (a nurse may enter answers once the window opens),
        # a survey counts as due: the patient-level export has it too.
        if not (facts.due or _answered(facts)) or facts.status not in COUNTED:
            return
        values = self.values[facts.timepoint]
        values.day_offsets.append(facts.day_offset)
        outcome.due += 1
        quality = outcome.quality
        quality.invited += facts.invited
        quality.delivered += facts.delivered
        quality.not_sent += facts.not_sent
        quality.opened += facts.opened
        if facts.status == "expired":
            quality.missed += 1
        if not _answered(facts):
            if facts.status == "in_progress" or facts.channel is not None:
                outcome.partly_answered += 1
            return
        outcome.answered += 1
        quality.answered += 1
        if facts.late:
            quality.late += 1
        else:
            quality.on_time += 1
        quality.channels[facts.channel or "unknown"] += 1
        if facts.worst is not None:
            values.worst.append(facts.worst)
        if facts.average is not None:
            values.average.append(facts.average)
        if facts.qol is not None:
            values.qol.append(facts.qol)
        if _opioids_answered(facts):
            outcome.opioid_answered += 1
            outcome.any_opioid += bool(facts.any_opioid)
            if facts.omed_provenance:
                outcome.omed_tables[facts.omed_provenance] += 1
            if facts.omed_needs_review:
                outcome.omed_needs_review += 1
                outcome.omed_implausible += bool(facts.omed_implausible)
            elif facts.omed is not None:
                values.omed.append(facts.omed)
        if facts.timepoint == BASELINE:
            return
        self._add_change(facts, base, outcome, values)

    def _add_change(self, facts, base, outcome: TimepointOutcome, values: _Values) -> None:
        if base is None or base.worst is None:
            outcome.no_baseline += 1
        elif facts.worst is not None:
            outcome.change_n += 1
            values.worst_change.append(facts.worst - base.worst)
            improvement = clinically_important_improvement(base.worst, facts.worst)
            outcome.improved_2_points += improvement["points"]
            outcome.improved_30_percent += improvement["percent"]
        omed, base_omed = _omed(facts), _omed(base)
        same_table = _same_table(facts, base)
        if base is not None:
            if facts.average is not None and base.average is not None:
                values.average_change.append(facts.average - base.average)
            if facts.qol is not None and base.qol is not None:
                values.qol_change.append(facts.qol - base.qol)
            if omed is not None and base_omed is not None:
                if same_table:
                    values.omed_change.append(float(exact(omed) - exact(base_omed)))
                else:
                    outcome.omed_table_changed += 1
        classified = classify_response(facts, base)
        outcome.response_from_proxy += classified.from_proxy
        if classified.category is None:
            outcome.response_not_evaluable += 1
            outcome.not_evaluable[classified.not_evaluable] += 1
        else:
            outcome.response[classified.category.value] += 1

    def report(self, safety_events: Iterable[tuple[int, str, int]] = ()) -> AuditReport:
        """Summaries by timepoint; ``safety_events`` are (procedure id, kind, grade)."""
        for timepoint, outcome in self.outcomes.items():
            values = self.values[timepoint]
            if values.day_offsets:
                outcome.day = sorted(values.day_offsets)[len(values.day_offsets) // 2]
            outcome.worst = summarise(values.worst)
            outcome.average = summarise(values.average)
            outcome.omed = summarise(values.omed)
            outcome.qol = summarise(values.qol)
            if timepoint != BASELINE:
                outcome.worst_change = summarise_change(values.worst_change)
                outcome.average_change = summarise_change(values.average_change)
                outcome.omed_change = summarise_change(values.omed_change)
                outcome.qol_change = summarise_change(values.qol_change)
        tables: Counter = Counter()
        for outcome in self.outcomes.values():
            tables.update(outcome.omed_tables)
        safety: Counter = Counter()
        with_event: dict[str, set[int]] = defaultdict(set)
        for procedure_id, kind, grade in safety_events:
            safety[(kind, grade)] += 1
            with_event[kind].add(procedure_id)
        return AuditReport(
            timepoints=sorted(self.outcomes.values(), key=lambda o: (o.day, o.timepoint)),
            procedures=self.procedures,
            patients_opted_out=self.opted_out,
            safety=safety,
            safety_patients=Counter({kind: len(ids) for kind, ids in with_event.items()}),
            generated_at=self.now,
            omed_tables=tables,
        )
