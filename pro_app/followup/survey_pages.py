"""The patient's survey as pages: which page comes next, and reading a submitted page.

No Flask here: the web view passes the submitted form as a mapping of lists. Whatever a
patient typed can be shown back to them (``display_values``, ``medicine_rows``), so an
error never empties a field.
"""

from dataclasses import dataclass
from typing import Any

from surveys import (
    AnswerError,
    Instrument,
    Item,
    ItemType,
    get_instrument,
    is_enabled,
    load_protocol,
)
from surveys.burden import asked_items
from surveys.medications import MAX_DOSES, MAX_NAME, MAX_STRENGTH, PATCHES
from surveys.model import Checklist

MEDICATION_ROWS = 6  # rows on the nurse's phone-entry form
MAX_MEDICINES = 12
MEDICINE_FIELDS = ("drug", "name", "amount", "unit", "per_ml", "doses", "pattern")
CHECKLIST_FIELD = "checklist"
CHECKLIST_NONE = "none"


@dataclass(frozen=True)
class SurveyPage:
    number: int  # 1-based
    instrument: Instrument
    items: tuple[Item, ...]
    first_of_instrument: bool
    instrument_page: int = 1

    @property
    def heading(self) -> str:
        return self.instrument.heading

    @property
    def checklist(self) -> Checklist | None:
        """The "tick any that apply" form of this page, if it has one."""
        checklist = self.instrument.checklist
        return (
            checklist if checklist is not None and checklist.page == self.instrument_page else None
        )


def survey_pages(instrument_ids: list[str], *, baseline: bool = False) -> list[SurveyPage]:
    """Every page of an instance's questionnaires, in order (baseline skips follow-up items)."""
    pages: list[SurveyPage] = []
    for instrument_id in instrument_ids:
        instrument = get_instrument(instrument_id)
        asked = asked_items(instrument, baseline=baseline)
        for index, number in enumerate(sorted({item.page for item in asked})):
            items = tuple(item for item in asked if item.page == number)
            pages.append(SurveyPage(len(pages) + 1, instrument, items, index == 0, number))
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


# -- medicines, one row each -------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def medicine_rows(item: Item, form: dict[str, list[str]]) -> list[dict[str, str]]:
    """The medicine rows as typed, blank ones included (the page shows them again)."""
    indexes = set()
    for name in form:
        head, _, rest = name.partition("-")
        number = rest.split("-", 1)[0]
        if head == item.id and number.isdecimal() and int(number) < MAX_MEDICINES:
            indexes.add(int(number))
    count = max(indexes, default=-1) + 1
    rows = [{f: _first(form, f"{item.id}-{n}-{f}") for f in MEDICINE_FIELDS} for n in range(count)]
    return rows


def rows_from_answer(entries: list[dict] | None) -> list[dict[str, str]]:
    """Saved medicines as form rows."""
    rows = []
    for entry in entries or []:
        rows.append(
            {
                "drug": entry.get("drug", ""),
                "name": entry.get("name", ""),
                "amount": f"{entry['strength']:g}" if entry.get("strength") is not None else "",
                "unit": entry.get("unit", "mg"),
                "per_ml": "",
                "doses": f"{entry['doses']:g}" if entry.get("doses") is not None else "",
                "pattern": entry.get("pattern", ""),
            }
        )
    return rows


def blank_row(row: dict[str, str]) -> bool:
    """Nothing typed (a unit chosen alone does not count)."""
    return not any(value for field, value in row.items() if field != "unit")


