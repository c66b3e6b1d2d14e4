"""How long a timepoint's questions take on the web form: an estimate from counted items.

The rate: an ordinary stand-alone question takes "about 10 seconds" to answer online
(Pew Research Center, "How we keep our online surveys from running too long", 2022: its
point system, built from the response times of its online panel, budgets 85 one-point
questions for a 15-minute survey). Each question counts 10 seconds here.

- A "tick any that apply" list counts one question plus 4 seconds to read each line
  (a line of 10-15 words at an adult's silent reading rate of about 240 words a minute,
  Brysbaert, J Mem Lang 2019;109:104047).
- A medicine counts four questions (which medicine, how much in each dose, how many
  doses, regularly or when needed); the estimate assumes one medicine.

Patients who are unwell or elderly may be slower: the figures are a budget to compare
timepoints against the targets, not a promise. ``benchmarks/burden.py`` prints them.
"""

import math
from dataclasses import dataclass

from .loader import get_instrument
from .model import Instrument, Item, ItemType

SECONDS_PER_QUESTION = 10
SECONDS_PER_CHECKLIST_LINE = 4
QUESTIONS_PER_MEDICINE = 4
MEDICINES_ASSUMED = 1


def asked_items(instrument: Instrument, *, baseline: bool) -> list[Item]:
    """The items of an instrument asked at a timepoint (some are not asked at baseline)."""
    return [item for item in instrument.items if not (baseline and item.followup_only)]


@dataclass(frozen=True)
class Burden:
    items: int  # questions a patient reads and answers (a medicine list counts one)
    seconds: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60

    @property
    def phrase(self) -> str:
        """ "about 3 minutes": the estimate rounded up to a whole minute."""
        whole = max(1, math.ceil(round(self.minutes, 2)))
        return f"about {whole} minute{'s' if whole != 1 else ''}"


def _instrument_seconds(instrument: Instrument, items: list[Item]) -> float:
    checklist = instrument.checklist
    listed = {i.id for i in items if checklist is not None and i.page == checklist.page}
    seconds = 0.0
    if listed:
        seconds += SECONDS_PER_QUESTION + SECONDS_PER_CHECKLIST_LINE * len(listed)
    for item in items:
        if item.id in listed:
            continue
        if item.type == ItemType.MEDICATION_LIST:
            seconds += SECONDS_PER_QUESTION * QUESTIONS_PER_MEDICINE * MEDICINES_ASSUMED
        else:
            seconds += SECONDS_PER_QUESTION
    return seconds


def web_burden(instrument_ids: list[str], *, baseline: bool = False) -> Burden:
    """Items and estimated seconds of a timepoint's questions on the web form."""
    items = 0
    seconds = 0.0
    for instrument_id in instrument_ids:
        instrument = get_instrument(instrument_id)
        asked = asked_items(instrument, baseline=baseline)
        items += len(asked)
        seconds += _instrument_seconds(instrument, asked)
    return Burden(items, seconds)
