"""Pain response from a change in pain medicine, where the full OMED is not known.

Patients who answer by text give no medicines list (it does not fit a text), so they have
no oral morphine equivalent; they do answer "Compared with before your treatment, are you
taking less, the same or more pain medicine?" (or "I do not take pain medicine"). The
audit classifies them with the consensus rules (``surveys.pain_response``) by standing
that answer in for the OMED comparison:

- less: OMED down by 25% or more;
- same, or no pain medicine: OMED unchanged;
- more: OMED up by 25% or more.

It is used only when the full OMED comparison cannot be made because no medicines list
was given (at the timepoint or at baseline); a medicine that could not be converted still
makes the response not evaluable (it needs review). The audit shows how many
responses at each timepoint came from it. Its limits: "less" or "more" may be a change
smaller than 25%, and a switch between opioids is invisible to it.
"""

from surveys import PainResponse, pain_response

# A reference OMED and what each answer stands for against it (50% either side, so the
# category does not hang on the exact 25% boundary).
REFERENCE_OMED = 100.0
PROXY_OMED: dict[str, float] = {"less": 50.0, "same": 100.0, "none": 100.0, "more": 150.0}


def proxy_pain_response(
    baseline_worst: float | None, worst: float | None, medicine_change: str | None
) -> PainResponse | None:
    """The consensus category from worst pain and the categorical change in pain medicine,
    or None when either is missing."""
    if medicine_change not in PROXY_OMED:
        return None
    return pain_response(baseline_worst, REFERENCE_OMED, worst, PROXY_OMED[medicine_change])