def _medicine(
    item: Item, field_name, number: int, row: dict[str, str]
) -> tuple[dict | None, dict[str, str]]:
    """One row as a stored entry, or a message per field to fix."""
    label = f"Medicine {number}"
    errors: dict[str, str] = {}
    drug = row["drug"]
    if not drug or item.option(drug) is None:
        errors[field_name("drug")] = f"{label}: choose which medicine it is."
    if drug == "other" and not row["name"]:
        errors[field_name("name")] = f"{label}: write the name of the medicine."
    elif len(row["name"] or "") > MAX_NAME:
        errors[field_name("name")] = f"{label}: write the name in {MAX_NAME} characters at most."
    amount = _number(row["amount"])
    patch = drug in PATCHES
    # No unit is assumed but a patch's (it has only one): 10 taken as mg when it was 10 ml
    # of a liquid would halve or multiply the dose the audit counts.
    unit = row["unit"] or ("mcg/h" if patch else "")
    if amount is None or amount <= 0:
        errors[field_name("amount")] = (
            f"{label}: enter how much is in each dose, as a number (for example 10)."
        )
    elif unit not in ("mg", "ml", "mcg/h"):
        errors[field_name("unit")] = (
            f"{label}: choose the unit of each dose: mg, ml (a liquid) or micrograms an hour "
            "(a patch)."
        )
    elif patch and unit != "mcg/h":
        errors[field_name("unit")] = f"{label}: a patch's strength is in micrograms an hour."
    elif unit == "mcg/h" and drug and not patch:
        errors[field_name("unit")] = f"{label}: micrograms an hour is for patches; choose mg or ml."
    per_ml = _number(row["per_ml"])
    if unit == "ml" and (per_ml is None or per_ml <= 0):
        errors[field_name("per_ml")] = (
            f"{label}: enter how many mg are in each ml (the bottle's label says), "
            "or ask your nurse."
        )
    strength = amount * per_ml if unit == "ml" and amount and per_ml else amount
    if strength is not None and strength > MAX_STRENGTH and field_name("amount") not in errors:
        errors[field_name("amount")] = (
            f"{label}: that is more than {MAX_STRENGTH:,} in one dose: check how much is in "
            "each dose" + (" and how many mg are in each ml." if unit == "ml" else ".")
        )
    doses = _number(row["doses"]) if row["doses"] else (1.0 if patch else None)
    if doses is None or doses < 0:
        errors[field_name("doses")] = (
            f"{label}: enter how many doses you took in the last 24 hours."
        )
    elif doses > MAX_DOSES:
        errors[field_name("doses")] = (
            f"{label}: enter how many doses you took in the last 24 hours ({MAX_DOSES} at most)."
        )
    pattern = row["pattern"] or ("regular" if patch else "")
    if pattern not in ("regular", "as_needed"):
        errors[field_name("pattern")] = (
            f"{label}: say if you take it regularly or only when needed."
        )
    if errors:
        return None, errors
    entry: dict[str, Any] = {
        "drug": drug,
        "strength": round(amount * per_ml, 4) if unit == "ml" else amount,
        "unit": "mcg/h" if unit == "mcg/h" else "mg",
        "doses": doses,
        "pattern": pattern,
    }
    if patch:
        entry["route"] = "transdermal"
    if row["name"]:
        entry["name"] = row["name"]
    return entry, {}


def read_medicines(item: Item, rows: list[dict[str, str]]) -> tuple[list[dict], dict[str, str]]:
    """Rows filled in, as entries; a partly filled row is an error, never "none"."""
    entries: list[dict] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(rows):
        if blank_row(row):
            continue
        number = index + 1  # as the page heads the row, blank rows before it counted

        def field_name(field: str, index: int = index) -> str:
            return f"{item.id}-{index}-{field}"

        entry, problems = _medicine(item, field_name, number, row)
        errors.update(problems)
        if entry is not None:
            entries.append(entry)
    return entries, errors


# -- reading a page ----------------------------------------------------------------------


def _raw_value(item: Item, form: dict[str, list[str]]) -> Any:
    if item.type == ItemType.MULTIPLE_CHOICE:
        return [value for value in form.get(item.id, []) if value]
    return _first(form, item.id)


def _read_checklist(page: SurveyPage, form: dict[str, list[str]]) -> tuple[dict, dict[str, str]]:
    ticked = {value for value in form.get(CHECKLIST_FIELD, []) if value}
    codes = {item.id for item in page.items}
    if not ticked & (codes | {CHECKLIST_NONE}):
        checklist = page.checklist
        return {}, {CHECKLIST_FIELD: f"Tick the problems you have, or “{checklist.none_text}”."}
    if CHECKLIST_NONE in ticked and ticked & codes:
        return {}, {CHECKLIST_FIELD: "You ticked a problem and “none”: untick one of them."}
    return {item.id: item.id in ticked for item in page.items}, {}


