"""The key outcomes of a timepoint, copied onto its survey instance.

The audit reads pain, opioid use and quality of life at every timepoint of every patient.
Reading them from each answer's JSON scores costs three joins and JSON parsing per row,
so ``save_answers`` copies them onto the instance whenever a questionnaire that holds one
is answered or corrected. ``KEY_OUTCOMES`` says where each one lives in the scores.
"""

from ..models import SurveyInstance

# Column on SurveyInstance: (questionnaire, path to the value in its scores).
KEY_OUTCOMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pain_worst": ("pain_nrs", ("worst",)),
    "pain_average": ("pain_nrs", ("average",)),
    "omed_mg_per_day": ("analgesic_use", ("omed", "omed_mg_per_day")),
    "any_opioid": ("analgesic_use", ("omed", "any_opioid")),
    "omed_needs_review": ("analgesic_use", ("omed", "needs_review")),
    "omed_implausible": ("analgesic_use", ("omed", "implausible")),
    "omed_table": ("analgesic_use", ("omed", "table")),
    "omed_table_version": ("analgesic_use", ("omed", "table_version")),
    "quality_of_life": ("qol_overall", ("overall",)),
}
# The timepoint's channel: that of its current pain answer, else quality of life, else
# opioid use (unknown if none of them was answered).
CHANNEL_FROM = ("pain_nrs", "qol_overall", "analgesic_use")


def score_at(scores: dict, path: tuple[str, ...]):
    """The value at ``path`` in one questionnaire's scores, or None."""
    value = scores
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def key_outcome_updates(instrument_id: str, scores: dict, channels: dict[str, str]) -> dict:
    """What one questionnaire's current answer sets on its instance: its key outcomes and
    the timepoint's channel, given the channel of each current answer (this one included)."""
    updates = {
        column: score_at(scores, path)
        for column, (source, path) in KEY_OUTCOMES.items()
        if source == instrument_id
    }
    updates["answer_channel"] = next((channels[s] for s in CHANNEL_FROM if s in channels), None)
    return updates


def record_key_outcomes(
    instance: SurveyInstance, instrument_id: str, scores: dict, channels: dict[str, str]
) -> None:
    """Copy a questionnaire's current key outcomes, and the channel, onto its instance."""
    for column, value in key_outcome_updates(instrument_id, scores, channels).items():
        setattr(instance, column, value)
