"""The definition format of an instrument, validated with pydantic.

See ``surveys/README.md`` for the format written out for people who author files.
"""

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ItemType(StrEnum):
    SCALE = "scale"  # a whole number from min to max, with anchor labels
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    MEDICATION_LIST = "medication_list"
    NUMBER = "number"
    FREE_TEXT = "free_text"


class Urgency(StrEnum):
    NOW = "now"  # contact the team now
    WITHIN_24H = "24h"  # contact the team within 24 hours
    LOCAL = "local"  # as the site's local policy says


CHOICE_TYPES = (ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE, ItemType.MEDICATION_LIST)
SMS_TYPES = (ItemType.SCALE, ItemType.YES_NO, ItemType.SINGLE_CHOICE)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Code(Strict):
    system: str
    code: str
    display: str | None = None


class Option(Strict):
    code: str
    text: str
    score: float | None = None  # the value the scoring rules use (FHIR itemWeight)


class EnableWhen(Strict):
    """Ask this item only when another item's answer ``equals`` (or is ``in``) a value."""

    item: str
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")

    def matches(self, value: Any) -> bool:
        if self.in_ is not None:
            return value in self.in_
        return value == self.equals


class RedFlag(Strict):
    """An answer that needs a clinician: who to call, how soon, and what the patient is told."""

    urgency: Urgency
    summary: str  # for nurses
    advice: str  # shown to the patient at once
    reported: str | None = None  # what the patient told us, in their words ("new weakness ...")
    when: list[Any] = [True]  # answers that raise the flag
    words: list[str] = []  # lower-case words a patient may text about it ("weak", "numb")


class Item(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: str
    type: ItemType
    required: bool = True
    help: str | None = None
    min: float | None = None
    max: float | None = None
    anchors: dict[int, str] = {}
    options: list[Option] = []  # choices; for a medication list, the medicines offered
    unit: str | None = None
    sms_text: str | None = None  # a short form of the question for a text message
    enable_when: EnableWhen | None = None
    red_flag: RedFlag | None = None
    code: Code | None = None
    page: int = 1  # items with the same page number are asked together
    followup_only: bool = False  # not asked at baseline (e.g. "compared with before treatment")

    @model_validator(mode="after")
    def _consistent(self) -> "Item":
        if self.type in (ItemType.SCALE, ItemType.NUMBER):
            if self.min is None or self.max is None or self.min >= self.max:
                raise ValueError(f"a {self.type} item needs min < max")
            if self.type == ItemType.SCALE and (
                self.min != int(self.min) or self.max != int(self.max)
            ):
                raise ValueError("a scale's min and max must be whole numbers")
            bad = [a for a in self.anchors if not self.min <= a <= self.max]
            if bad:
                raise ValueError(f"anchor(s) {bad} outside {self.min:g}..{self.max:g}")
        if self.type in CHOICE_TYPES:
            if len(self.options) < 2:
                raise ValueError(f"a {self.type} item needs at least two options")
            codes = [option.code for option in self.options]
            if len(set(codes)) != len(codes):
                raise ValueError("option codes must be unique")
        elif self.options:
            raise ValueError(f"a {self.type} item takes no options")
        if self.type == ItemType.NUMBER and not self.unit:
            raise ValueError("a number item needs a unit")
        if self.sms_text and self.type not in SMS_TYPES:
            raise ValueError("only scale, yes/no and single-choice items can be asked by text")
        if self.sms_text and self.type == ItemType.SINGLE_CHOICE and len(self.options) > 9:
            raise ValueError("a single-choice item asked by text takes at most 9 options")
        return self

    def option(self, code: str) -> Option | None:
        return next((option for option in self.options if option.code == code), None)


class Checklist(Strict):
    """On the web form, a page of yes/no items asked as one "tick any that apply" question.

    Each ticked box stores that item's "yes", every other box its "no"; ``none_text`` is the
    box that answers "no" to all of them, so no answer is ever implied by an empty form.
    """

    page: int = 1
    question: str
    hint: str | None = None
    none_text: str


class ScoreMethod(StrEnum):
    ITEM = "item"  # the answer to one item
    OPTION_SCORE = "option_score"  # the score of the chosen option of one item
    MEAN = "mean"  # mean of the answered items' scores (RAND-36 style)
    SUM = "sum"  # sum of the answered items' scores
    COUNT_FLAGGED = "count_flagged"  # how many red-flag items were answered positively
    OMED = "omed"  # oral morphine equivalent from a medication list


class ScoreRule(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    method: ScoreMethod
    items: list[str] = Field(min_length=1)
    label: str | None = None
    min_answered: int = 1


class Instrument(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str
    title: str
    patient_title: str | None = None  # the heading patients read; ``title`` stays in the data
    source: str
    licence: str
    recall_period: str | None = None
    introduction: str | None = None
    # By text, the yes/no items go in one numbered list led by this line (see README).
    sms_intro: str | None = None
    code: Code | None = None
    items: list[Item] = Field(min_length=1)
    scoring: list[ScoreRule] = []
    checklist: Checklist | None = None
    x_options: dict[str, Any] | None = Field(default=None, alias="x-options", exclude=True)
    shipped: bool = Field(default=True, exclude=True)

    @model_validator(mode="after")
    def _references(self) -> "Instrument":
        ids = [item.id for item in self.items]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"item ids repeat: {sorted(duplicates)}")
        known = set(ids)
        for item in self.items:
            if item.enable_when and item.enable_when.item not in known:
                raise ValueError(
                    f"item {item.id}: enable_when names unknown item {item.enable_when.item!r}"
                )
        if self.checklist is not None:
            page = [item for item in self.items if item.page == self.checklist.page]
            if not page or any(item.type != ItemType.YES_NO for item in page):
                raise ValueError("a checklist page must hold only yes/no items")
        for rule in self.scoring:
            missing = [i for i in rule.items if i not in known]
            if missing:
                raise ValueError(f"score {rule.id}: unknown item(s) {missing}")
        return self

    @property
    def heading(self) -> str:
        """What patients see as the heading (the data keeps ``title``)."""
        return self.patient_title or self.title

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def pages(self) -> list[list[Item]]:
        """Items grouped by page number, in order."""
        numbers = sorted({item.page for item in self.items})
        return [[item for item in self.items if item.page == n] for n in numbers]


SourceKind = Literal["shipped", "site"]
