"""Which answers raise a red flag, and what the patient is told."""

from dataclasses import dataclass

from .model import Instrument, Urgency

URGENCY_ORDER = {Urgency.NOW: 0, Urgency.WITHIN_24H: 1, Urgency.LOCAL: 2}


@dataclass(frozen=True)
class RaisedFlag:
    item_id: str
    urgency: Urgency
    summary: str
    advice: str
    reported: str = ""  # what the patient reported, in their words


def red_flags_raised(instrument: Instrument, answers: dict) -> list[RaisedFlag]:
    """The red flags these answers raise, most urgent first."""
    raised = [
        RaisedFlag(
            item.id,
            item.red_flag.urgency,
            item.red_flag.summary,
            item.red_flag.advice,
            item.red_flag.reported or item.red_flag.summary,
        )
        for item in instrument.items
        if item.red_flag is not None
        and item.id in answers
        and answers[item.id] in item.red_flag.when
    ]
    return sorted(raised, key=lambda flag: URGENCY_ORDER[flag.urgency])
