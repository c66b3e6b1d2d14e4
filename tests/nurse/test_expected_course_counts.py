"""The expected course read from kept counts equals the course from a full scan of the
site's completed surveys: answers by web, by text and by phone, corrections, two sites."""

import random
from collections import Counter, defaultdict
from datetime import timedelta

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from pro_app.audit.statistics import median, quartiles
from pro_app.followup.answer_saving import complete, save_answers
from pro_app.followup.cohort_counts import MEASURES, recount
from pro_app.models import (
    ExpectedCourseCount,
    InstanceStatus,
    Patient,
    Response,
    SurveyInstance,
)
from pro_app.nurse.expected_course import (
    MIN_PER_TIMEPOINT,
    MIN_SITE_BASELINES,
    ExpectedCourse,
    _Ordered,
    expected_course,
)
from pro_app.nurse.phone_entry import save_entry
from pro_app.nurse.trajectory import CohortBand
from pro_app.storage.engine import session_scope
from pro_app.storage.migrate import alembic_config, upgrade
from tests.factories import Factory
from tests.messaging.test_channel_parity import (
    BASELINE,
    ENROLLED,
    _answer_by_text,
    _answer_by_web,
    _instance,
)
from tests.messaging.test_sms_webhooks import Twilio


def full_scan_course(session: Session, site_id: int) -> ExpectedCourse:
    """The expected course as it was computed before the counts: every completed survey."""

    def values(site: int | None):
        found = {m: defaultdict(lambda: ([], [])) for m in MEASURES}
        for measure, column in MEASURES.items():
            value = getattr(SurveyInstance, column)
            statement = (
                select(SurveyInstance.timepoint, SurveyInstance.day_offset, value)
                .join(Patient, Patient.id == SurveyInstance.patient_id)
                .where(SurveyInstance.status == InstanceStatus.COMPLETED, value.is_not(None))
            )
            if site is not None:
                statement = statement.where(Patient.site_id == site)
            for timepoint, day, number in session.exec(statement):
                found[measure][timepoint][0].append(day)
                found[measure][timepoint][1].append(number)
        return found

    def bands(found):
        result = {}
        for measure, by_timepoint in found.items():
            rows = []
            for timepoint, (days, numbers) in by_timepoint.items():
                if len(numbers) < MIN_PER_TIMEPOINT:
                    continue
                q1, q3 = quartiles(numbers)
                rows.append(
                    CohortBand(
                        timepoint, round(median(days)), q1, median(numbers), q3, len(numbers)
                    )
                )
            result[measure] = sorted(rows, key=lambda band: band.day)
        return result

    own = values(site_id)
    if len(own["worst_pain"].get("baseline", ([], []))[1]) >= MIN_SITE_BASELINES:
        return ExpectedCourse("This site's patients", bands(own))
    return ExpectedCourse("All sites' patients", bands(values(None)))


def counts(engine) -> list[tuple]:
    with Session(engine) as session:
        table = ExpectedCourseCount.__table__
        rows = session.execute(sa_select(table).where(table.c.n > 0).order_by(*table.c))
        return [tuple(row) for row in rows]


def assert_kept_equals_full_scan(engine, *site_ids: int) -> ExpectedCourse:
    with Session(engine) as session:
        courses = [(expected_course(session, s), full_scan_course(session, s)) for s in site_ids]
    for kept, scanned in courses:
        assert kept == scanned
    kept_counts = counts(engine)
    recount(engine)  # rebuilt from the survey instances: the same table
    assert counts(engine) == kept_counts
    return courses[0][0]


def answer_directly(engine, patient_id: int, worst: int, qol: int) -> None:
    """Pain and quality of life saved and completed through the saving functions."""
    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == patient_id, SurveyInstance.timepoint == "baseline"
            )
        ).one()
        instance.status = InstanceStatus.SENT
        at = instance.due_at
        pain = {"worst": worst, "average": worst, "now": worst}
        save_answers(session, instance, "pain_nrs", pain, channel="web", now=at)
        save_answers(session, instance, "qol_overall", {"overall": qol}, channel="web", now=at)
        complete(session, instance, now=at)


