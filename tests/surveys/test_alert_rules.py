"""Alert rules on worked examples."""

from surveys.alert_rules import PainPoint, opioid_rise, pain_rises, pain_worsening


def points(*worst: int) -> list[PainPoint]:
    return [PainPoint(f"t{n}", value) for n, value in enumerate(worst)]


def test_pain_up_two_from_baseline_at_two_timepoints_in_a_row():
    assert pain_rises(5, points(7, 7)) == [True, True]
    assert pain_worsening(5, points(7, 7))
    assert not pain_worsening(5, points(7))  # one timepoint is not enough
    assert not pain_worsening(5, points(7, 6))  # 6 is up 1 from baseline, down 1 from 7


def test_pain_up_two_from_the_last_answer_counts_too():
    # Baseline 8; after treatment 2, then 4 (+2 on last), then 6 (+2 on last): alert.
    assert pain_rises(8, points(2, 4, 6)) == [False, True, True]
    assert pain_worsening(8, points(2, 4, 6))


def test_falling_or_stable_pain_never_alerts():
    assert not pain_worsening(8, points(5, 3, 3, 2))
    assert not pain_worsening(None, points(3, 4, 5))  # +1 steps, no baseline


def test_only_the_latest_timepoints_matter():
    assert not pain_worsening(4, points(7, 7, 3))


def test_opioid_rise_of_a_quarter():
    assert opioid_rise(60, 75)  # +25%
    assert not opioid_rise(60, 74)
    assert opioid_rise(0, 10)  # any opioid from none
    assert not opioid_rise(0, 0)
    assert not opioid_rise(60, None)  # needs review: not judged
    assert not opioid_rise(None, 90)  # no baseline
