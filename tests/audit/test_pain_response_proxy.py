"""The pain response of patients without a medicines list, from the change in pain
medicine (``pro_app/audit/proxy.py``), worked by hand against the consensus rules."""

import pytest

from pro_app.audit.outcomes import OutcomeAccumulator
from pro_app.audit.proxy import proxy_pain_response
from tests.audit.test_outcomes import NOW, facts, patient


@pytest.mark.parametrize(
    ("baseline_worst", "worst", "change", "expected"),
    [
        (6, 3, "same", "partial"),  # pain down 2 or more, medicine not up
        (6, 0, "same", "complete"),  # no pain, medicine not up
        (6, 0, "none", "complete"),
        (6, 6, "less", "partial"),  # medicine down, pain not up
        (6, 7, "less", "indeterminate"),  # medicine down but pain up
        (6, 9, "same", "progression"),  # pain up 2 or more, medicine stable
        (6, 6, "more", "progression"),  # medicine up, pain stable
        (6, 7, "more", "progression"),  # medicine up, pain up by 1
        (6, 4, "more", "indeterminate"),  # medicine up, pain down 2
        (6, 6, "same", "indeterminate"),
        (6, 6, None, None),  # not answered: not evaluable
        (None, 6, "same", None),  # no baseline pain: not evaluable
        (6, 6, "unknown", None),
    ],
)
def test_the_proxy_maps_each_answer_to_a_consensus_category(
    baseline_worst, worst, change, expected
):
    found = proxy_pain_response(baseline_worst, worst, change)
    assert (found.value if found else None) == expected


def test_the_audit_counts_responses_from_omed_and_from_the_proxy_apart():
    cohort = [
        # by web: full OMED both times (60 -> 30 mg/day, pain 8 -> 4): partial, from OMED
        patient(1, facts("baseline", "completed", 8, 6, 60, 3), facts("week4", "completed", 4)),
        # by text: no OMED, "more" pain medicine, pain stable: progression, from the proxy
        patient(
            2,
            facts("baseline", "completed", 6, 5, medicine_change="same", channel="sms"),
            facts("week4", "completed", 6, 5, medicine_change="more", channel="sms"),
        ),
        # a medicine that needs review stays not evaluable (never proxied)
        patient(
            3,
            facts("baseline", "completed", 6, 5, 10, omed_needs_review=True),
            facts("week4", "completed", 2, 5, medicine_change="same"),
        ),
        # some answers but not complete: partly answered, not answered
        patient(
            4,
            facts("baseline", "completed", 6, 5, 10),
            facts("week4", "in_progress", 5, channel="sms"),
        ),
    ]
    cohort[0].instances[1].omed = 30.0
    accumulator = OutcomeAccumulator(NOW)
    for timeline in cohort:
        accumulator.add(timeline)
    week4 = next(o for o in accumulator.report().timepoints if o.timepoint == "week4")
    assert dict(week4.response) == {"partial": 1, "progression": 1}
    assert week4.response_from_proxy == 1
    assert week4.response_not_evaluable == 1
    assert (week4.answered, week4.partly_answered) == (3, 1)
