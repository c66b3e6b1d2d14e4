"""Answering a timepoint as a patient would, for the audit's test cohorts."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from pro_app.followup.answer_saving import complete, save_answers
from pro_app.models import SurveyInstance
from pro_app.storage.engine import session_scope

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
ENROLLED = (NOW - timedelta(days=120)).replace(hour=9, minute=0, second=0, microsecond=0)
PROCEDURE = ENROLLED.date() + timedelta(days=7)
OTHER_MEDICINE = {"drug": "other", "name": "=HYPERLINK(secret)", "strength": 5, "doses": 1}


def answer(engine, patient_id, timepoint, worst, morphine_doses=0, channel="web", other=False):
    """Answer a whole timepoint (pain, medicines, quality of life) and complete it."""
    medicines = [{"drug": "morphine", "strength": 10, "doses": morphine_doses}]
    if other:
        medicines.append(OTHER_MEDICINE)
    answers = {
        "pain_nrs": {"worst": worst, "average": worst, "now": worst},
        "analgesic_use": {
            "medicines": medicines if morphine_doses else [],
            "medicine_change": "same",
        },
        "qol_overall": {"overall": 10 - worst},
    }
    return answer_in_parts(engine, patient_id, timepoint, answers, channel=channel)


def answer_in_parts(engine, patient_id, timepoint, answers, *, channel="web", finish=True):
    """Save ``answers`` (questionnaire id to its answers) at a timepoint, by ``channel``;
    complete the timepoint only if ``finish`` (else it stays answered in part)."""
    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == patient_id, SurveyInstance.timepoint == timepoint
            )
        ).one()
        at = instance.due_at + timedelta(hours=1)
        instance.status = "sent"
        instance.invited_at = instance.due_at
        for instrument_id, given in answers.items():
            save_answers(session, instance, instrument_id, given, channel=channel, now=at)
        if finish:
            complete(session, instance, now=at)
        return instance.id
