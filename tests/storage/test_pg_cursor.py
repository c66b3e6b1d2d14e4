"""psycopg's cursor description, built only when read, says what psycopg's would."""

import psycopg
import pytest
from sqlalchemy import text

from pro_app.storage.pg_cursor import AppCursor


@pytest.fixture
def raw(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("a psycopg cursor")
    with engine.connect() as connection:
        yield connection.connection.dbapi_connection


def test_the_apps_connections_use_it_and_sqlalchemy_reads_columns_through_it(engine, raw):
    assert isinstance(raw.cursor(), AppCursor)
    with engine.connect() as connection:
        statement = "SELECT 1 AS one, 'two'::text AS two, now() AS three -- uncached"
        result = connection.execute(text(statement))
        assert list(result.keys()) == ["one", "two", "three"]
        assert result.one()._mapping["two"] == "two"


def test_it_describes_as_psycopgs_own_cursor_does(raw):
    plain, lazy = psycopg.Cursor(raw), raw.cursor()
    for statement in ("SELECT 1 AS a, 'b'::text AS b, NULL::date AS c", "SELECT"):
        plain.execute(statement)
        lazy.execute(statement)
        assert len(lazy.description) == len(plain.description)
        assert [tuple(c) for c in lazy.description] == [tuple(c) for c in plain.description]
        assert [c.name for c in lazy.description[-2:]] == [c.name for c in plain.description[-2:]]
    lazy.execute("SET LOCAL lock_timeout = '1s'")
    assert lazy.description is None


def test_a_description_read_after_its_cursor_moved_on_is_refused(raw):
    cursor = raw.cursor()
    cursor.execute("SELECT 1 AS a")
    kept = cursor.description
    cursor.execute("SELECT 2 AS b")
    with pytest.raises(RuntimeError, match="moved on"):
        kept[0]
    assert cursor.description[0].name == "b"
