"""What the audit's figures mean: one list, shown on the page and in the workbook.

Which definitions were confirmed against their sources and which are the project's
interpretation is recorded in surveys/data/REFERENCES.md; the interpretations are also
stated here, in the words an auditor reads.
"""

from collections.abc import Iterable

from surveys import minimum_baseline_pain
from surveys.medications import conversion_table, conversion_table_ids

from .outcomes import AuditReport

MINIMUM_PAIN = f"{minimum_baseline_pain():g}"

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Due",
        "The survey's due time has passed, or it was completed before it (answers entered "
        "once its window opened), and it was not cancelled (follow-up stopped or "
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
        "International consensus on palliative radiotherapy endpoints (Chow 2012): complete "
        "(worst pain 0 with no increase in OMED), partial (pain down 2 or more points without "
        "an increase in OMED, or OMED down 25% or more without an increase in pain), "
        "progression (pain up 2 or more with OMED stable, or OMED up 25% or more with pain "
        "stable or up 1 point), otherwise indeterminate; each against baseline. Responders "
        "are complete plus partial. The 2-point and 25% thresholds are applied exactly to the "
        "recorded figures (3.2 to 4.0 mg/day is a rise of exactly 25%).",
    ),
    (
        "Pain response: eligibility",
        f"Only patients whose baseline worst pain is at least {MINIMUM_PAIN} are evaluated "
        "(the consensus governs trials whose patients have a baseline worst pain of at least "
        f"{MINIMUM_PAIN}; such patients cannot show a 2-point fall). Patients below it are "
        f'counted as "not evaluable: baseline pain below {MINIMUM_PAIN}".',
    ),
    (
        "Pain response: not evaluable",
        "Counted, never classified, with the reason: no baseline pain score; baseline pain "
        f"below {MINIMUM_PAIN}; no pain score at the timepoint; OMED missing or needing "
        "review at either timepoint (unless the pain medicine proxy below applies); or the "
        "OMEDs at baseline and at the timepoint were "
        "worked out with different conversion tables (or versions), which are not compared.",
    ),
    (
        "Pain response: choices made by this project",
        "Where the consensus leaves room, this audit reads it so: (1) when pain rises by 2 "
        "points or more and opioid use rises too, the patient counts as progression (opioid "
        "use that did not fall by 25% counts as stable); (2) pain stable means a change of "
        "no more than 1 point either way; (3) a patient taking no opioids at baseline who "
        "starts any opioid counts as a rise of 25% or more, and cannot show a fall; (4) "
        "OMEDs from different conversion tables are not compared. Each is listed with its "
        "status in surveys/data/REFERENCES.md.",
    ),
    (
        "Pain response from the change in pain medicine (proxy)",
        "Used only when no medicines list was given at the timepoint or at baseline (patients "
        "answering by text give none); a medicine that needs review stays not evaluable. "
        "The answer to 'less, the same or more pain medicine than before your treatment' "
        "stands in for the OMED: less = OMED down by "
        "25% or more, the same or no pain medicine = OMED unchanged, more = OMED up by 25% or "
        "more; the consensus rules then apply. The table gives, per timepoint, how many "
        "responses came from the OMED and how many from this proxy; the patient-level "
        "export marks each category with its basis (OMED, or medicine change (proxy)). It "
        "cannot see a change smaller than 25% or a switch between opioids.",
    ),
    (
        "Partly answered",
        "Some answers saved but not every required question (for a text conversation, every "
        "texted item): counted apart, not as answered, and left out of the figures. A "
        "baseline answered only in part is no baseline: the later timepoints have no change "
        "from baseline and no pain response.",
    ),
    (
        "OMED",
        "Oral morphine equivalent mg/day, from the site's conversion table, for audit of total "
        "opioid load; not for converting a patient from one opioid to another. Non-opioid "
        "analgesics and adjuvants on the known list (paracetamol, anti-inflammatories, "
        "gabapentin, pregabalin, antidepressants, steroids and others named in "
        "surveys/data/analgesics.yaml) are recorded as non-opioid and leave the OMED "
        "unaffected. Every OMED carries the id and version of the table that produced it.",
    ),
    (
        "OMED needs review",
        "An answer with an opioid the table cannot convert (methadone, an opioid without a "
        "factor, a patch strength between bands, a route without a factor, a combination "
        "product), an unknown medicine, or a dose above the table's plausibility limits (per "
        "drug and for the daily total). The answer is kept and shown to the nurse with the "
        "reason; it is left out of the OMED figures and pain response, and counted.",
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
        "Alert handling",
        "Alerts raised for the nurses, per timepoint of the survey whose answers raised them "
        "(whether or not it was completed) and overall; alerts about texts or replies with no "
        "survey behind them count overall only. Per 100 completed surveys divides by the "
        "surveys answered at that timepoint (overall: at every timepoint). Red flags are "
        "split by urgency: call now (target 1 hour) and within 24 hours; other alerts have "
        "the site's target (72 hours unless the site set another).",
    ),
    (
        "Time to acknowledgement",
        "Hours from an alert being raised to a nurse acknowledging it, for acknowledged "
        "alerts: median and quartiles. Acknowledged within target is of the alerts that "
        "were acknowledged or whose target time has passed; an alert still open past its "
        "target counts as not within it. Alerts still open and not yet at their target are "
        "left out of the share.",
    ),
    (
        "Actions taken",
        "The action a nurse recorded on each alert (Called the patient, Advised 999 / A&E "
        "and so on), counted per alert as stored. Calls that did not reach the patient "
        "(recorded as “Could not reach: try again”, which leaves the alert open) are counted "
        "apart: every such call, and the alerts that had at least one.",
    ),
    (
        "De-identification",
        "No names, phone numbers or contact details; dates only as days or hours relative to "
        "the procedure or the due time; study ids only; free text left out.",
    ),
)


def omed_table_definitions(tables: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """One line per conversion table behind the report's OMEDs: id, version, date, source
    and plausibility limits (every shipped table when no OMED was recorded)."""
    used = sorted(set(tables)) or [
        (table_id, conversion_table(table_id).version) for table_id in conversion_table_ids()
    ]
    lines = []
    for table_id, version in used:
        try:
            table = conversion_table(table_id)
        except ValueError:
            lines.append((f"OMED table {table_id} {version}", "Not a table shipped here."))
            continue
        limits = table.plausibility
        shipped = (
            ""
            if table.version == version
            else f" (figures scored with version {version}; version {table.version} is shipped)"
        )
        lines.append(
            (
                f"OMED table {table_id} {version}",
                f"{table.title}, version {table.version}, published {table.published}"
                f"{shipped}. Source: {table.source}. Plausibility limits: "
                f"{limits.daily_total_mg:g} mg/day in total and, per drug, "
                + ", ".join(f"{drug} {limit:g}" for drug, limit in limits.per_drug.items())
                + f" (mg a day, patches micrograms/hour). {limits.rationale}",
            )
        )
    return lines


def report_definitions(report: AuditReport) -> list[tuple[str, str]]:
    """The definitions, then the conversion tables behind this report's OMEDs."""
    return list(DEFINITIONS) + omed_table_definitions(report.omed_tables)
