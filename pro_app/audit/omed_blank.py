"""Why an OMED is blank in the patient-level exports, in the words an auditor reads.

An opioid questionnaire's OMED score (scoring method ``omed``) is blank when the
medicines list was not given: a texted survey never asks for it (only whether the
patient takes less, the same or more pain medicine), and on the web or by phone it was
left unanswered. Its ``omed_mg_per_day`` is blank when a medicine could not be converted
or a dose is above the table's plausibility limits: the answer needs review.
"""

from functools import lru_cache

from surveys import get_instrument
from surveys.model import ScoreMethod

NOT_ASKED_BY_TEXT = "not asked by text"
NEEDS_REVIEW = "needs review"
NOT_ANSWERED = "not answered"


@lru_cache(maxsize=64)
def omed_scores(instrument_id: str) -> frozenset[str]:
    """The ids of an instrument's OMED scores (none for an unknown instrument)."""
    try:
        instrument = get_instrument(instrument_id)
    except (KeyError, ValueError, FileNotFoundError):
        return frozenset()
    return frozenset(rule.id for rule in instrument.scoring if rule.method == ScoreMethod.OMED)


def blank_score_reason(instrument_id: str, score: str, channel: str) -> str | None:
    """Why the score ``score`` of an answer is blank, if it is an OMED."""
    if score not in omed_scores(instrument_id):
        return None
    return NOT_ASKED_BY_TEXT if channel == "sms" else NOT_ANSWERED


def blank_figure_reason(nested: dict) -> str | None:
    """Why a scored OMED has no mg/day figure."""
    return NEEDS_REVIEW if nested.get("needs_review") else NOT_ANSWERED
