"""How a PostgreSQL transaction ends: one that only read keeps psycopg's prepared
statements; anything that wrote is still rolled back."""

import pytest
from sqlalchemy import func, select, text
from sqlmodel import Session

from pro_app.models import Site
from pro_app.storage.engine import make_engine


@pytest.fixture
def postgres(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's transactions: PostgreSQL only")
    return engine


def _prepared(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


def _read_often(session: Session) -> None:
    for site_id in range(8):  # psycopg prepares a statement from its sixth run
        session.execute(select(Site.id).where(Site.id == site_id)).all()


def test_a_session_that_only_read_keeps_its_prepared_statements(postgres):
    with postgres.connect() as connection:
        with Session(connection) as session:
            _read_often(session)
            assert _prepared(connection) >= 1
        # The session closed without committing: its transaction ended as a read.
        assert not connection.in_transaction()
        assert _prepared(connection) >= 1


def test_a_session_that_wrote_and_did_not_commit_is_rolled_back(engine, gen):
    site = gen.site()
    with engine.connect() as connection, Session(connection) as session:
        _read_often(session)
        session.execute(text("UPDATE site SET name = 'changed' WHERE id = :id"), {"id": site.id})
    with Session(engine) as session:
        assert session.get(Site, site.id).name == site.name
        assert session.scalar(select(func.count()).select_from(Site)) == 1


def test_an_orm_change_flushed_and_not_committed_is_rolled_back(engine, gen):
    site = gen.site()
    with Session(engine) as session:
        _read_often(session)
        session.get(Site, site.id).name = "changed"
        session.flush()
    with Session(engine) as session:
        assert session.get(Site, site.id).name == site.name


def test_a_lock_taken_by_a_read_is_released_when_the_session_closes(postgres, gen):
    site = gen.site()
    with Session(postgres) as session:
        session.execute(select(Site).where(Site.id == site.id).with_for_update()).all()
    with postgres.connect() as other:
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        other.execute(select(Site).where(Site.id == site.id).with_for_update(nowait=True)).all()


def test_rows_copied_through_the_driver_and_not_committed_are_rolled_back(postgres, gen):
    """``COPY`` bypasses SQLAlchemy: the cursor itself notes it as a write."""
    site = gen.site()
    with postgres.connect() as connection:
        _read_often(Session(connection))
        driver = connection.connection.driver_connection
        columns = "code, name, team_phone, timezone, phone_region, protocol_id, omed_table"
        columns += ", alert_target_hours, min_cell_count, created_at"
        with driver.cursor() as cursor, cursor.copy(f"COPY site ({columns}) FROM STDIN") as copy:
            copy.write_row(
                ("COPIED", "Copied", "0113", "Europe/London", "GB", "default", "opioids_aware")
                + (72, 5, "2027-01-04T09:00:00+00:00")
            )
        connection.rollback()
    with Session(postgres) as session:
        assert session.execute(select(Site.code)).scalars().all() == [site.code]


def test_a_connection_without_the_apps_cursor_always_rolls_back(postgres, gen):
    site = gen.site()
    engine = make_engine(postgres.url.render_as_string(hide_password=False), connect_args={})
    try:
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            with driver.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.execute("UPDATE site SET name = 'changed'")
            connection.rollback()
        with Session(postgres) as session:
            assert session.get(Site, site.id).name == site.name
    finally:
        engine.dispose()


def test_a_write_sent_to_the_driver_before_sqlalchemy_began_is_rolled_back(postgres, gen):
    site = gen.site()
    with postgres.connect() as connection:
        driver = connection.connection.driver_connection
        driver.execute("UPDATE site SET name = 'changed'")
        connection.execute(select(Site.id)).all()  # SQLAlchemy begins only now
        connection.rollback()
    with Session(postgres) as session:
        assert session.get(Site, site.id).name == site.name


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1; UPDATE site SET name = 'changed'",
        "SELECT 'changed' AS name INTO site_copy",
        "SELECT set_config('application_name', 'changed', false)",
    ],
)
def test_a_statement_that_starts_with_select_but_writes_is_rolled_back(postgres, gen, statement):
    site = gen.site()
    engine = make_engine(postgres.url.render_as_string(hide_password=False), pool_size=1)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
            connection.rollback()
        with engine.connect() as connection:  # the same server session, from the pool
            assert connection.exec_driver_sql("SHOW application_name").scalar_one() != "changed"
            assert connection.exec_driver_sql(
                "SELECT to_regclass('site_copy') IS NULL"
            ).scalar_one()
        with Session(engine) as session:
            assert session.get(Site, site.id).name == site.name
    finally:
        engine.dispose()
