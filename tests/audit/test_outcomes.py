"""Audit outcomes on a small cohort computed by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest

from pro_app.audit.outcomes import OutcomeAccumulator
from pro_app.audit.tables import Count, Stat, plain, sections
from pro_app.audit.timelines import InstanceFacts, PatientTimeline
from surveys import NotEvaluable

NOW = datetime(2027, 6, 1, tzinfo=UTC)
PROCEDURE = date(2027, 1, 10)


def facts(timepoint, status, worst=None, average=None, omed=None, qol=None, **extra):
    day = 0 if timepoint == "baseline" else 28
    due = datetime(2027, 1, 10, 10, tzinfo=UTC) + timedelta(days=day)
    completed = due + timedelta(hours=2) if status == "completed" else None
    values = {
        "instance_id": 0,
        "timepoint": timepoint,
        "day_offset": day,
        "status": status,
        "due": due <= NOW,
        "invited": True,
        "delivered": True,
        "not_sent": False,
        "opened": completed is not None,
        "late": False,
        "worst": worst,
        "average": average,
        "omed": omed,
        "any_opioid": bool(omed) if omed is not None else None,
        "omed_needs_review": False if omed is not None else None,
        "qol": qol,
        "channel": "web" if completed else None,
    }
    values.update(extra)
    return InstanceFacts(**values)


def patient(n: int, *instances) -> PatientTimeline:
    return PatientTimeline(n, 100 + n, n == 5, list(instances))


COHORT = [
    patient(
        1, facts("baseline", "completed", 8, 6, 60, 3), facts("week4", "completed", 4, 3, 30, 6)
    ),
    patient(
        2,
        facts("baseline", "completed", 6, 5, 0, 5),
        facts("week4", "completed", 5, 5, 0, 5, channel="sms"),
    ),
    patient(
        3, facts("baseline", "completed", 5, 4, 20, 4), facts("week4", "completed", 0, 0, 20, 8)
    ),
    patient(
        4,
        facts("baseline", "expired"),
        facts(
            "week4",
            "completed",
            7,
            6,
            40,
            2,
            channel="nurse",
            delivered=False,
            late=True,
        ),
    ),
    patient(5, facts("baseline", "completed", 3, 3, 10, 6), facts("week4", "expired")),
    patient(
        6,
        facts("baseline", "completed", 4, 4, 15, 7, omed_needs_review=True, any_opioid=True),
        facts("week4", "cancelled"),
    ),
]
SAFETY = [(101, "cement_leakage", 1), (101, "cement_leakage", 2), (103, "infection", 2)]


@pytest.fixture
def report():
    accumulator = OutcomeAccumulator(NOW)
    for timeline in COHORT:
        accumulator.add(timeline)
    return accumulator.report(SAFETY)


def test_due_answered_and_pain_at_each_timepoint(report):
    baseline, week4 = report.timepoints
    assert (baseline.due, baseline.answered) == (6, 5)
    assert (baseline.worst.median, baseline.worst.q1, baseline.worst.q3) == (5, 4, 6)
    assert baseline.worst.mean == pytest.approx(5.2)
    assert (week4.due, week4.answered, week4.response_rate) == (5, 4, 0.8)
    assert (week4.worst.median, week4.worst.q1, week4.worst.q3, week4.worst.mean) == (
        4.5,
        3,
        5.5,
        4,
    )


def test_a_survey_completed_before_its_due_time_is_counted_due_and_answered():
    """A nurse may enter answers once the window opens, before the due time: the audit
    counts that survey as the patient-level export does, not as not yet due."""
    accumulator = OutcomeAccumulator(NOW)
    early = facts("week4", "completed", worst=3, due=False)
    waiting = facts("week4", "sent", due=False)
    for n, timepoint in enumerate((early, waiting)):
        accumulator.add(PatientTimeline(n, n, False, [timepoint]))
    (week4,) = accumulator.report(SAFETY).timepoints
    assert (week4.due, week4.answered, week4.worst.median) == (1, 1, 3)


def test_change_from_baseline_excludes_patients_without_one(report):
    week4 = report.timepoints[1]
    change = week4.worst_change
    assert (week4.change_n, week4.no_baseline) == (3, 1)
    assert (change.n, change.median, change.mean) == (3, -4, pytest.approx(-10 / 3))
    assert (change.median_low, change.median_high) == (None, None)  # too few for an interval
    assert change.mean_low == pytest.approx(-8.505, abs=0.001)
    assert change.mean_high == pytest.approx(1.838, abs=0.001)
    assert (week4.improved_2_points, week4.improved_30_percent) == (2, 2)


def test_consensus_response_opioids_and_quality_of_life(report):
    baseline, week4 = report.timepoints
    assert dict(week4.response) == {"partial": 1, "indeterminate": 1, "complete": 1}
    assert week4.response_not_evaluable == 1
    assert (baseline.opioid_answered, baseline.any_opioid, baseline.omed_needs_review) == (5, 4, 1)
    assert baseline.omed.median == 15  # 60, 0, 20, 10: the one needing review left out
    assert (week4.opioid_answered, week4.any_opioid, week4.omed.median) == (4, 3, 25)
    assert week4.omed_change.median == 0  # -30, 0, 0
    assert (week4.qol.median, week4.qol_change.median) == (5.5, 3)


def test_follow_up_quality_and_safety(report):
    quality = report.timepoints[1].quality
    assert (quality.invited, quality.delivered, quality.opened, quality.answered) == (5, 4, 4, 4)
    assert (quality.on_time, quality.late, quality.missed) == (3, 1, 1)
    assert dict(quality.channels) == {"web": 2, "sms": 1, "nurse": 1}
    assert (report.procedures, report.patients_opted_out) == (6, 1)
    assert report.safety == {
        ("cement_leakage", 1): 1,
        ("cement_leakage", 2): 1,
        ("infection", 2): 1,
    }
    assert report.safety_rate("cement_leakage") == pytest.approx(1 / 6)


def test_tables_carry_counts_and_suppress_small_cells(report):
    tables = {section.key: section for section in sections(report)}
    assert tables["response"].rows[1] == [
        "week4",
        28,
        Count(5),
        Count(4),
        Stat(80.0, 4),
        Count(0),  # partly answered
    ]
    consensus = tables["pain_response"].rows[0]
    assert consensus[2:] == [
        Count(3),
        Count(1),
        Count(1),
        Count(1),
        Count(0),
        Stat(66.7, 2),
        Count(1),
        Count(1),  # no baseline pain score
        Count(0),
        Count(0),
        Count(0),
        Count(0),
        Count(3),  # from OMED
        Count(0),  # from the change in pain medicine
    ]
    assert tables["pain_response"].columns[-7:-2] == (
        "not evaluable: no baseline pain score",
        "not evaluable: baseline pain below 2",
        "not evaluable: no pain score at the timepoint",
        "not evaluable: OMED missing or needs review",
        "not evaluable: OMED conversion table changed since baseline",
    )
    response_row = tables["response"].rows[1]
    assert [plain(cell, 5) for cell in response_row] == ["week4", 28, 5, "<5", "<5", 0]
    assert [plain(cell) for cell in response_row] == ["week4", 28, 5, 4, 80.0, 0]
    assert plain(Count(0), 5) == 0  # an empty cell reveals nobody
    cement = tables["safety"].rows[0]
    assert cement[0] == "Cement leakage" and [plain(c) for c in cement[1:]] == [
        1,
        1,
        0,
        0,
        0,
        2,
        1,
        16.7,
    ]


def test_cohort_plots_hold_the_medians_shares_and_rates(report):
    import plotly.graph_objects as go

    from pro_app.audit.figures import cohort_figures

    figures = cohort_figures(report)
    upper, band, middle = figures["pain"]["data"]
    assert middle["x"] == ["baseline (day 0)<br>n=5", "week4 (day 28)<br>n=4"]
    assert (middle["y"], band["y"], upper["y"]) == ([5, 4.5], [4, 3], [6, 5.5])
    share, omed = figures["opioids"]["data"]
    assert (share["y"], omed["y"]) == ([80.0, 75.0], [15, 25])
    assert figures["response"]["data"][0]["y"] == [83.3, 80.0]
    assert figures["response"]["data"][0]["x"][1] == "week4 (day 28)<br>n=5"  # n due
    for figure in figures.values():
        go.Figure(figure)  # valid plotly, no template
        assert "template" not in figure["layout"]
        assert figure["layout"]["xaxis"]["automargin"] and figure["layout"]["yaxis"]["dtick"]


def test_cohort_plots_leave_out_points_from_too_few_patients(report):
    from pro_app.audit.figures import cohort_figures

    figures = cohort_figures(report, min_count=5)
    upper, band, middle = figures["pain"]["data"]
    assert middle["x"] == ["baseline (day 0)<br>n=5", "week4 (day 28)<br>n=4 (too few)"]
    assert (middle["y"], band["y"], upper["y"]) == ([5, None], [4, None], [6, None])
    share, omed = figures["opioids"]["data"]
    assert share["y"] == [80.0, None]  # 5 answered at baseline, 4 at week 4
    assert omed["y"] == [None, None]  # the OMED has its own n: 4 and 4
    assert figures["response"]["data"][0]["y"] == [83.3, 80.0]  # 6 and 5 due


@pytest.mark.parametrize(
    ("highest", "step", "top"),
    [
        (85.9, 20, 100),
        (68.7, 20, 80),
        (12, 2.5, 12.5),
        (25, 5, 30),  # room above a point on the top tick
        (3.2, 1, 4),
        (240, 50, 250),
        (None, 2, 10),
    ],
)
def test_the_omed_axis_has_round_ticks(highest, step, top):
    from pro_app.audit.figures import nice_axis

    assert nice_axis(highest) == (step, top)


UK, US = (
    {"omed_table": "opioids_aware", "omed_table_version": "2020"},
    {
        "omed_table": "cdc_2022",
        "omed_table_version": "2022",
    },
)
IMPLAUSIBLE = {"omed_needs_review": True, "omed_implausible": True, "any_opioid": True}
BOUNDARY_COHORT = [
    # baseline pain 1 -> 0: formerly "complete", now not evaluable
    patient(
        11,
        facts("baseline", "completed", 1, 1, 10, **UK),
        facts("week4", "completed", 0, 0, 10, **UK),
    ),
    # co-codamol 8 mg, 4 -> 5 tablets: +25% exactly with pain stable
    patient(
        12,
        facts("baseline", "completed", 6, 6, 3.2, **UK),
        facts("week4", "completed", 6, 6, 4.0, **UK),
    ),
    # 28 -> 21 tablets: -25% exactly with pain stable
    patient(
        13,
        facts("baseline", "completed", 6, 6, 22.4, **UK),
        facts("week4", "completed", 6, 6, 16.8, **UK),
    ),
    # the site changed its table between the timepoints
    patient(
        14,
        facts("baseline", "completed", 6, 6, 30, **UK),
        facts("week4", "completed", 6, 6, 45, **US),
    ),
    # 10,000 mg x 48 at baseline: kept, flagged, left out
    patient(
        15,
        facts("baseline", "completed", 6, 6, None, **UK, **IMPLAUSIBLE),
        facts("week4", "completed", 6, 6, 20, **UK),
    ),
]


def test_boundaries_eligibility_plausibility_and_tables_in_the_audit():
    accumulator = OutcomeAccumulator(NOW)
    for timeline in BOUNDARY_COHORT:
        accumulator.add(timeline)
    report = accumulator.report()
    baseline, week4 = report.timepoints
    assert dict(week4.response) == {"progression": 1, "partial": 1}
    assert dict(week4.not_evaluable) == {
        NotEvaluable.LOW_BASELINE_PAIN: 1,
        NotEvaluable.TABLE_CHANGED: 1,
        NotEvaluable.NO_OMED: 1,
    }
    assert week4.response_not_evaluable == 3
    assert (baseline.opioid_answered, baseline.omed_needs_review, baseline.omed_implausible) == (
        5,
        1,
        1,
    )
    assert baseline.omed.n == 4  # 10, 3.2, 22.4, 30: the implausible answer left out
    assert (week4.omed_change.n, week4.omed_table_changed) == (3, 1)
    assert sorted([week4.omed_change.median, week4.omed_change.mean]) == [
        pytest.approx(-1.6),
        0,
    ]  # 0, +0.8, -5.6 exactly
    assert report.omed_tables == {("opioids_aware", "2020"): 9, ("cdc_2022", "2022"): 1}
    opioids = {section.key: section for section in sections(report)}["opioids"]
    row = dict(zip(opioids.columns, opioids.rows[1], strict=True))
    assert row["OMED conversion tables"] == "cdc_2022 2022; opioids_aware 2020"
    assert row["OMED conversion table changed since baseline (left out of change)"] == Count(1)
    first = dict(zip(opioids.columns, opioids.rows[0], strict=True))
    assert first["OMED above plausibility limit (of those needing review)"] == Count(1)
