"""Worsening pain and rising opioids raise alerts when a survey is completed."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from pro_app.followup.answer_saving import complete, save_answers
from pro_app.models import Alert, SurveyInstance
from pro_app.storage.engine import session_scope

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def answer(engine, tick, timepoint: str, worst: int, omed_doses: float | None) -> None:
    """Send one timepoint when it is due, then answer it: pain, medicines, send."""
    with Session(engine) as session:
        due = session.exec(
            select(SurveyInstance.due_at).where(SurveyInstance.timepoint == timepoint)
        ).one()
    at = due + timedelta(minutes=5)
    tick(at)
    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(SurveyInstance.timepoint == timepoint)
        ).one()
        save_answers(
            session,
            instance,
            "pain_nrs",
            {"worst": worst, "average": worst, "now": worst},
            channel="web",
            now=at,
        )
        medicines = (
            [{"drug": "morphine", "strength": 10, "doses": omed_doses}] if omed_doses else []
        )
        save_answers(
            session, instance, "analgesic_use", {"medicines": medicines}, channel="web", now=at
        )
        complete(session, instance, now=at)


def alerts(engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(Alert, SurveyInstance).join(SurveyInstance)).all()
    return sorted((alert.kind, instance.timepoint) for alert, instance in rows)


def test_pain_worse_than_baseline_at_two_timepoints_alerts_once(gen, tick):
    gen.patient(gen.site(), now=ENROLLED, procedure_date=date(2027, 1, 11))
    for timepoint, worst in (("baseline", 5), ("day1", 7), ("week1", 8), ("week2", 8)):
        answer(gen.engine, tick, timepoint, worst, 3)
    # day1 alone is one rise; week1 makes two in a row; week2 is a third.
    assert alerts(gen.engine) == [("pain_worse", "week1"), ("pain_worse", "week2")]


def test_opioids_up_a_quarter_from_baseline_alert(gen, tick):
    gen.patient(gen.site(), now=ENROLLED, procedure_date=date(2027, 1, 11))
    answer(gen.engine, tick, "baseline", 6, 6)  # 60 mg/day
    answer(gen.engine, tick, "day1", 4, 7)  # 70: +17%
    answer(gen.engine, tick, "week1", 4, 8)  # 80: +33%
    assert alerts(gen.engine) == [("opioid_up", "week1")]


def test_improving_patients_raise_nothing(gen, tick):
    gen.patient(gen.site(), now=ENROLLED, procedure_date=date(2027, 1, 11))
    for timepoint, worst, doses in (
        ("baseline", 8, 6),
        ("day1", 5, 6),
        ("week1", 3, 4),
        ("week2", 2, None),
    ):
        answer(gen.engine, tick, timepoint, worst, doses)
    assert alerts(gen.engine) == []


def test_an_opioid_rise_across_a_change_of_table_still_alerts_and_says_so(gen, tick):
    """The site changed its conversion table between baseline and week 1: the rise may be
    real, so the alert goes, telling the nurse the figures are not like for like."""
    gen.patient(gen.site(), now=ENROLLED, procedure_date=date(2027, 1, 11))
    answer(gen.engine, tick, "baseline", 6, 6)  # 60 mg/day
    with session_scope(gen.engine) as session:
        baseline = session.exec(
            select(SurveyInstance).where(SurveyInstance.timepoint == "baseline")
        ).one()
        table, version = baseline.omed_table, baseline.omed_table_version
        assert table and version
        baseline.omed_table_version = "2019"
    answer(gen.engine, tick, "week1", 4, 8)  # 80: +33%
    with Session(gen.engine) as session:
        (alert,) = session.exec(select(Alert)).all()
    assert alert.kind == "opioid_up"
    assert f"baseline {table} 2019, now {table} {version}" in alert.summary
    answer(gen.engine, tick, "week2", 4, 8)
    with Session(gen.engine) as session:
        assert all("different tables" in a.summary for a in session.exec(select(Alert)))


def _correct_pain(engine, nurse_id: int, timepoint: str, worst: int) -> None:
    from pro_app.nurse.phone_entry import save_entry

    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(SurveyInstance.timepoint == timepoint)
        ).one()
        pain = {"worst": worst, "average": worst, "now": worst}
        save_entry(session, instance, {"pain_nrs": pain}, user_id=nurse_id, now=instance.due_at)


def test_correcting_an_earlier_timepoint_repeats_no_alert_and_files_none_under_it(gen, tick):
    """Week 2 and week 4 are worse than baseline (alerted at week 4); week 1 was better.
    Correcting week 1 judges where the patient is now, week 4, already alerted."""
    site = gen.site()
    gen.patient(site, now=ENROLLED, procedure_date=date(2027, 1, 11))
    for timepoint, worst in (("baseline", 5), ("week1", 3), ("week2", 8), ("week4", 8)):
        answer(gen.engine, tick, timepoint, worst, 3)
    assert alerts(gen.engine) == [("pain_worse", "week4")]
    _correct_pain(gen.engine, gen.user(site).id, "week1", 2)
    assert alerts(gen.engine) == [("pain_worse", "week4")]


def test_correcting_the_baseline_checks_the_latest_timepoint_against_it(gen, tick):
    """Baseline 9 was a slip for 2: week 1 and week 2 (4 each) are then 2 points worse."""
    site = gen.site()
    gen.patient(site, now=ENROLLED, procedure_date=date(2027, 1, 11))
    for timepoint, worst in (("baseline", 9), ("week1", 4), ("week2", 4)):
        answer(gen.engine, tick, timepoint, worst, 3)
    assert alerts(gen.engine) == []
    _correct_pain(gen.engine, gen.user(site).id, "baseline", 2)
    assert alerts(gen.engine) == [("pain_worse", "week2")]
