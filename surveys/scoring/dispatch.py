"""Apply an instrument's scoring rules to a set of answers."""

from ..medications import MedicationEntry, conversion_table
from ..model import Instrument, ScoreMethod, ScoreRule
from .omed import omed
from .rules import count_flagged, item_value, mean_score, option_score, sum_score

DEFAULT_TABLE = "opioids_aware"


def score_rule(
    instrument: Instrument, rule: ScoreRule, answers: dict, *, omed_table: str = DEFAULT_TABLE
):
    """The value of one rule (a number, None when unanswered, or a dict for OMED)."""
    match rule.method:
        case ScoreMethod.ITEM:
            return item_value(instrument, rule.items, answers)
        case ScoreMethod.OPTION_SCORE:
            return option_score(instrument, rule.items, answers)
        case ScoreMethod.MEAN:
            return mean_score(instrument, rule.items, answers, rule.min_answered)
        case ScoreMethod.SUM:
            return sum_score(instrument, rule.items, answers, rule.min_answered)
        case ScoreMethod.COUNT_FLAGGED:
            return count_flagged(instrument, rule.items, answers)
        case ScoreMethod.OMED:
            raw = answers.get(rule.items[0])
            if raw is None:
                return None
            entries = [MedicationEntry.model_validate(entry) for entry in raw]
            return omed(entries, conversion_table(omed_table)).as_dict()
    raise ValueError(f"unknown scoring method {rule.method!r}")


def score(instrument: Instrument, answers: dict, *, omed_table: str = DEFAULT_TABLE) -> dict:
    """Every score an instrument defines, keyed by rule id (JSON-ready)."""
    return {
        rule.id: score_rule(instrument, rule, answers, omed_table=omed_table)
        for rule in instrument.scoring
    }
