"""The app's view of ``surveys``: definitions, scores and red flags, and text questions."""

from dataclasses import dataclass

from surveys import (
    Instrument,
    ItemType,
    RaisedFlag,
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


@dataclass(frozen=True)
class SmsQuestion:
    """A question that can go by text and be answered with a number."""

    instrument_id: str
    item_id: str
    text: str
    minimum: int
    maximum: int
    low_label: str | None = None
    high_label: str | None = None
    choices: tuple[str, ...] = ()  # for a choice item: option codes by reply number 1..n
    yes_no: bool = False  # reply 1 for yes, 0 for no

    def answer_for(self, number: int):
        """The stored answer for a reply number."""
        if self.yes_no:
            return bool(number)
        if self.choices:
            return self.choices[number - 1]
        return number

    def reply_for(self, answer) -> str:
        """The number a patient would text for ``answer`` (the inverse of ``answer_for``)."""
        if self.yes_no:
            return "1" if answer else "0"
        if self.choices:
            return str(self.choices.index(answer) + 1)
        return str(answer)


def sms_questions(instrument_ids: list[str]) -> list[SmsQuestion]:
    """The text-message questions of these instruments, in order."""
    questions = []
    for instrument_id in instrument_ids:
        definition = get_instrument(instrument_id)
        for item in definition.items:
            if not item.sms_text:
                continue
            if item.type == ItemType.SCALE:
                questions.append(
                    SmsQuestion(
                        instrument_id,
                        item.id,
                        item.sms_text,
                        int(item.min),
                        int(item.max),
                        item.anchors.get(int(item.min)),
                        item.anchors.get(int(item.max)),
                    )
                )
            elif item.type == ItemType.YES_NO:
                questions.append(
                    SmsQuestion(
                        instrument_id, item.id, item.sms_text, 0, 1, "no", "yes", yes_no=True
                    )
                )
            elif item.type == ItemType.SINGLE_CHOICE:
                listing = ", ".join(f"{n} {o.text}" for n, o in enumerate(item.options, 1))
                questions.append(
                    SmsQuestion(
                        instrument_id,
                        item.id,
                        f"{item.sms_text} Reply {listing}.",
                        1,
                        len(item.options),
                        choices=tuple(o.code for o in item.options),
                    )
                )
    return questions
