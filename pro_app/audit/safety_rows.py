"""Clinician-reported safety events, one row each, for the patient-level workbook.

NICE asks services to submit their safety outcomes (cement leakage, infection, thermal or
neurological damage) to the register with the patient-reported ones. De-identified as
the answers are: study id, the procedure's type, the event's kind, whether it caused
symptoms, its CTCAE grade, and days from the procedure; never the nurse's notes.
"""

from collections.abc import Iterator

from sqlmodel import Session, select

from ..models import Patient, Procedure, SafetyEvent, Site
from .timelines import AuditFilters, apply_filters

SAFETY_COLUMNS = (
    "study_id",
    "site",
    "procedure_type",
    "electrode",
    "lesion_type",
    "event",
    "symptomatic",
    "grade",
    "days_since_procedure",
)
SAFETY_COLUMN_DEFINITIONS = {
    "event": "cement_leakage, infection, thermal_injury, neurological_injury or other.",
    "symptomatic": "yes, no, or blank where the clinician did not say.",
    "grade": "CTCAE grade, 1 (mild) to 5 (death related to the event).",
    "days_since_procedure": "Days from the procedure date to the event's date.",
}


def safety_rows(session: Session, filters: AuditFilters) -> Iterator[tuple]:
    """The covered procedures' safety events, in patient and date order."""
    statement = (
        select(
            Patient.study_id,
            Site.code,
            Procedure.augmentation,
            Procedure.electrode,
            Procedure.lesion_type,
            SafetyEvent.kind,
            SafetyEvent.symptomatic,
            SafetyEvent.grade,
            SafetyEvent.event_date,
            Procedure.procedure_date,
        )
        .join(Procedure, Procedure.id == SafetyEvent.procedure_id)
        .join(Patient, Patient.id == Procedure.patient_id)
        .join(Site, Site.id == Patient.site_id)
        .where(SafetyEvent.withdrawn_at.is_(None))  # not those recorded in error
        .order_by(Patient.id, SafetyEvent.event_date, SafetyEvent.id)
    )
    for row in session.exec(apply_filters(statement, filters)):
        *leading, symptomatic, grade, event_date, procedure_date = row
        shown = None if symptomatic is None else ("yes" if symptomatic else "no")
        yield (*leading, shown, grade, (event_date - procedure_date).days)
