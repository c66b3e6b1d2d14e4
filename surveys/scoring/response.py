"""Pain response by the international consensus (Chow et al. 2012) and important change.

Definitions, each against baseline (worst pain 0-10 at the treated site; OMED mg/day):

- complete: pain 0 with no increase in OMED;
- partial: pain down by 2 or more with no increase in OMED, or OMED down by 25% or
  more with no increase in pain;
- progression: pain up by 2 or more with OMED stable, or OMED up by 25% or more with pain
  stable or up by 1 (a change of -1 to +1 point);
- indeterminate: anything else.

Interpretations, where the paper leaves room: "OMED stable" in the pain clause means OMED
not reduced by 25% or more (so pain and opioids both up is progression, not
indeterminate); from a baseline OMED of 0 any rise counts as a rise of 25% or more, and
a fall is impossible. A missing pain score or an OMED that needs review gives None
(not evaluable), never a category.
"""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent.parent / "data" / "pain_response.yaml"


class PainResponse(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    PROGRESSION = "progression"
    INDETERMINATE = "indeterminate"


@lru_cache(maxsize=1)
def thresholds() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def _omed_change(baseline: float, value: float) -> float:
    """Relative OMED change; from zero, any rise is infinite and no change is zero."""
    if baseline == 0:
        return float("inf") if value > 0 else 0.0
    return (value - baseline) / baseline


def pain_response(
    baseline_worst: float | None,
    baseline_omed: float | None,
    worst: float | None,
    omed: float | None,
) -> PainResponse | None:
    """The consensus category at a follow-up timepoint, or None if it cannot be judged."""
    if None in (baseline_worst, baseline_omed, worst, omed):
        return None
    t = thresholds()
    points = t["pain_change_points"]
    fraction = t["omed_change_fraction"]
    band = t["pain_stable_band_points"]
    pain_change = worst - baseline_worst
    omed_change = _omed_change(baseline_omed, omed)
    omed_increased = omed > baseline_omed
    if worst == 0 and not omed_increased:
        return PainResponse.COMPLETE
    if (pain_change <= -points and not omed_increased) or (
        omed_change <= -fraction and pain_change <= 0
    ):
        return PainResponse.PARTIAL
    if (pain_change >= points and omed_change > -fraction) or (
        omed_change >= fraction and -band <= pain_change <= band
    ):
        return PainResponse.PROGRESSION
    return PainResponse.INDETERMINATE


def clinically_important_improvement(
    baseline: float | None, value: float | None
) -> dict[str, bool] | None:
    """Whether pain fell by at least 2 points and by at least 30% (IMMPACT, Dworkin 2008)."""
    if baseline is None or value is None:
        return None
    t = thresholds()
    fall = baseline - value
    return {
        "points": fall >= t["important_improvement_points"],
        "percent": baseline > 0 and fall / baseline >= t["important_improvement_fraction"],
    }
