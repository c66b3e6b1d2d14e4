"""Pain response categories (Chow 2012 consensus) and clinically important change."""

import pytest

from surveys import (
    NotEvaluable,
    PainResponse,
    clinically_important_improvement,
    evaluate_pain_response,
    minimum_baseline_pain,
    pain_response,
)
from surveys.scoring.response import DATA

C, P, G, N = (
    PainResponse.COMPLETE,
    PainResponse.PARTIAL,
    PainResponse.PROGRESSION,
    PainResponse.INDETERMINATE,
)


@pytest.mark.parametrize(
    ("baseline", "now", "expected"),
    [
        ((8, 60), (0, 60), C),  # pain 0, OMED unchanged
        ((5, 0), (0, 0), C),
        ((8, 60), (0, 90), N),  # pain 0 but opioids up: not complete, not partial
        ((8, 60), (0, 65), N),
        ((8, 60), (6, 60), P),  # pain down 2, OMED unchanged
        ((8, 60), (6, 50), P),
        ((8, 60), (8, 40), P),  # OMED down 33%, pain unchanged
        ((8, 60), (9, 45), N),  # OMED down 25% but pain up 1
        ((6, 60), (6, 75), G),  # pain stable, OMED up exactly 25%
        ((6, 60), (7, 90), G),  # pain up 1, OMED up 50%
        ((6, 60), (5, 90), G),  # pain down 1 counts as stable
        ((6, 60), (4, 90), N),  # pain down 2 with OMED up: neither
        ((6, 60), (8, 60), G),  # pain up 2, OMED stable
        ((6, 60), (8, 90), G),  # both up: progression (see module docstring)
        ((6, 60), (8, 40), N),  # pain up 2 while OMED fell 33%
        ((6, 60), (7, 70), N),  # OMED up 17%, pain up 1
        ((6, 0), (6, 10), G),  # any rise from no opioids counts as a rise of 25%+
        ((6, 0), (4, 0), P),
    ],
)
def test_consensus_categories(baseline, now, expected):
    assert pain_response(baseline[0], baseline[1], now[0], now[1]) == expected


def test_missing_or_unreviewed_values_give_no_category():
    assert pain_response(None, 60, 3, 60) is None
    assert pain_response(8, 60, 3, None) is None


@pytest.mark.parametrize(
    ("baseline_worst", "reason"),
    [
        (0, "not evaluable: baseline pain below 2"),
        (1, "not evaluable: baseline pain below 2"),
        (1.5, "not evaluable: baseline pain below 2"),
        (None, "not evaluable: no baseline pain score"),
    ],
)
def test_baseline_pain_under_the_minimum_is_not_evaluable(baseline_worst, reason):
    evaluation = evaluate_pain_response(baseline_worst, 30, 0, 30)  # 1 -> 0 was "complete"
    assert evaluation.category is None and evaluation.describe() == reason
    assert evaluate_pain_response(2, 30, 0, 30).category == C  # at the minimum: evaluated


def test_the_minimum_is_a_cited_setting():
    assert minimum_baseline_pain() == 2
    text = DATA.read_text()
    assert "minimum_baseline_worst_pain: 2" in text and "10.1016/j.ijrobp.2011.02.008" in text


def test_other_reasons_for_no_category():
    assert evaluate_pain_response(6, 30, None, 30).not_evaluable == NotEvaluable.NO_PAIN
    assert evaluate_pain_response(6, None, 4, 30).not_evaluable == NotEvaluable.NO_OMED
    changed = evaluate_pain_response(6, 30, 4, 30, same_table=False)
    assert changed.describe() == "not evaluable: OMED conversion table changed since baseline"


def test_clinically_important_improvement():
    assert clinically_important_improvement(8, 6) == {"points": True, "percent": False}
    assert clinically_important_improvement(8, 5) == {"points": True, "percent": True}
    assert clinically_important_improvement(3, 2) == {"points": False, "percent": True}
    assert clinically_important_improvement(0, 0) == {"points": False, "percent": False}
    assert clinically_important_improvement(None, 2) is None