def _as_checklist(page: SurveyPage, form: dict[str, list[str]]) -> bool:
    """The patient's form sends the list; the nurse's form sends each yes/no question."""
    return page.checklist is not None and not any(item.id in form for item in page.items)


def read_page(
    page: SurveyPage, form: dict[str, list[str]], saved: dict
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers on a submitted page, validated, and a message per field that needs fixing.

    Error keys are item ids, a medicine's field name (``medicines-0-amount``) or
    ``checklist``.
    """
    from surveys import validate_answer

    if _as_checklist(page, form):
        return _read_checklist(page, form)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in visible_items(page, saved):
        if item.type == ItemType.MEDICATION_LIST:
            raw, problems = read_medicines(item, medicine_rows(item, form))
            if problems:
                errors.update(problems)
                continue
        else:
            raw = _raw_value(item, form)
        if raw in ("", [], None):
            continue
        try:
            answers[item.id] = validate_answer(page.instrument, item.id, raw)
        except AnswerError as exc:
            key = f"{item.id}-0-amount" if item.type == ItemType.MEDICATION_LIST else item.id
            errors[key] = str(exc)
    merged = {**saved, **answers}
    for item in visible_items(page, saved):
        if item.id in errors or not item.required or not is_enabled(item, merged):
            continue
        if merged.get(item.id) in (None, "", []):
            errors[item.id] = "Please answer this question."
    if not errors:
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


# -- showing answers back ----------------------------------------------------------------


def display_value(item: Item, value: Any) -> Any:
    """An answer (stored or as typed) as the strings the form's fields compare against."""
    if value is None:
        return None
    if item.type == ItemType.YES_NO:
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)
    if item.type == ItemType.MULTIPLE_CHOICE:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if item.type == ItemType.MEDICATION_LIST:
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def display_values(
    page: SurveyPage, saved: dict, answers: dict | None = None, form: dict | None = None
) -> dict[str, Any]:
    """What each field of a page shows: what was just typed, else what was saved."""
    shown: dict[str, Any] = {}
    for item in page.items:
        if form is not None and item.type != ItemType.MEDICATION_LIST and item.id in form:
            value = answers.get(item.id) if answers and item.id in answers else None
            if value is None:
                value = _raw_value(item, form)
        elif answers and item.id in answers:
            value = answers[item.id]
        else:
            value = saved.get(item.id)
        shown[item.id] = display_value(item, value)
    if form is not None and page.checklist is not None and _as_checklist(page, form):
        ticked = set(form.get(CHECKLIST_FIELD, []))
        shown[CHECKLIST_FIELD] = sorted(ticked)
    elif page.checklist is not None:
        known = [saved.get(item.id) for item in page.items]
        if all(value is not None for value in known):
            yes = [item.id for item in page.items if saved.get(item.id) is True]
            shown[CHECKLIST_FIELD] = yes or [CHECKLIST_NONE]
    return shown


def field_anchor(page: SurveyPage, key: str) -> str:
    """The id of the first input of the field an error is about (the summary links to it)."""
    if key == CHECKLIST_FIELD:
        return f"{CHECKLIST_FIELD}-{page.items[0].id}"
    if key.endswith("-pattern"):
        return f"{key}-regular"
    for item in page.items:
        if item.id != key:
            continue
        match item.type:
            case ItemType.SCALE:
                return f"{key}-{int(item.min)}"
            case ItemType.YES_NO:
                return f"{key}-yes"
            case ItemType.SINGLE_CHOICE | ItemType.MULTIPLE_CHOICE:
                return f"{key}-{item.options[0].code}"
            case ItemType.MEDICATION_LIST:
                return f"{key}-0-drug"
    return key


