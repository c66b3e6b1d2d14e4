"""A cheap structural check of the QuestionnaireResponses this package writes.

Full validation with ``fhir.resources`` costs about a millisecond a resource, most of a
bulk export's time. This check walks the dict instead: the elements a
QuestionnaireResponse may have, the answer value types and their Python types, codings,
extensions and nested items. It catches what a coding mistake would produce (a wrong or
unknown element, a value of the wrong type, a missing linkId); bulk exports run it on
every resource and the full validation on a sample.
"""

import math
import re
from collections.abc import Iterator
from typing import Any

STATUSES = frozenset({"in-progress", "completed", "amended", "entered-in-error", "stopped"})
RESOURCE_KEYS = frozenset(
    {
        "resourceType",
        "id",
        "meta",
        "questionnaire",
        "status",
        "subject",
        "authored",
        "item",
        "extension",
        "identifier",
    }
)
ITEM_KEYS = frozenset({"linkId", "text", "answer", "item", "definition"})
ANSWER_KEYS = frozenset({"item"})
CODING_KEYS = frozenset({"system", "version", "code", "display", "userSelected", "extension"})
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class FhirStructureError(ValueError):
    """A resource whose structure is not a valid QuestionnaireResponse."""


def _number(value: Any) -> bool:
    return value.__class__ in (int, float) and math.isfinite(value)


VALUE_CHECKS = {
    "valueInteger": lambda value: value.__class__ is int,
    "valueDecimal": _number,
    "valueBoolean": lambda value: value.__class__ is bool,
    "valueString": lambda value: value.__class__ is str and value != "",
    "valueCode": lambda value: value.__class__ is str and value.strip() == value != "",
    "valueUri": lambda value: value.__class__ is str and value != "",
    "valueCoding": lambda value: isinstance(value, dict),
    "valueQuantity": lambda value: isinstance(value, dict) and _number(value.get("value")),
}


def check_questionnaire_response(resource: Any) -> None:
    """Raise ``FhirStructureError`` naming the first problems found, if any.

    A resource is first walked by a fast check that only says yes or no; only one it
    refuses is walked again to name the problems."""
    if _fast_response(resource):
        return
    problems = list(_response_problems(resource)) or ["not a valid QuestionnaireResponse"]
    raise FhirStructureError("; ".join(problems[:5]))


# --- the fast check: plain loops, no messages -------------------------------------------


def _fast_response(resource: Any) -> bool:
    if resource.__class__ is not dict or resource.get("resourceType") != "QuestionnaireResponse":
        return False
    if not RESOURCE_KEYS.issuperset(resource) or resource.get("status") not in STATUSES:
        return False
    if "id" in resource and not (resource["id"].__class__ is str and ID.fullmatch(resource["id"])):
        return False
    if not _text(resource.get("questionnaire")):
        return False
    if "authored" in resource and not _text(resource["authored"]):
        return False
    subject = resource.get("subject")
    if subject is not None and not (
        subject.__class__ is dict and ("reference" in subject or "identifier" in subject)
    ):
        return False
    extensions = resource.get("extension")
    if extensions is not None and not _fast_extensions(extensions):
        return False
    items = resource.get("item")
    return items is None or _fast_items(items, required=False)


def _fast_items(items: Any, required: bool) -> bool:
    if items.__class__ is not list or (required and not items):
        return False
    for item in items:
        if item.__class__ is not dict or not ITEM_KEYS.issuperset(item):
            return False
        if not _text(item.get("linkId")):
            return False
        answers, nested = item.get("answer"), item.get("item")
        if answers is not None:
            if nested is not None or answers.__class__ is not list or not answers:
                return False
            for answer in answers:
                if answer.__class__ is not dict:
                    return False
                values = 0
                for key, value in answer.items():
                    if key == "item":
                        if not _fast_items(value, required=True):
                            return False
                        continue
                    if not _fast_value(key, value):
                        return False
                    values += 1
                if values != 1:
                    return False
        if nested is not None and not _fast_items(nested, required=True):
            return False
    return True


def _fast_value(key: str, value: Any) -> bool:
    check = VALUE_CHECKS.get(key)
    if check is None or not check(value):
        return False
    return key != "valueCoding" or _fast_coding(value)


def _fast_coding(coding: dict) -> bool:
    if not CODING_KEYS.issuperset(coding):
        return False
    if not (_text(coding.get("system")) and _text(coding.get("code"))):
        return False
    extensions = coding.get("extension")
    return extensions is None or _fast_extensions(extensions)


