"""Alerts for worsening pain or rising opioid use, checked when a survey is completed."""

from datetime import datetime

from sqlmodel import Session, select

from surveys.alert_rules import PainPoint, opioid_rise, pain_worsening

from .alerts import raise_alert
from .models import AlertKind, Patient, Response, Site, SurveyInstance
from .trajectory import omed_mg, worst_pain

BASELINE = "baseline"


def scores_by_timepoint(session: Session, patient_id: int) -> list[tuple[SurveyInstance, dict]]:
    """Each instance of a patient with the current scores of each instrument, in time order."""
    rows = session.exec(
        select(SurveyInstance, Response)
        .join(Response, Response.instance_id == SurveyInstance.id)
        .where(
            SurveyInstance.patient_id == patient_id,
            Response.is_current,
        )
        .order_by(SurveyInstance.due_at, Response.id)
    ).all()
    ordered: dict[int, tuple[SurveyInstance, dict]] = {}
    for instance, response in rows:
        ordered.setdefault(instance.id, (instance, {}))[1][response.instrument_id] = response.scores
    return list(ordered.values())


def evaluate_worsening(session: Session, instance: SurveyInstance, *, now: datetime) -> list[str]:
    """Raise pain-worsening and opioid-rise alerts for the patient; return the kinds raised."""
    timeline = scores_by_timepoint(session, instance.patient_id)
    baseline = next((scores for i, scores in timeline if i.timepoint == BASELINE), {})
    later = [(i, scores) for i, scores in timeline if i.timepoint != BASELINE]
    answers = [PainPoint(i.timepoint, w) for i, s in later if (w := worst_pain(s)) is not None]
    current = next((scores for i, scores in timeline if i.id == instance.id), {})
    if instance.timepoint == BASELINE:
        return []
    findings = []
    if pain_worsening(worst_pain(baseline), answers):
        findings.append(
            (
                AlertKind.PAIN_WORSE,
                "24h",
                f"Worst pain up by 2 or more at two timepoints in a row ({instance.timepoint}).",
            )
        )
    if opioid_rise(omed_mg(baseline), omed_mg(current)):
        findings.append(
            (
                AlertKind.OPIOID_UP,
                "routine",
                f"Opioid use up by 25% or more from baseline at {instance.timepoint}: "
                f"{omed_mg(baseline):g} to {omed_mg(current):g} mg/day oral morphine equivalent.",
            )
        )
    patient = session.get(Patient, instance.patient_id)
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
            dedupe_key=f"{kind}:{instance.id}",
            now=now,
            instance_id=instance.id,
        ):
            raised.append(kind)
    return raised
