"""The app's view of ``surveys``: definitions, scores and red flags, and text questions."""

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from notifications import STOP_WORDS
from surveys import (
    Instrument,
    Item,
    ItemType,
    RaisedFlag,
    all_instruments,
    configured_instrument_dirs,
    distress_words,
    get_instrument,
    red_flags_raised,
    score,
)


def instrument(instrument_id: str) -> Instrument:
    return get_instrument(instrument_id)


def scores_for(definition: Instrument, answers: dict, *, omed_table: str) -> dict:
    return score(definition, answers, omed_table=omed_table)


def red_flags(definition: Instrument, answers: dict) -> list[RaisedFlag]:
    return red_flags_raised(definition, answers)


# A concern word this long also stands for the words that begin with it ("weak": weaker).
STEM_LETTERS = 4


@dataclass(frozen=True)
class ConcernWords:
    """Words that, texted, have a nurse read the text: about a warning sign (each red
    flag's ``words``), of distress (``distress_words`` in ``alert_rules.yaml``), or a stop
    word that was no opt-out ("I just want it to stop")."""

    words: frozenset[str]
    stems: tuple[str, ...]

    def found_in(self, words: list[str]) -> bool:
        return any(word in self.words or word.startswith(self.stems) for word in words)


def concern_words() -> ConcernWords:
    """The concern words of the instruments available here (built once for them)."""
    return _concern_words(tuple(configured_instrument_dirs()))


@lru_cache(maxsize=1)
def _concern_words(_instrument_dirs: tuple) -> ConcernWords:
    about_flags = (
        word
        for definition in all_instruments().values()
        for item in definition.items
        if item.red_flag
        for word in item.red_flag.words
    )
    words = distress_words() | STOP_WORDS | frozenset(about_flags)
    return ConcernWords(words, tuple(word for word in words if len(word) >= STEM_LETTERS))


class SmsKind(StrEnum):
    SCALE = "scale"  # a number from minimum to maximum
    CHOICE = "choice"  # a numbered list, one option
    YES_NO = "yes_no"  # one yes/no item: yes/no words, or 1 / 0
    CHECKLIST = "checklist"  # a numbered list of yes/no items: the numbers of any that apply


@dataclass(frozen=True)
class SmsQuestion:
    """One text of a conversation: a question on one item, or a numbered list of the yes/no
    items of a questionnaire (every warning sign in one text)."""

    instrument_id: str
    item_ids: tuple[str, ...]
    text: str
    kind: SmsKind
    minimum: int = 0
    maximum: int = 10
    low_label: str | None = None
    high_label: str | None = None
    choices: tuple[str, ...] = ()  # a choice item's option codes by reply number 1..n
    labels: tuple[str, ...] = ()  # a checklist's lines by reply number 1..n

    @property
    def item_id(self) -> str:
        return self.item_ids[0]

    def answers_for(self, value) -> dict:
        """The stored answers for what a reply said: a number, a yes/no, or the set of
        numbers picked from a checklist (every other item of the list is a no)."""
        if self.kind == SmsKind.CHECKLIST:
            return {item: number in value for number, item in enumerate(self.item_ids, 1)}
        if self.kind == SmsKind.YES_NO:
            return {self.item_id: bool(value)}
        if self.kind == SmsKind.CHOICE:
            return {self.item_id: self.choices[value - 1]}
        return {self.item_id: value}

    def reply_for(self, answers: dict) -> str:
        """What a patient would text to give ``answers`` (the inverse of ``answers_for``)."""
        if self.kind == SmsKind.CHECKLIST:
            picked = [str(n) for n, item in enumerate(self.item_ids, 1) if answers.get(item)]
            return " ".join(picked) or "0"
        answer = answers.get(self.item_id)
        if self.kind == SmsKind.YES_NO:
            return "yes" if answer else "no"
        if self.kind == SmsKind.CHOICE:
            return str(self.choices.index(answer) + 1)
        return str(answer)


def _checklist(definition: Instrument, items: list[Item]) -> SmsQuestion:
    intro = definition.sms_intro or "Reply with the numbers of any that apply"
    return SmsQuestion(
        definition.id,
        tuple(item.id for item in items),
        intro,
        SmsKind.CHECKLIST,
        0,
        len(items),
        labels=tuple(item.sms_text for item in items),
    )


def sms_questions(instrument_ids: list[str], *, baseline: bool = False) -> list[SmsQuestion]:
    """The texts of a conversation, in order. RAND-36 and other items without ``sms_text``
    are never asked by text, nor follow-up-only items at baseline; the yes/no items of a
    questionnaire that has more than one go in one numbered list."""
    questions = []
    for instrument_id in instrument_ids:
        definition = get_instrument(instrument_id)
        texted = [
            item
            for item in definition.items
            if item.sms_text and not (baseline and item.followup_only)
        ]
        yes_no = [item for item in texted if item.type == ItemType.YES_NO]
        listed = len(yes_no) > 1
        for item in texted:
            if item.type == ItemType.SCALE:
                questions.append(
                    SmsQuestion(
                        instrument_id,
                        (item.id,),
                        item.sms_text,
                        SmsKind.SCALE,
                        int(item.min),
                        int(item.max),
                        item.anchors.get(int(item.min)),
                        item.anchors.get(int(item.max)),
                    )
                )
            elif item.type == ItemType.YES_NO and listed:
                if item is yes_no[0]:
                    questions.append(_checklist(definition, yes_no))
            elif item.type == ItemType.YES_NO:
                questions.append(
                    SmsQuestion(instrument_id, (item.id,), item.sms_text, SmsKind.YES_NO, 0, 1)
                )
            elif item.type == ItemType.SINGLE_CHOICE:
                questions.append(
                    SmsQuestion(
                        instrument_id,
                        (item.id,),
                        item.sms_text,
                        SmsKind.CHOICE,
                        1,
                        len(item.options),
                        labels=tuple(o.text for o in item.options),
                        choices=tuple(o.code for o in item.options),
                    )
                )
    return questions


def texted_items(instrument_ids: list[str], *, baseline: bool = False) -> list[tuple[str, str]]:
    """(questionnaire, item) of every item a text conversation asks."""
    return [
        (question.instrument_id, item_id)
        for question in sms_questions(instrument_ids, baseline=baseline)
        for item_id in question.item_ids
    ]


def missing_text_items(
    instrument_ids: list[str], saved: dict[str, dict], *, baseline: bool = False
) -> list[str]:
    """The texted items not answered yet, as the questionnaire words them (for nurses)."""
    missing = []
    for instrument_id, item_id in texted_items(instrument_ids, baseline=baseline):
        if saved.get(instrument_id, {}).get(item_id) is None:
            item = next(i for i in get_instrument(instrument_id).items if i.id == item_id)
            missing.append(item.text)
    return missing
