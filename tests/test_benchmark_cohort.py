"""The benchmarks' cohort has the history its docstring states, on both databases."""

from datetime import UTC, datetime

from sqlalchemy import func, select, text

from benchmarks.cohort import proportions, row_counts, seed_cohort
from notifications import NullChannel
from pro_app.messaging.outbox import LinkContext
from pro_app.models import Message, Patient, SurveyInstance
from pro_app.scheduling.tick import run_tick

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
PATIENTS = 600

# (lowest, highest) accepted for each stated share on a 600-patient cohort.
STATED = {
    "completed of closed": (0.65, 0.78),
    "expired of closed": (0.22, 0.35),
    "link invitations reminded": (0.3, 0.6),
    "invitations not delivered": (0.01, 0.06),
    "patients stopped": (0.03, 0.1),
    "patients opted out": (0.01, 0.06),
    "patients texted questions": (0.1, 0.2),
    "instances per patient": (8, 8),
}


def test_the_cohort_has_the_stated_proportions_and_nothing_due_at_its_moment(engine):
    seed_cohort(engine, patients=PATIENTS, now=NOW)

    measured = proportions(engine)
    for name, (low, high) in STATED.items():
        assert low <= measured[name] <= high, (name, measured[name])
    counts = row_counts(engine)
    assert counts["patient"] == PATIENTS
    assert counts["message"] > 10 * PATIENTS  # invitations, reminders, conversations, STOP
    # The expected course is counted from the loaded answers, as the app counts as it saves.
    with engine.connect() as connection:
        counted = connection.execute(
            text("SELECT sum(n) FROM expected_course_count WHERE measure = 'worst_pain'")
        ).scalar_one()
    assert counted and counted > 0
    # Nothing is due at ``now``: the benchmarks' idle tick really is idle.
    report = run_tick(engine, NullChannel(), LinkContext("bench", "https://b"), now=NOW)
    assert (report.expired, report.invited, report.reminded) == (0, 0, 0)
    assert report.delivery.sent == report.delivery.cancelled == 0


def test_texted_baseline_conversations_have_five_questions(engine):
    seed_cohort(engine, patients=200, now=NOW, seed=2)
    with engine.connect() as connection:
        baseline = connection.execute(
            select(SurveyInstance.id, SurveyInstance.progress)
            .join(Patient, Patient.id == SurveyInstance.patient_id)
            .where(
                Patient.channel == "sms",
                SurveyInstance.timepoint == "baseline",
                SurveyInstance.status == "completed",
                SurveyInstance.answer_channel == "sms",
            )
        ).all()
        assert baseline
        for instance_id, progress in baseline:
            assert progress["sms"]["position"] == 5
            kinds = dict(
                connection.execute(
                    select(Message.kind, func.count())
                    .where(Message.instance_id == instance_id)
                    .group_by(Message.kind)
                ).all()
            )
            assert kinds == {"question": 1, "inbound": 5, "reply": 5}
        opening = connection.execute(
            select(Message.body).where(
                Message.instance_id == baseline[0][0], Message.kind == "question"
            )
        ).scalar_one()
    assert "has 5 short questions" in opening
