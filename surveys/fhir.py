"""FHIR R4 ``Questionnaire`` and ``QuestionnaireResponse`` for instruments and answers.

Resources are plain dicts checked against ``fhir.resources``' R4B models (R4B is the R4
technical correction and the closest R4 model that library ships for pydantic 2; the
Questionnaire resources are unchanged between R4 and R4B). Per-answer scores travel as
the ``itemWeight`` extension on each answer option's coding.
"""

from datetime import datetime
from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from .medications import MedicationEntry
from .model import Instrument, Item, ItemType

ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
DEFAULT_BASE = "urn:pro-app:questionnaire"
MEDICATION_FIELDS = (
    ("strength", "decimal", "Strength (mg per dose, or micrograms/hour for a patch)"),
    ("unit", "string", "Unit"),
    ("route", "string", "Route"),
    ("doses", "decimal", "Doses in the last 24 hours"),
    ("pattern", "string", "Regular or as needed"),
    ("name", "string", "Name (other medicine)"),
)
FHIR_TYPES = {
    ItemType.SCALE: "integer",
    ItemType.NUMBER: "decimal",
    ItemType.YES_NO: "boolean",
    ItemType.SINGLE_CHOICE: "choice",
    ItemType.MULTIPLE_CHOICE: "choice",
    ItemType.FREE_TEXT: "text",
    ItemType.MEDICATION_LIST: "group",
}


def canonical_url(instrument: Instrument, base: str = DEFAULT_BASE) -> str:
    return f"{base}:{instrument.id}"


def _system(instrument: Instrument, item: Item) -> str:
    return f"{DEFAULT_BASE}:{instrument.id}:{item.id}"


def _coding(instrument: Instrument, item: Item, code: str) -> dict:
    option = item.option(code)
    coding: dict[str, Any] = {"system": _system(instrument, item), "code": code}
    if option is not None:
        coding["display"] = option.text
        if option.score is not None:
            coding["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": option.score}]
    return coding


def _enable_when(item: Item, instrument: Instrument) -> list[dict]:
    condition = item.enable_when
    source = instrument.item(condition.item)
    values = condition.in_ if condition.in_ is not None else [condition.equals]
    rules = []
    for value in values:
        rule: dict[str, Any] = {"question": condition.item, "operator": "="}
        if source.type == ItemType.YES_NO:
            rule["answerBoolean"] = bool(value)
        elif source.type in (ItemType.SCALE,):
            rule["answerInteger"] = int(value)
        else:
            rule["answerCoding"] = _coding(instrument, source, str(value))
        rules.append(rule)
    return rules


def _questionnaire_item(instrument: Instrument, item: Item) -> dict:
    entry: dict[str, Any] = {
        "linkId": item.id,
        "text": item.text,
        "type": FHIR_TYPES[item.type],
        "required": item.required,
    }
    if item.code:
        entry["code"] = [item.code.model_dump(exclude_none=True)]
    if item.type == ItemType.SCALE:
        entry["extension"] = [
            {"url": MIN_VALUE, "valueInteger": int(item.min)},
            {"url": MAX_VALUE, "valueInteger": int(item.max)},
        ]
    if item.type == ItemType.NUMBER:
        entry["extension"] = [
            {"url": MIN_VALUE, "valueDecimal": item.min},
            {"url": MAX_VALUE, "valueDecimal": item.max},
            {"url": UNIT, "valueCoding": {"display": item.unit}},
        ]
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE):
        entry["answerOption"] = [
            {"valueCoding": _coding(instrument, item, option.code)} for option in item.options
        ]
        entry["repeats"] = item.type == ItemType.MULTIPLE_CHOICE
    if item.type == ItemType.MEDICATION_LIST:
        entry["repeats"] = True
        entry["item"] = [
            {
                "linkId": f"{item.id}.drug",
                "text": "Medicine",
                "type": "choice",
                "required": True,
                "answerOption": [
                    {"valueCoding": _coding(instrument, item, option.code)}
                    for option in item.options
                ],
            },
            *(
                {"linkId": f"{item.id}.{name}", "text": text, "type": kind}
                for name, kind, text in MEDICATION_FIELDS
            ),
        ]
    if item.enable_when:
        entry["enableWhen"] = _enable_when(item, instrument)
        entry["enableBehavior"] = "any"
    return entry


