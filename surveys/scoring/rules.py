"""Generic scoring rules named in instrument files."""

from statistics import fmean

from ..model import Instrument, ItemType


def _item_score(instrument: Instrument, item_id: str, answers: dict) -> float | None:
    """The numeric value of one answer: a scale's number or the chosen option's score."""
    value = answers.get(item_id)
    if value is None:
        return None
    item = instrument.item(item_id)
    if item.type in (ItemType.SCALE, ItemType.NUMBER):
        return float(value)
    if item.type == ItemType.YES_NO:
        return 1.0 if value else 0.0
    if item.type == ItemType.SINGLE_CHOICE:
        option = item.option(value)
        return option.score if option is not None else None
    return None


def item_value(instrument: Instrument, item_ids: list[str], answers: dict) -> float | None:
    return _item_score(instrument, item_ids[0], answers)


def option_score(instrument: Instrument, item_ids: list[str], answers: dict) -> float | None:
    return _item_score(instrument, item_ids[0], answers)


def _answered(instrument: Instrument, item_ids: list[str], answers: dict) -> list[float]:
    values = (_item_score(instrument, item_id, answers) for item_id in item_ids)
    return [value for value in values if value is not None]


def mean_score(
    instrument: Instrument, item_ids: list[str], answers: dict, min_answered: int = 1
) -> float | None:
    """Mean of the answered items (RAND-36: a scale is the mean of the items answered)."""
    values = _answered(instrument, item_ids, answers)
    return round(fmean(values), 2) if len(values) >= max(min_answered, 1) else None


def sum_score(
    instrument: Instrument, item_ids: list[str], answers: dict, min_answered: int = 1
) -> float | None:
    values = _answered(instrument, item_ids, answers)
    return sum(values) if len(values) >= max(min_answered, 1) else None


def count_flagged(instrument: Instrument, item_ids: list[str], answers: dict) -> int:
    """How many of the items were answered in a way that raises their red flag."""
    count = 0
    for item_id in item_ids:
        item = instrument.item(item_id)
        if item.red_flag and item_id in answers and answers[item_id] in item.red_flag.when:
            count += 1
    return count
