"""When worsening after the procedure should alert a nurse: pure rules over scores.

Thresholds are data (``surveys/data/alert_rules.yaml``, with their sources).

- Pain worsening: the worst-pain score is up by 2 or more points from baseline, or from
  the previous answer, at two answered timepoints in a row.
- Opioid rise: oral morphine equivalent mg/day up by 25% or more from baseline; from no
  opioids at baseline, any opioid counts. A dose that needs review is not judged.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .scoring.exact import rose_by

DATA = Path(__file__).resolve().parent / "data" / "alert_rules.yaml"


@lru_cache(maxsize=1)
def thresholds() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class PainPoint:
    timepoint: str
    worst: int


def pain_rises(baseline: int | None, answers: list[PainPoint]) -> list[bool]:
    """For each answered timepoint after baseline, whether worst pain rose by the threshold."""
    points = thresholds()["pain_rise_points"]
    rises = []
    previous = baseline
    for answer in answers:
        from_baseline = baseline is not None and answer.worst - baseline >= points
        from_previous = previous is not None and answer.worst - previous >= points
        rises.append(from_baseline or from_previous)
        previous = answer.worst
    return rises


def pain_worsening(baseline: int | None, answers: list[PainPoint]) -> bool:
    """Whether the latest answers show a rise at the required number of timepoints in a row."""
    needed = thresholds()["pain_rise_timepoints"]
    rises = pain_rises(baseline, answers)
    return len(rises) >= needed and all(rises[-needed:])


def distress_words() -> frozenset[str]:
    """Words of distress or of needing help that a nurse reads the same day when texted."""
    return frozenset(str(word) for word in thresholds()["distress_words"])


def opioid_rise(baseline_omed: float | None, omed: float | None) -> bool:
    """Whether OMED rose by the threshold from baseline (None: cannot be judged)."""
    if baseline_omed is None or omed is None:
        return False
    return rose_by(baseline_omed, omed, thresholds()["opioid_rise_fraction"])  # exact
