"""Each questionnaire has one current answer, and each timepoint keeps its key outcomes
(pain, opioid use, quality of life, channel) in step with its current answers."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import event, literal
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pro_app.audit.sql_time import days_from_date
from pro_app.followup.answer_saving import complete, save_answers
from pro_app.models import Response, SurveyInstance
from pro_app.models.types import UTCDateTime
from pro_app.storage.engine import session_scope
from pro_app.storage.migrate import alembic_config, upgrade
from tests.factories import Factory

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PROCEDURE = date(2027, 1, 11)
AT = ENROLLED + timedelta(hours=1)  # when the answers are given


def baseline_of(session: Session, patient_id: int) -> SurveyInstance:
    return session.exec(
        select(SurveyInstance).where(
            SurveyInstance.patient_id == patient_id, SurveyInstance.timepoint == "baseline"
        )
    ).one()


def answer_baseline(engine, patient_id: int) -> int:
    """Pain 8 by web, morphine 3 x 10 mg, quality of life 4; then a nurse corrects pain to 6."""
    with session_scope(engine) as session:
        instance = baseline_of(session, patient_id)
        instance.status = "sent"
        pain = {"worst": 8, "average": 7, "now": 7}
        save_answers(session, instance, "pain_nrs", pain, channel="web", now=AT)
        medicines = {"medicines": [{"drug": "morphine", "strength": 10, "doses": 3}]}
        save_answers(session, instance, "analgesic_use", medicines, channel="web", now=AT)
        save_answers(session, instance, "qol_overall", {"overall": 4}, channel="web", now=AT)
        correction = {"worst": 6, "average": 5}
        save_answers(session, instance, "pain_nrs", correction, channel="nurse", now=AT)
        return instance.id


def assert_current_and_key_outcomes(engine, instance_id: int) -> None:
    with Session(engine) as session:
        rows = session.exec(
            select(Response).where(Response.instance_id == instance_id).order_by(Response.id)
        ).all()
        instance = session.get(SurveyInstance, instance_id)
    assert [(r.instrument_id, r.is_current) for r in rows] == [
        ("pain_nrs", False),
        ("analgesic_use", True),
        ("qol_overall", True),
        ("pain_nrs", True),
    ]
    assert rows[3].supersedes_id == rows[0].id
    assert (instance.pain_worst, instance.pain_average) == (6, 5)
    assert (instance.omed_mg_per_day, instance.any_opioid, instance.omed_needs_review) == (
        30,
        True,
        False,
    )
    assert instance.quality_of_life == 4
    assert instance.answer_channel == "nurse"  # the channel of the (corrected) pain answer


def test_a_correction_replaces_the_current_answer_and_the_key_outcomes(engine, gen):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    assert_current_and_key_outcomes(engine, answer_baseline(engine, patient.id))


def test_the_database_holds_one_current_answer_per_questionnaire(engine, gen):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    instance_id = answer_baseline(engine, patient.id)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(
            Response(
                instance_id=instance_id,
                instrument_id="pain_nrs",
                instrument_version="1",
                channel="web",
                answers={"worst": 1},
                scores={"worst": 1.0},
            )
        )


def test_the_migration_marks_current_answers_and_copies_key_outcomes(own_database):
    engine = own_database
    factory = Factory(engine)
    patient = factory.patient(factory.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    instance_id = answer_baseline(engine, patient.id)
    config = alembic_config(engine)
    with engine.begin() as connection:  # back to before the columns existed
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    upgrade(engine)
    assert_current_and_key_outcomes(engine, instance_id)


def test_the_migration_keeps_the_later_of_two_first_answers_saved_at_once(own_database):
    """Before saves queued on a lock, a double tap could store two first answers."""
    engine = own_database
    factory = Factory(engine)
    patient = factory.patient(factory.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    instance_id = answer_baseline(engine, patient.id)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        connection.exec_driver_sql(
            "INSERT INTO response (instance_id, instrument_id, instrument_version, channel,"
            " answers, scores, created_at) SELECT instance_id, instrument_id,"
            " instrument_version, channel, answers, '{\"overall\": 9.0}', created_at"
            " FROM response WHERE instrument_id = 'qol_overall'"
        )
    upgrade(engine)
    with Session(engine) as session:
        answers = session.exec(
            select(Response.scores, Response.is_current)
            .where(Response.instance_id == instance_id, Response.instrument_id == "qol_overall")
            .order_by(Response.id)
        ).all()
        assert [tuple(row) for row in answers] == [
            ({"overall": 4.0}, False),
            ({"overall": 9.0}, True),
        ]
        assert session.get(SurveyInstance, instance_id).quality_of_life == 9


def test_days_since_the_procedure_are_counted_in_sql_on_the_utc_calendar(engine):
    late_evening = datetime(2027, 2, 1, 23, 30, tzinfo=UTC)
    statement = sa_select(
        days_from_date(literal(late_evening, UTCDateTime), literal(date(2027, 1, 4))),
        days_from_date(literal(late_evening, UTCDateTime), literal(date(2027, 2, 8))),
        days_from_date(literal(None, UTCDateTime), literal(date(2027, 2, 8))),
    )
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":  # a session zone where 23:30 UTC is tomorrow
            connection.exec_driver_sql("SET TIME ZONE 'Pacific/Auckland'")
        found = connection.execute(statement).one()
    assert tuple(found) == (28, -7, None)


def test_the_timepoint_channel_is_the_pain_answers_else_quality_of_life(engine, gen):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    with session_scope(engine) as session:
        instance = baseline_of(session, patient.id)
        instance.status = "sent"
        no_flags = {"weakness": "no", "numbness": "no", "bladder_bowel": "no", "fever": "no"}
        save_answers(session, instance, "red_flags", no_flags, channel="sms", now=AT)
        assert instance.answer_channel is None  # red flags alone say nothing of the channel
        medicines = {"medicines": []}
        save_answers(session, instance, "analgesic_use", medicines, channel="sms", now=AT)
        assert instance.answer_channel == "sms"
        save_answers(session, instance, "qol_overall", {"overall": 6}, channel="nurse", now=AT)
        assert instance.answer_channel == "nurse"  # quality of life comes before opioid use
        pain = {"worst": 4, "average": 3, "now": 3}
        save_answers(session, instance, "pain_nrs", pain, channel="web", now=AT)
        assert instance.answer_channel == "web"
        save_answers(session, instance, "qol_overall", {"overall": 7}, channel="sms", now=AT)
        assert (instance.answer_channel, instance.quality_of_life) == ("web", 7)


def first_save_left_open(engine, gen) -> tuple[int, Session, SurveyInstance]:
    """A patient's baseline with a quality-of-life answer saved in a session not yet
    committed (so it holds the instance's lock)."""
    patient = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    with session_scope(engine) as session:
        baseline_of(session, patient.id).status = "sent"
    first = Session(engine)
    instance = baseline_of(first, patient.id)
    save_answers(first, instance, "qol_overall", {"overall": 4}, channel="web", now=AT)
    return patient.id, first, instance


def test_two_saves_at_once_queue_rather_than_collide(engine, gen):
    """A double tap: the second save waits for the first, then supersedes it."""
    patient_id, first, instance = first_save_left_open(engine, gen)
    instance_id = instance.id
    outcome: list = []

    def second_save() -> None:
        try:
            with session_scope(engine) as second:
                again = baseline_of(second, patient_id)
                save_answers(second, again, "qol_overall", {"overall": 5}, channel="web", now=AT)
            outcome.append("saved")
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            outcome.append(repr(exc))

    worker = threading.Thread(target=second_save)
    worker.start()
    worker.join(timeout=1)
    assert worker.is_alive() and outcome == []  # waiting for the first to commit
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert outcome == ["saved"]
    with Session(engine) as session:
        rows = session.exec(
            select(Response).where(Response.instance_id == instance_id).order_by(Response.id)
        ).all()
        assert [(r.answers["overall"], r.is_current) for r in rows] == [(4, False), (5, True)]
        assert rows[1].supersedes_id == rows[0].id
        assert session.get(SurveyInstance, instance_id).quality_of_life == 5


def test_the_instance_is_locked_once_a_transaction_and_again_after_a_commit(engine, gen):
    """Two saves in one transaction lock and read the instance once and still supersede
    in order; the next transaction takes the lock again (it was released at commit)."""
    patient = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    with session_scope(engine) as session:
        baseline_of(session, patient.id).status = "sent"
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, sql, *_: statements.append(sql))
    locks = lambda: sum(sql.lstrip().startswith("SELECT survey_instance.") for sql in statements)  # noqa: E731
    with Session(engine, expire_on_commit=False) as session:  # as the app's sessions
        instance = baseline_of(session, patient.id)
        statements.clear()
        for overall in (4, 5):
            save_answers(
                session, instance, "qol_overall", {"overall": overall}, channel="web", now=AT
            )
        assert locks() == 1
        session.commit()
        save_answers(session, instance, "qol_overall", {"overall": 6}, channel="web", now=AT)
        assert locks() == 2
        session.commit()
        rows = session.exec(
            select(Response).where(Response.instance_id == instance.id).order_by(Response.id)
        ).all()
    assert [(r.answers["overall"], r.is_current) for r in rows] == [
        (4, False),
        (5, False),
        (6, True),
    ]
    assert [r.supersedes_id for r in rows] == [None, rows[0].id, rows[1].id]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_save_that_waited_sees_the_survey_completed_meanwhile(engine, gen):
    """PostgreSQL reads without waiting: the waiting save must not reopen the survey (on
    SQLite the write lock comes first, so a later save sees the completed survey at once)."""
    patient_id, first, instance = first_save_left_open(engine, gen)
    instance_id = instance.id
    complete(first, instance, now=AT)
    outcome: list = []
    read = threading.Event()

    def late_reply() -> None:
        with session_scope(engine) as second:
            again = baseline_of(second, patient_id)  # read as sent: not yet committed
            outcome.append(again.status)
            read.set()
            save_answers(second, again, "qol_overall", {"overall": 5}, channel="web", now=AT)
            outcome.append(again.status)

    worker = threading.Thread(target=late_reply)
    worker.start()
    assert read.wait(timeout=30)  # however loaded the machine, it read before the commit
    worker.join(timeout=1)  # and is now waiting for the survey's lock
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert outcome == ["sent", "completed"]
    with Session(engine) as session:
        assert session.get(SurveyInstance, instance_id).status == "completed"
        current = session.exec(
            select(Response).where(Response.instance_id == instance_id, Response.is_current)
        ).one()
        assert current.answers == {"overall": 5}  # the late answer is kept, not dropped


def test_the_table_of_each_omed_is_kept_and_migration_0007_copies_it(own_database):
    engine = own_database
    factory = Factory(engine)
    site = factory.site(omed_table="cdc_2022")
    patient = factory.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    instance_id = answer_baseline(engine, patient.id)

    def provenance() -> tuple:
        with Session(engine) as session:
            instance = session.get(SurveyInstance, instance_id)
            return instance.omed_table, instance.omed_table_version, instance.omed_implausible

    assert provenance() == ("cdc_2022", "2022", False)
    config = alembic_config(engine)
    with engine.begin() as connection:  # back to before the columns existed
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    upgrade(engine)
    # table and version come back from the stored scores; the plausibility flag was not
    # stored before, so it stays unknown
    assert provenance() == ("cdc_2022", "2022", None)