def to_questionnaire(instrument: Instrument, *, base: str = DEFAULT_BASE) -> dict:
    """The instrument as a FHIR R4 Questionnaire (a validated dict)."""
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": instrument.id.replace("_", "-"),
        "url": canonical_url(instrument, base),
        "version": instrument.version,
        "name": "".join(part.capitalize() for part in instrument.id.split("_")),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": f"{instrument.source}. {instrument.licence}",
        "item": [_questionnaire_item(instrument, item) for item in instrument.items],
    }
    if instrument.code:
        resource["code"] = [instrument.code.model_dump(exclude_none=True)]
    Questionnaire.model_validate(resource)
    return resource


def _answer_values(instrument: Instrument, item: Item, value: Any) -> list[dict]:
    match item.type:
        case ItemType.SCALE:
            return [{"valueInteger": int(value)}]
        case ItemType.NUMBER:
            return [{"valueDecimal": float(value)}]
        case ItemType.YES_NO:
            return [{"valueBoolean": bool(value)}]
        case ItemType.SINGLE_CHOICE:
            return [{"valueCoding": _coding(instrument, item, value)}]
        case ItemType.MULTIPLE_CHOICE:
            return [{"valueCoding": _coding(instrument, item, code)} for code in value]
        case ItemType.FREE_TEXT:
            return [{"valueString": str(value)}]
    return []


FREE_TEXT_MEDICATION_FIELDS = ("name",)


def _medication_items(
    instrument: Instrument, item: Item, entries: list, include_free_text: bool = True
) -> list[dict]:
    groups = []
    for raw in entries:
        entry = MedicationEntry.model_validate(raw).model_dump(exclude_none=True)
        children = [
            {
                "linkId": f"{item.id}.drug",
                "answer": [{"valueCoding": _coding(instrument, item, entry["drug"])}],
            }
        ]
        for name, kind, _text in MEDICATION_FIELDS:
            if name in FREE_TEXT_MEDICATION_FIELDS and not include_free_text:
                continue
            if name in entry:
                key = "valueDecimal" if kind == "decimal" else "valueString"
                value = float(entry[name]) if kind == "decimal" else str(entry[name])
                children.append({"linkId": f"{item.id}.{name}", "answer": [{key: value}]})
        groups.append({"linkId": item.id, "item": children})
    return groups


def to_questionnaire_response(
    instrument: Instrument,
    answers: dict,
    *,
    authored: datetime | None,
    status: str = "completed",
    subject_reference: str | None = None,
    base: str = DEFAULT_BASE,
    include_free_text: bool = True,
    extra: dict[str, Any] | None = None,
    validate: bool = True,
) -> dict:
    """A set of answers as a FHIR R4 QuestionnaireResponse (a validated dict).

    ``authored`` None leaves the date out (de-identified exports); ``extra`` adds
    elements such as ``subject`` or ``extension`` before validation. ``validate=False``
    skips the full model validation (bulk exports check structure and validate a sample;
    see ``surveys.fhir_structure``).
    """
    items: list[dict] = []
    for item in instrument.items:
        if item.id not in answers or answers[item.id] in (None, ""):
            continue
        if item.type == ItemType.FREE_TEXT and not include_free_text:
            continue
        if item.type == ItemType.MEDICATION_LIST:
            items.extend(_medication_items(instrument, item, answers[item.id], include_free_text))
            continue
        items.append(
            {
                "linkId": item.id,
                "text": item.text,
                "answer": _answer_values(instrument, item, answers[item.id]),
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{canonical_url(instrument, base)}|{instrument.version}",
        "status": status,
        "item": items,
    }
    if authored is not None:
        resource["authored"] = authored.isoformat()
    if subject_reference:
        resource["subject"] = {"reference": subject_reference}
    resource.update(extra or {})
    if validate:
        QuestionnaireResponse.model_validate(resource)
    return resource