def _fast_extensions(extensions: Any) -> bool:
    if extensions.__class__ is not list or not extensions:
        return False
    for extension in extensions:
        if extension.__class__ is not dict or not _text(extension.get("url")):
            return False
        parts = 0
        for key, value in extension.items():
            if key == "url":
                continue
            if key == "extension":
                if not _fast_extensions(value):
                    return False
            elif not _fast_value(key, value):
                return False
            parts += 1
        if parts != 1:
            return False
    return True


# --- the named problems ------------------------------------------------------------------


def _response_problems(resource: Any) -> Iterator[str]:
    if not isinstance(resource, dict):
        yield "not an object"
        return
    if resource.get("resourceType") != "QuestionnaireResponse":
        yield "resourceType is not QuestionnaireResponse"
    yield from _unknown(resource, RESOURCE_KEYS, "")
    if resource.get("status") not in STATUSES:
        yield f"status {resource.get('status')!r} is not a response status"
    if "id" in resource and not (isinstance(resource["id"], str) and ID.fullmatch(resource["id"])):
        yield "id is not a FHIR id"
    if not _text(resource.get("questionnaire")):
        yield "questionnaire is missing"
    if "authored" in resource and not _text(resource["authored"]):
        yield "authored is not a date-time"
    subject = resource.get("subject")
    if subject is not None and not (
        isinstance(subject, dict) and ("reference" in subject or "identifier" in subject)
    ):
        yield "subject is neither a reference nor an identifier"
    yield from _extensions(resource.get("extension"), "extension")
    yield from _items(resource.get("item"), "item", required=False)


def _unknown(element: dict, allowed: frozenset, path: str) -> Iterator[str]:
    for key in element:
        if key not in allowed:
            yield f"{path}{key} is not an element here"


def _text(value: Any) -> bool:
    return value.__class__ is str and value != ""


def _items(items: Any, path: str, required: bool) -> Iterator[str]:
    if items is None:
        return
    if not isinstance(items, list) or (required and not items):
        yield f"{path} is not a list of items"
        return
    for number, item in enumerate(items):
        where = f"{path}[{number}]"
        if not isinstance(item, dict):
            yield f"{where} is not an object"
            continue
        yield from _unknown(item, ITEM_KEYS, f"{where}.")
        if not _text(item.get("linkId")):
            yield f"{where}.linkId is missing"
        if "answer" in item and "item" in item:
            yield f"{where} has both answers and items"
        yield from _answers(item.get("answer"), f"{where}.answer")
        yield from _items(item.get("item"), f"{where}.item", required=True)


def _answers(answers: Any, path: str) -> Iterator[str]:
    if answers is None:
        return
    if not isinstance(answers, list) or not answers:
        yield f"{path} is not a list of answers"
        return
    for number, answer in enumerate(answers):
        where = f"{path}[{number}]"
        if not isinstance(answer, dict):
            yield f"{where} is not an object"
            continue
        values = [key for key in answer if key.startswith("value")]
        yield from _unknown(
            {key: None for key in answer if key not in values}, ANSWER_KEYS, f"{where}."
        )
        if len(values) != 1:
            yield f"{where} has {len(values)} values, not one"
            continue
        key = values[0]
        check = VALUE_CHECKS.get(key)
        if check is None:
            yield f"{where}.{key} is not an answer type"
        elif not check(answer[key]):
            yield f"{where}.{key} has a value of the wrong type"
        elif key == "valueCoding":
            yield from _coding(answer[key], f"{where}.{key}")
        yield from _items(answer.get("item"), f"{where}.item", required=True)


def _coding(coding: dict, path: str) -> Iterator[str]:
    yield from _unknown(coding, CODING_KEYS, f"{path}.")
    if not (_text(coding.get("system")) and _text(coding.get("code"))):
        yield f"{path} needs a system and a code"
    yield from _extensions(coding.get("extension"), f"{path}.extension")


def _extensions(extensions: Any, path: str) -> Iterator[str]:
    if extensions is None:
        return
    if not isinstance(extensions, list) or not extensions:
        yield f"{path} is not a list of extensions"
        return
    for number, extension in enumerate(extensions):
        where = f"{path}[{number}]"
        if not isinstance(extension, dict) or not _text(extension.get("url")):
            yield f"{where} has no url"
            continue
        values = [key for key in extension if key.startswith("value")]
        nested = extension.get("extension")
        if len(values) + (nested is not None) != 1:
            yield f"{where} needs one value or nested extensions"
        elif values:
            key = values[0]
            check = VALUE_CHECKS.get(key)
            if check is None:
                yield f"{where}.{key} is not a value type this export writes"
            elif not check(extension[key]):
                yield f"{where}.{key} has a value of the wrong type"
            elif key == "valueCoding":
                yield from _coding(extension[key], f"{where}.{key}")
        else:
            yield from _extensions(nested, f"{where}.extension")
        yield from _unknown(extension, frozenset({"url", "extension", *values}), f"{where}.")
