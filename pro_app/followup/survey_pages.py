"""The patient's survey as pages: which page comes next, and reading a submitted page.

No Flask here: the web view passes the submitted form as a mapping of lists.
"""

from dataclasses import dataclass
from typing import Any

from surveys import AnswerError, Instrument, Item, ItemType, get_instrument, is_enabled

MEDICATION_ROWS = 6


@dataclass(frozen=True)
class SurveyPage:
    number: int  # 1-based
    instrument: Instrument
    items: tuple[Item, ...]
    first_of_instrument: bool


def survey_pages(instrument_ids: list[str]) -> list[SurveyPage]:
    """Every page of an instance's questionnaires, in order."""
    pages: list[SurveyPage] = []
    for instrument_id in instrument_ids:
        instrument = get_instrument(instrument_id)
        for index, items in enumerate(instrument.pages):
            pages.append(SurveyPage(len(pages) + 1, instrument, tuple(items), index == 0))
    return pages


def visible_items(page: SurveyPage, saved: dict) -> list[Item]:
    """Items asked on a page: enabled by saved answers, or depending on this same page."""
    on_page = {item.id for item in page.items}
    return [
        item
        for item in page.items
        if item.enable_when is None or item.enable_when.item in on_page or is_enabled(item, saved)
    ]


def _first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _medications(item: Item, form: dict[str, list[str]]) -> tuple[list[dict], str | None]:
    """Rows of the medicines table; empty rows are ignored."""
    rows = []
    for row in range(MEDICATION_ROWS):
        prefix = f"{item.id}-{row}-"
        drug = _first(form, prefix + "drug")
        if not drug:
            continue
        entry: dict[str, Any] = {
            "drug": drug,
            "strength": _first(form, prefix + "strength") or None,
            "unit": _first(form, prefix + "unit") or "mg",
            "doses": _first(form, prefix + "doses") or "1",
            "pattern": _first(form, prefix + "pattern") or "regular",
        }
        if entry["unit"] == "mcg/h":
            entry["route"] = "transdermal"
        name = _first(form, prefix + "name")
        if name:
            entry["name"] = name
        if entry["strength"] is None:
            return [], f"Medicine {len(rows) + 1}: please give the strength from the label."
        rows.append(entry)
    return rows, None


def _raw_value(item: Item, form: dict[str, list[str]]) -> Any:
    if item.type == ItemType.MULTIPLE_CHOICE:
        return [value for value in form.get(item.id, []) if value]
    return _first(form, item.id)


def read_page(
    page: SurveyPage, form: dict[str, list[str]], saved: dict
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers on a submitted page, validated, and a message per item that needs fixing."""
    from surveys import validate_answer

    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in visible_items(page, saved):
        if item.type == ItemType.MEDICATION_LIST:
            raw, problem = _medications(item, form)
            if problem:
                errors[item.id] = problem
                continue
        else:
            raw = _raw_value(item, form)
        if raw in ("", [], None):
            continue
        try:
            answers[item.id] = validate_answer(page.instrument, item.id, raw)
        except AnswerError as exc:
            errors[item.id] = str(exc)
    merged = {**saved, **answers}
    for item in visible_items(page, saved):
        if item.id in errors or not item.required or not is_enabled(item, merged):
            continue
        if merged.get(item.id) in (None, "", []):
            errors[item.id] = "Please answer this question."
    if any(item.type == ItemType.MEDICATION_LIST for item in page.items) and not errors:
        for item in page.items:
            if item.type == ItemType.MEDICATION_LIST:
                answers.setdefault(item.id, [])  # "none taken" is an answer too
    return answers, errors


def first_unanswered(pages: list[SurveyPage], saved: dict[str, dict]) -> int:
    """The index of the first page with a required question still open (or the review)."""
    for index, page in enumerate(pages):
        answers = saved.get(page.instrument.id, {})
        for item in visible_items(page, answers):
            if item.required and is_enabled(item, answers) and answers.get(item.id) is None:
                return index
    return len(pages)
