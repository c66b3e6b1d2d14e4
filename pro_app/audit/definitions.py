"""What the audit's figures mean: one list, shown on the page and in the workbook."""

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Due",
        "The survey's due time has passed and it was not cancelled (follow-up stopped or "
        "re-planned). Answered means completed; response rate is answered of due.",
    ),
    (
        "Change from baseline",
        "The value at the timepoint minus the baseline timepoint's answer, for patients with "
        "both. Patients who answered without a baseline answer count as answered but are left "
        "out of change figures, and the number left out is shown.",
    ),
    (
        "Median change, 95% CI",
        "Distribution-free interval from order statistics (binomial); none under 6 patients.",
    ),
    ("Mean change, 95% CI", "Student's t interval of the mean change."),
    (
        "Clinically important improvement",
        "Worst pain down by at least 2 points, and separately by at least 30%, from baseline "
        "(IMMPACT, Dworkin 2008; thresholds in surveys/data/pain_response.yaml).",
    ),
    (
        "Pain response",
        "International consensus on palliative radiotherapy endpoints (Chow 2012): complete, "
        "partial, indeterminate or progression, from worst pain and oral morphine equivalent "
        "against baseline. Responders are complete plus partial. Not evaluable when worst pain "
        "is missing, a medicine could not be converted, or neither the OMED nor the change in "
        "pain medicine is known.",
    ),
    (
        "Pain response from the change in pain medicine (proxy)",
        "Used only when no medicines list was given at the timepoint or at baseline (patients "
        "answering by text give none); a medicine that needs review stays not evaluable. "
        "The answer to 'less, the same or more pain medicine than before your treatment' "
        "stands in for the OMED: less = OMED down by "
        "25% or more, the same or no pain medicine = OMED unchanged, more = OMED up by 25% or "
        "more; the consensus rules then apply. The table gives, per timepoint, how many "
        "responses came from the OMED and how many from this proxy. It cannot see a change "
        "smaller than 25% or a switch between opioids.",
    ),
    (
        "Partly answered",
        "Some answers saved but not every required question (for a text conversation, every "
        "texted item): counted apart, not as answered, and left out of the figures.",
    ),
    (
        "OMED",
        "Oral morphine equivalent mg/day, from the site's conversion table, for audit of total "
        "opioid load; not for converting a patient from one opioid to another.",
    ),
    ("Quality of life", "The overall quality-of-life item, 0 (worst) to 10 (best)."),
    (
        "Safety events",
        "Clinician-reported complications graded by CTCAE (1 mild to 5 death); the rate is "
        "procedures with at least one such event per 100 procedures.",
    ),
    (
        "On time, late, missed",
        "Answered inside the survey window; answered after it closed (by phone); window "
        "closed unanswered. Delivered counts Twilio delivery receipts.",
    ),
    (
        "De-identification",
        "No names, phone numbers or contact details; dates only as days or hours relative to "
        "the procedure or the due time; study ids only; free text left out.",
    ),
)
