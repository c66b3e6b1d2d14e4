"""Checking one answer against its item, in words a patient understands."""

from typing import Any

from pydantic import ValidationError

from .medications import MedicationEntry
from .model import Instrument, Item, ItemType

TRUE_WORDS = {"yes", "y", "true", "1", "on"}
FALSE_WORDS = {"no", "n", "false", "0", "off"}
MAX_TEXT = 2000
MAX_DIGITS = 12  # a longer number is on no scale (and Python reads at most 4,300 digits)


class AnswerError(ValueError):
    """An answer that cannot be stored; the message says what to do instead."""


def _whole_number(raw: Any, item: Item) -> int:
    low, high = int(item.min), int(item.max)
    message = f"Please choose a number from {low} to {high}."
    if isinstance(raw, bool):
        raise AnswerError(message)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw.lstrip("-").isdecimal() or len(raw) > MAX_DIGITS:
            raise AnswerError(message)
        raw = int(raw)
    if not isinstance(raw, int) or not low <= raw <= high:
        raise AnswerError(message)
    return raw


def _number(raw: Any, item: Item) -> float:
    message = f"Please give a number from {item.min:g} to {item.max:g} {item.unit}."
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise AnswerError(message) from None
    if not item.min <= value <= item.max:
        raise AnswerError(message)
    return value


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise AnswerError("Please answer yes or no.")


def _choice(raw: Any, item: Item) -> str:
    code = str(raw).strip()
    if item.option(code) is None:
        raise AnswerError("Please choose one of the answers.")
    return code


def _choices(raw: Any, item: Item) -> list[str]:
    codes = raw if isinstance(raw, list) else [c for c in str(raw).split(",") if c.strip()]
    return [_choice(code, item) for code in codes]


def _medications(raw: Any, item: Item) -> list[dict]:
    if not isinstance(raw, list):
        raise AnswerError("Please add each medicine with its strength and doses.")
    allowed = {option.code for option in item.options}
    entries = []
    for number, entry in enumerate(raw, start=1):
        try:
            parsed = MedicationEntry.model_validate(entry)
        except ValidationError as exc:
            field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "entry"
            raise AnswerError(f"Medicine {number}: please check the {field}.") from None
        if parsed.drug not in allowed:
            raise AnswerError(f"Medicine {number}: please choose it from the list.")
        if parsed.drug == "other" and not parsed.name:
            raise AnswerError(f"Medicine {number}: please write the medicine's name.")
        entries.append(parsed.model_dump(exclude_none=True))
    return entries


def validate_answer(instrument: Instrument, item_id: str, raw: Any) -> Any:
    """The stored form of an answer, or AnswerError saying what to fix."""
    try:
        item = instrument.item(item_id)
    except KeyError:
        raise AnswerError(f"There is no question {item_id!r} here.") from None
    match item.type:
        case ItemType.SCALE:
            return _whole_number(raw, item)
        case ItemType.NUMBER:
            return _number(raw, item)
        case ItemType.YES_NO:
            return _yes_no(raw)
        case ItemType.SINGLE_CHOICE:
            return _choice(raw, item)
        case ItemType.MULTIPLE_CHOICE:
            return _choices(raw, item)
        case ItemType.MEDICATION_LIST:
            return _medications(raw, item)
        case ItemType.FREE_TEXT:
            text = str(raw).strip()
            if len(text) > MAX_TEXT:
                raise AnswerError(f"Please keep this to {MAX_TEXT} characters.")
            return text
    raise AnswerError("This question cannot be answered here.")


def is_enabled(item: Item, answers: dict) -> bool:
    """Whether an item is asked, given the answers so far (its enable-when condition)."""
    condition = item.enable_when
    return condition is None or (
        condition.item in answers and condition.matches(answers[condition.item])
    )


def enabled_items(instrument: Instrument, answers: dict) -> list[Item]:
    return [item for item in instrument.items if is_enabled(item, answers)]


def missing_required(instrument: Instrument, answers: dict) -> list[str]:
    """Required, enabled items not yet answered."""
    return [
        item.id
        for item in enabled_items(instrument, answers)
        if item.required and answers.get(item.id) in (None, "", [])
    ]
