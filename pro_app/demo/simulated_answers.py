"""Plausible answers for the demo cohort.

Pain follows the published course after RFA with augmentation (worst pain about 7.5 at
baseline falling to about 3 by one month: Yildizhan 2021, Bagla 2016), opioids taper
with pain, and quality of life rises as pain falls. One patient worsens; one reports a
red flag.
"""

import math
import random

from surveys import get_instrument

from ..models import SurveyInstance


def _clamp(value: float, low: int = 0, high: int = 10) -> int:
    return max(low, min(high, round(value)))


def pain_at(days: int, baseline: float, worsening: bool, rng: random.Random) -> int:
    if days < 0:
        return _clamp(baseline + rng.gauss(0, 0.5))
    relief = 0.35 + 0.65 * math.exp(-days / 10)
    value = baseline * relief
    if worsening and days > 7:  # relief fades, then pain exceeds where it started
        value += min((days - 7) / 5, 8)
    return _clamp(value + rng.gauss(0, 0.8))


def medicines_for(worst: int, rng: random.Random) -> list[dict]:
    """A regimen that follows pain: strong opioids when pain is high, fewer as it eases."""
    regular, as_needed = {"pattern": "regular"}, {"pattern": "as_needed"}  # as the form asks
    regimen = [{"drug": "paracetamol", "strength": 1000, "doses": 4, **regular}]
    if worst >= 6:
        strength = 20 if worst >= 8 else 10
        regimen.append({"drug": "oxycodone", "strength": strength, "doses": 2, **regular})
        extra = rng.randint(1, 3)
        regimen.append({"drug": "morphine", "strength": 10, "doses": extra, **as_needed})
    elif worst >= 4:
        regimen.append({"drug": "codeine", "strength": 30, "doses": rng.randint(2, 4), **regular})
    return regimen


def rand36_answers(health: float, rng: random.Random) -> dict:
    """Pick each RAND-36 answer whose recoded score is nearest a noisy health level."""
    answers = {}
    for item in get_instrument("rand36").items:
        target = 100 * min(max(health + rng.gauss(0, 0.12), 0), 1)
        best = min(item.options, key=lambda option: abs((option.score or 0) - target))
        answers[item.id] = best.code
    return answers


def answers_for(instance: SurveyInstance, days: int, person, rng: random.Random) -> dict:
    """Answers to every instrument of an instance, for one demo patient."""
    baseline = 7.5 + (person.index % 5) * 0.3
    worst = pain_at(days, baseline, person.worsening, rng)
    average = _clamp(worst - rng.choice((1, 1, 2)))
    answers: dict[str, dict] = {
        "pain_nrs": {
            "worst": worst,
            "average": average,
            "now": _clamp(average + rng.choice((-1, 0, 0, 1))),
        },
        "qol_overall": {"overall": _clamp(10 - worst * 0.7 + rng.gauss(0, 0.8))},
        "red_flags": {
            item.id: person.red_flag_at == instance.timepoint and item.id in ("weakness", "walking")
            for item in get_instrument("red_flags").items
        },
    }
    medicines = medicines_for(worst, rng)
    change = "less" if worst < baseline - 2 else "same" if worst <= baseline else "more"
    answers["analgesic_use"] = {"medicines": medicines, "medicine_change": change}
    if "global_change" in instance.instruments:
        drop = baseline - worst
        code = (
            "very_much_better"
            if drop >= 5
            else "much_better"
            if drop >= 3
            else "a_little_better"
            if drop >= 1
            else "no_change"
            if drop > -1
            else "a_little_worse"
            if drop > -3
            else "much_worse"
        )
        answers["global_change"] = {"change": code}
    if "rand36" in instance.instruments:
        answers["rand36"] = rand36_answers(1 - worst / 12, rng)
    return {key: value for key, value in answers.items() if key in instance.instruments}
