"""Alerts for worsening pain or rising opioid use, checked when a survey is completed."""

from datetime import datetime

from sqlmodel import Session, select

from surveys.alert_rules import PainPoint, opioid_rise, pain_worsening

from ..alerts import raise_alert
from ..models import AlertKind, InstanceStatus, Patient, Response, Site, SurveyInstance

BASELINE = "baseline"


def evaluate_worsening(session: Session, instance: SurveyInstance, *, now: datetime) -> list[str]:
    """Raise pain-worsening and opioid-rise alerts for the patient; return the kinds raised.

    Called when ``instance`` is completed or corrected. What is judged is where the
    patient is now: their latest completed timepoint after baseline, against the
    baseline, with the timepoints up to it. So correcting an earlier timepoint raises
    no alert about a rise that is not the patient's latest (and repeats none), and
    correcting the baseline checks the latest timepoint against the new baseline.
    Reads the key outcomes kept on each of the patient's instances (``key_outcomes.py``).
    """
    timeline = session.exec(
        select(SurveyInstance)
        .where(SurveyInstance.patient_id == instance.patient_id)
        .order_by(SurveyInstance.due_at)
    ).all()
    answered = [
        i for i in timeline if i.timepoint != BASELINE and i.status == InstanceStatus.COMPLETED
    ]
    if not answered:
        return []
    latest = answered[-1]
    baseline = next((i for i in timeline if i.timepoint == BASELINE), None)
    base_worst = baseline.pain_worst if baseline else None
    base_omed = baseline.omed_mg_per_day if baseline else None
    answers = [
        PainPoint(i.timepoint, i.pain_worst)
        for i in timeline
        if i.timepoint != BASELINE and i.pain_worst is not None and i.due_at <= latest.due_at
    ]
    findings = []
    if pain_worsening(base_worst, answers):
        findings.append(
            (
                AlertKind.PAIN_WORSE,
                "24h",
                f"Worst pain up by 2 or more at two timepoints in a row ({latest.timepoint}).",
            )
        )
    if opioid_rise(base_omed, latest.omed_mg_per_day):
        findings.append(
            (
                AlertKind.OPIOID_UP,
                "routine",
                f"Opioid use up by 25% or more from baseline at {latest.timepoint}: "
                f"{base_omed:g} to {latest.omed_mg_per_day:g} mg/day oral morphine equivalent."
                + _tables_differ(baseline, latest),
            )
        )
    elif _no_medicines_list(latest) and _medicine_change(session, latest) == "more":
        # Answered by text: no doses, so no OMED; "more pain medicine" stands in for it.
        findings.append(
            (
                AlertKind.OPIOID_UP,
                "routine",
                f"More pain medicine than before the treatment at {latest.timepoint} "
                "(reported without doses, so no oral morphine equivalent).",
            )
        )
    patient = session.get(Patient, latest.patient_id)
    site = session.get(Site, patient.site_id)
    raised = []
    for kind, urgency, summary in findings:
        if raise_alert(
            session,
            site=site,
            patient_id=patient.id,
            kind=kind,
            urgency=urgency,
            summary=summary,
            dedupe_key=f"{kind}:{latest.id}",
            now=now,
            instance_id=latest.id,
        ):
            raised.append(kind)
    return raised


def _tables_differ(baseline: SurveyInstance, instance: SurveyInstance) -> str:
    """A warning when the two figures were converted with different opioid tables (the
    site changed its table in between): the alert still goes, as a rise may be real, but
    the nurse is told the figures are not like for like (the audit leaves such pairs out)."""
    before = (baseline.omed_table, baseline.omed_table_version)
    after = (instance.omed_table, instance.omed_table_version)
    if None in before or None in after or before == after:
        return ""
    return (
        f" Converted with different tables (baseline {before[0]} {before[1]}, now "
        f"{after[0]} {after[1]}): check the doses before comparing."
    )


def _no_medicines_list(instance: SurveyInstance) -> bool:
    """No medicines were listed (answered by text), as opposed to a list that needs review."""
    return instance.omed_mg_per_day is None and instance.omed_needs_review is None


def _medicine_change(session: Session, instance: SurveyInstance) -> str | None:
    """The current answer to "less, the same or more pain medicine" at ``instance``."""
    row = session.exec(
        select(Response).where(
            Response.instance_id == instance.id,
            Response.instrument_id == "analgesic_use",
            Response.is_current,
        )
    ).first()
    return row.answers.get("medicine_change") if row else None