def test_counts_kept_across_channels_and_corrections_give_the_full_scan_course(
    gen, tick, clock, web_and_text
):
    site = gen.site(team_phone="0113 496 0123")
    nurse = gen.user(site)
    twilio = Twilio(web_and_text)
    twilio.engine = gen.engine
    by_web = [gen.patient(site, now=ENROLLED, channel="link").patient for _ in range(2)]
    by_text = [gen.patient(site, now=ENROLLED, channel="sms").patient for _ in range(2)]
    by_phone = gen.patient(site, now=ENROLLED, channel="link").patient
    at = _instance(gen.engine, by_web[0].id, "baseline").due_at + timedelta(minutes=5)
    clock.move_to(at)
    tick(at)
    for patient, worst in zip(by_web, (2, 9), strict=True):
        told = {**BASELINE, "worst": worst, "qol": 10 - worst}
        _answer_by_web(web_and_text, _instance(gen.engine, patient.id, "baseline"), told, "same")
    for patient, worst in zip(by_text, (4, 8), strict=True):
        told = {**BASELINE, "worst": worst, "qol": 10 - worst}
        instance = _instance(gen.engine, patient.id, "baseline")
        _answer_by_text(twilio, patient.phone_e164, instance, told, "same")
    with session_scope(gen.engine) as session:
        instance = session.get(SurveyInstance, _instance(gen.engine, by_phone.id, "baseline").id)
        entry = {"pain_nrs": {"worst": 6, "average": 5, "now": 5}, "qol_overall": {"overall": 4}}
        save_entry(session, instance, entry, user_id=nurse.id, now=at)
    course = assert_kept_equals_full_scan(gen.engine, site.id)
    pain = course.bands["worst_pain"][0]
    assert (pain.timepoint, pain.n, pain.q1, pain.median, pain.q3) == ("baseline", 5, 4, 6, 8)
    assert {row.channel for row in _current_pain(gen.engine)} == {"web", "sms", "nurse"}

    # A nurse corrects a completed timepoint: 9 becomes 1; then the same answer again.
    for worst in (1, 1):
        with session_scope(gen.engine) as session:
            corrected = _instance(gen.engine, by_web[1].id, "baseline")
            instance = session.get(SurveyInstance, corrected.id)
            pain_answer = {"worst": worst, "average": 1, "now": 1}
            save_answers(session, instance, "pain_nrs", pain_answer, channel="nurse", now=at)
        course = assert_kept_equals_full_scan(gen.engine, site.id)
        pain = course.bands["worst_pain"][0]
        assert (pain.n, pain.q1, pain.median, pain.q3) == (5, 2, 4, 6)

    # A second site large enough to stand alone; the first still sees every site's patients.
    large = gen.site()
    for number in range(MIN_SITE_BASELINES):
        patient = gen.patient(large, now=ENROLLED).patient
        answer_directly(gen.engine, patient.id, worst=3 + number % 4, qol=number % 11)
    own = assert_kept_equals_full_scan(gen.engine, large.id, site.id)
    assert own.label == "This site's patients" and own.bands["worst_pain"][0].n == 20
    with Session(gen.engine) as session:
        shared = expected_course(session, site.id)
    assert shared.label == "All sites' patients" and shared.bands["worst_pain"][0].n == 25


def _current_pain(engine):
    with Session(engine) as session:
        return session.exec(
            select(Response).where(Response.instrument_id == "pain_nrs", Response.is_current)
        ).all()


def test_a_survey_submitted_twice_counts_once(gen):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED).patient
    answer_directly(gen.engine, patient.id, worst=5, qol=5)
    with session_scope(gen.engine) as session:  # a second "Submit" on the same survey
        instance = session.get(SurveyInstance, _instance(gen.engine, patient.id, "baseline").id)
        complete(session, instance, now=ENROLLED)
    assert [row[-1] for row in counts(gen.engine) if row[1] == "worst_pain"] == [1]


def test_quantiles_from_counts_match_the_audit_statistics_exactly():
    rng = random.Random(7)
    for _ in range(300):
        values = [rng.choice((0, 1, 2.5, 3, 7.5, 10, 22.5, 40)) for _ in range(rng.randint(1, 60))]
        ordered = _Ordered(Counter(values))
        assert ordered.median() == median(values)
        assert (ordered.quantile(0.25), ordered.quantile(0.75)) == quartiles(values)


def test_migration_0010_fills_the_counts_from_completed_surveys(own_database):
    engine = own_database
    factory = Factory(engine)
    site = factory.site()
    for worst in (2, 4, 6, 8, 9):
        answer_directly(engine, factory.patient(site, now=ENROLLED).patient.id, worst, 10 - worst)
    kept = counts(engine)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(
            config, ScriptDirectory.from_config(config).get_revision("0010").down_revision
        )
    upgrade(engine)
    assert counts(engine) == kept and len(kept) == 10  # five pains, five qualities of life
