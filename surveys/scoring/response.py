"""Pain response by the international consensus (Chow et al. 2012) and important change.

Definitions, each against baseline (worst pain 0-10 at the treated site; OMED mg/day):

- complete: pain 0 with no increase in OMED;
- partial: pain down by 2 or more with no increase in OMED, or OMED down by 25% or
  more with no increase in pain;
- progression: pain up by 2 or more with OMED stable, or OMED up by 25% or more with pain
  stable or up by 1 (a change of -1 to +1 point);
- indeterminate: anything else.

Only patients whose baseline worst pain is at least the minimum in
``surveys/data/pain_response.yaml`` (2) are evaluated; the others are "not evaluable:
baseline pain below 2". Thresholds are compared exactly (the stored figures read as
their decimals, see ``exact.py``): 3.2 -> 4.0 mg/day is a rise of exactly 25%.

Interpretations, where the paper leaves room (listed in surveys/data/REFERENCES.md and
in the audit's definitions): "OMED stable" in the pain clause means OMED not reduced by
25% or more (so pain and opioids both up is progression, not indeterminate); "pain
stable" in the OMED clause means a change of -1 to +1 point; from a baseline OMED of 0
any rise counts as a rise of 25% or more, and a fall is impossible; OMEDs from different
conversion tables are not compared. A missing pain score or an OMED that is missing or
needs review makes the timepoint not evaluable, never a category.
"""

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

from .exact import Number, compare_change, fell_by, ratio, rose_by

DATA = Path(__file__).resolve().parent.parent / "data" / "pain_response.yaml"


class PainResponse(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    PROGRESSION = "progression"
    INDETERMINATE = "indeterminate"


class NotEvaluable(StrEnum):
    """Why a follow-up timepoint has no consensus category."""

    NO_BASELINE_PAIN = "no_baseline_pain"
    LOW_BASELINE_PAIN = "low_baseline_pain"
    NO_PAIN = "no_pain"
    NO_OMED = "no_omed"
    TABLE_CHANGED = "omed_table_changed"

    def describe(self) -> str:
        """The reason in words, as the audit shows it."""
        return {
            NotEvaluable.NO_BASELINE_PAIN: "no baseline pain score",
            NotEvaluable.LOW_BASELINE_PAIN: (f"baseline pain below {minimum_baseline_pain():g}"),
            NotEvaluable.NO_PAIN: "no pain score at the timepoint",
            NotEvaluable.NO_OMED: "OMED missing or needs review",
            NotEvaluable.TABLE_CHANGED: "OMED conversion table changed since baseline",
        }[self]


@dataclass(frozen=True)
class ResponseEvaluation:
    """A consensus category, or the reason there is none."""

    category: PainResponse | None
    not_evaluable: NotEvaluable | None = None

    def describe(self) -> str:
        if self.category is not None:
            return self.category.value
        return f"not evaluable: {self.not_evaluable.describe()}"


@lru_cache(maxsize=1)
def thresholds() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def minimum_baseline_pain() -> float:
    """The lowest baseline worst pain at which pain response is evaluated."""
    return thresholds()["minimum_baseline_worst_pain"]


def evaluate_pain_response(
    baseline_worst: Number | None,
    baseline_omed: Number | None,
    worst: Number | None,
    omed: Number | None,
    *,
    same_table: bool = True,
) -> ResponseEvaluation:
    """The consensus category at a follow-up timepoint, or why it cannot be judged.

    ``same_table`` is False when the two OMEDs came from different conversion tables (or
    versions), which are not compared.
    """
    if baseline_worst is None:
        return ResponseEvaluation(None, NotEvaluable.NO_BASELINE_PAIN)
    if compare_change(0, baseline_worst, _limits()[3]) < 0:
        return ResponseEvaluation(None, NotEvaluable.LOW_BASELINE_PAIN)
    if worst is None:
        return ResponseEvaluation(None, NotEvaluable.NO_PAIN)
    if baseline_omed is None or omed is None:
        return ResponseEvaluation(None, NotEvaluable.NO_OMED)
    if not same_table:
        return ResponseEvaluation(None, NotEvaluable.TABLE_CHANGED)
    return ResponseEvaluation(_category(baseline_worst, baseline_omed, worst, omed))


def _limits() -> tuple[float, float, float, float]:
    """Pain points, OMED fraction, stable band and minimum baseline pain."""
    t = thresholds()
    return (
        t["pain_change_points"],
        t["omed_change_fraction"],
        t["pain_stable_band_points"],
        t["minimum_baseline_worst_pain"],
    )


def _category(baseline_worst: Number, baseline_omed: Number, worst: Number, omed: Number):
    points, fraction, band, _ = _limits()
    # signs of (change - threshold), exact: pain down 2 is compare(..., -2) <= 0
    pain_up_2 = compare_change(baseline_worst, worst, points) >= 0
    pain_down_2 = compare_change(baseline_worst, worst, -points) <= 0
    pain_stable = (
        compare_change(baseline_worst, worst, -band) >= 0
        and compare_change(baseline_worst, worst, band) <= 0
    )
    pain_not_up = compare_change(baseline_worst, worst, 0) <= 0
    omed_increased = compare_change(baseline_omed, omed, 0) > 0
    omed_up = rose_by(baseline_omed, omed, fraction)
    omed_down = fell_by(baseline_omed, omed, fraction)
    if ratio(worst)[0] == 0 and not omed_increased:
        return PainResponse.COMPLETE
    if (pain_down_2 and not omed_increased) or (omed_down and pain_not_up):
        return PainResponse.PARTIAL
    if (pain_up_2 and not omed_down) or (omed_up and pain_stable):
        return PainResponse.PROGRESSION
    return PainResponse.INDETERMINATE


def pain_response(
    baseline_worst: Number | None,
    baseline_omed: Number | None,
    worst: Number | None,
    omed: Number | None,
) -> PainResponse | None:
    """The consensus category at a follow-up timepoint, or None if it cannot be judged."""
    return evaluate_pain_response(baseline_worst, baseline_omed, worst, omed).category


def clinically_important_improvement(
    baseline: float | None, value: float | None
) -> dict[str, bool] | None:
    """Whether pain fell by at least 2 points and by at least 30% (IMMPACT, Dworkin 2008)."""
    if baseline is None or value is None:
        return None
    t = thresholds()
    return {
        "points": compare_change(value, baseline, t["important_improvement_points"]) >= 0,
        "percent": fell_by(baseline, value, t["important_improvement_fraction"]),
    }