def error_list(page: SurveyPage, errors: dict[str, str]) -> list[tuple[str, str]]:
    """(anchor, message) for the error summary, in the order the fields appear."""
    order = [CHECKLIST_FIELD]
    for item in page.items:
        order.append(item.id)
        if item.type == ItemType.MEDICATION_LIST:
            order += [f"{item.id}-{n}-{f}" for n in range(MAX_MEDICINES) for f in MEDICINE_FIELDS]
    ranked = sorted(errors, key=lambda key: order.index(key) if key in order else len(order))
    return [(field_anchor(page, key), errors[key]) for key in ranked]


UNIT_WORDS = {"mg": "mg", "mcg/h": "micrograms an hour"}
PATTERN_WORDS = {"regular": "regularly", "as_needed": "only when needed"}


def answer_lines(item: Item, value: Any) -> list[str]:
    """An answer in words, for the "Check your answers" page."""
    if value is None or value == "":
        return ["Not answered"]
    match item.type:
        case ItemType.YES_NO:
            return ["Yes" if value else "No"]
        case ItemType.SCALE:
            anchor = item.anchors.get(int(value))
            return [f"{value} ({anchor})" if anchor else str(value)]
        case ItemType.SINGLE_CHOICE:
            option = item.option(str(value))
            return [option.text if option else str(value)]
        case ItemType.MULTIPLE_CHOICE:
            return [item.option(code).text for code in value if item.option(code)] or ["None"]
        case ItemType.NUMBER:
            return [f"{value:g} {item.unit}"]
        case ItemType.MEDICATION_LIST:
            if not value:
                return ["None"]
            lines = []
            for entry in value:
                option = item.option(entry["drug"])
                name = entry.get("name") or (option.text if option else entry["drug"])
                unit = UNIT_WORDS.get(entry.get("unit", "mg"), entry.get("unit", ""))
                doses = entry.get("doses", 1)
                pattern = PATTERN_WORDS.get(entry.get("pattern", ""), "")
                text = f"{name}: {entry['strength']:g} {unit} in each dose"
                if entry.get("unit") != "mcg/h":
                    text += f", {doses:g} dose{'s' if doses != 1 else ''}"
                lines.append(f"{text}, {pattern}" if pattern else text)
            return lines
    return [str(value)]


@dataclass(frozen=True)
class AnswerRow:
    question: str
    lines: list[str]


def page_answers(page: SurveyPage, saved: dict) -> list[AnswerRow]:
    """Every answer on a page, in words."""
    if page.checklist is not None:
        yes = [i for i in page.items if saved.get(i.id) is True]
        if all(saved.get(i.id) is not None for i in page.items):
            lines = [i.red_flag.reported if i.red_flag else i.text for i in yes]
            lines = [line[:1].upper() + line[1:] for line in lines]
            return [AnswerRow(page.checklist.question, lines or [page.checklist.none_text])]
        return [AnswerRow(page.checklist.question, ["Not answered"])]
    return [
        AnswerRow(item.text, answer_lines(item, saved.get(item.id)))
        for item in visible_items(page, saved)
        if is_enabled(item, saved) or item.enable_when is None
    ]


@dataclass(frozen=True)
class Place:
    """Where a timepoint sits in its protocol: the wording of some pages depends on it."""

    is_baseline: bool
    is_last: bool


def timepoint_place(protocol_id: str, timepoint_id: str) -> Place:
    timepoints = load_protocol(protocol_id).timepoints
    plan = next((tp for tp in timepoints if tp.id == timepoint_id), None)
    return Place(
        is_baseline=bool(plan and plan.is_baseline),
        is_last=bool(timepoints) and timepoints[-1].id == timepoint_id,
    )


def recall_sentence(period: str | None, *, baseline: bool) -> str | None:
    """ "Think about the last 24 hours." from an instrument's recall period."""
    if not period:
        return None
    if period.startswith("since"):
        if baseline:  # nothing has been answered and nothing treated yet
            return "Think about the last 7 days."
        return f"Think about the time {period}."
    if period.startswith(("last", "past")):
        return f"Think about the {period}."
    return f"Think about {period}."
