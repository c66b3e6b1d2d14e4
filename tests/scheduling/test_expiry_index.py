"""The expiry pass reads a partial index of unfinished surveys, and still expires the right ones."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import inspect, text, update
from sqlmodel import select

from pro_app.models import InstanceStatus, SurveyInstance
from pro_app.scheduling.invitations import _not_finished, expire_closed
from pro_app.storage.engine import session_scope
from tests.tick_helpers import instances

INDEX = "ix_survey_instance_unfinished_closes_at"
ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PROCEDURE = date(2027, 1, 11)


def _index_sql(engine) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
        else:
            query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        return connection.execute(text(query), {"name": INDEX}).scalar() or ""


def test_the_migrated_schema_has_the_partial_index(engine):
    names = {index["name"] for index in inspect(engine).get_indexes("survey_instance")}
    assert INDEX in names
    assert "ix_survey_instance_status_closes_at" in names  # what SQLite picks without stats
    definition = _index_sql(engine).lower()
    assert "(closes_at, id)" in definition
    for status in ("scheduled", "sent", "in_progress"):
        assert f"'{status}'" in definition
    assert "'completed'" not in definition and "'expired'" not in definition


def _set(engine, instance_id: int, **values) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(SurveyInstance).where(SurveyInstance.id == instance_id).values(**values)
        )


def test_expiry_takes_windows_closed_at_or_before_now_and_nothing_finished(gen):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    first, second, third, fourth, fifth, *_ = instances(gen.engine, enrolled.patient.id)
    now = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    _set(gen.engine, first.id, status=InstanceStatus.SENT, closes_at=now)  # closes right now
    _set(
        gen.engine, second.id, status=InstanceStatus.IN_PROGRESS, closes_at=now - timedelta(days=2)
    )
    _set(gen.engine, third.id, closes_at=now - timedelta(microseconds=1))  # never invited
    _set(
        gen.engine, fourth.id, status=InstanceStatus.SENT, closes_at=now + timedelta(microseconds=1)
    )
    _set(gen.engine, fifth.id, status=InstanceStatus.COMPLETED, closes_at=now - timedelta(days=9))

    expired, _alerts = expire_closed(gen.engine, now)

    assert expired == 3

    status = {i.id: i.status for i in instances(gen.engine, enrolled.patient.id)}
    assert status[first.id] == status[second.id] == status[third.id] == InstanceStatus.EXPIRED
    assert status[fourth.id] == InstanceStatus.SENT
    assert status[fifth.id] == InstanceStatus.COMPLETED
    assert expire_closed(gen.engine, now) == (0, 0)


def test_a_backlog_expires_in_batches_earliest_closed_first(gen):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    planned = instances(gen.engine, enrolled.patient.id)
    now = datetime(2028, 3, 1, 10, 0, tzinfo=UTC)
    for n, instance in enumerate(planned):  # the last planned closes first
        _set(gen.engine, instance.id, closes_at=now - timedelta(days=len(planned) - n))
    _set(gen.engine, planned[0].id, closes_at=now - timedelta(days=1))
    _set(gen.engine, planned[-1].id, closes_at=now - timedelta(days=30))

    assert expire_closed(gen.engine, now, limit=2, budget_s=0)[0] == 2

    expired = {i.id for i in instances(gen.engine, enrolled.patient.id) if i.status == "expired"}
    assert expired == {planned[-1].id, planned[1].id}


def test_the_expiry_query_is_answered_from_the_partial_index(engine):
    """The status list is written into the SQL, so the database can prove the index's
    predicate in every plan (a prepared statement's generic plan could not from
    parameters) and reads the candidates in order, without sorting."""
    statement = (
        select(SurveyInstance.id)
        .where(_not_finished(), SurveyInstance.closes_at <= datetime(2027, 3, 1, tzinfo=UTC))
        .order_by(SurveyInstance.closes_at, SurveyInstance.id)
        .limit(1000)
    )
    compiled = statement.compile(engine, compile_kwargs={"render_postcompile": True})
    assert "IN ('scheduled', 'sent', 'in_progress')" in str(compiled)
    parameters = compiled.params
    if engine.dialect.name == "sqlite":
        parameters = tuple(
            processor(value) if (processor := compiled._bind_processors.get(name)) else value
            for name, value in compiled.construct_params().items()
        )
        # An empty table gives SQLite nothing to choose by: ask for the index, which it
        # refuses ("no query solution") if the WHERE clause does not imply its predicate.
        sql = str(compiled).replace(
            "FROM survey_instance", f"FROM survey_instance INDEXED BY {INDEX}"
        )
        explain = "EXPLAIN QUERY PLAN "
    else:
        sql = str(compiled)
        explain = "EXPLAIN "
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":  # an empty table: rule out the alternatives
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            connection.exec_driver_sql("SET LOCAL enable_sort = off")
        rows = connection.exec_driver_sql(explain + sql, parameters).all()
        connection.rollback()
    plan = "\n".join(str(row[-1]) for row in rows)
    assert INDEX in plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan
