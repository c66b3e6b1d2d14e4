"""``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite.

The statements are built once per dialect and table and executed with the row as
parameters, so SQLAlchemy compiles each once (its compiled cache) instead of coercing
every column's value into a new statement on each call: on the SMS webhook, building
them per request cost about a third of its CPU.
"""

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


@cache
def _insert_ignore(dialect: str, table: Table):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


@cache
def _insert_ignore_returning_id(dialect: str, table: Table):
    return _insert_ignore(dialect, table).returning(table.c.id)


def insert_ignore_statement(session: Session, model: type[SQLModel]):
    """An ``INSERT ... ON CONFLICT DO NOTHING`` for ``model``'s table, for executemany."""
    return _insert_ignore(session.get_bind().dialect.name, model.__table__)


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> int | None:
    """Insert one row unless it breaks a unique constraint; return its id, or None."""
    row = model(**values).model_dump(exclude={"id"})  # applies the model's defaults
    statement = _insert_ignore_returning_id(session.get_bind().dialect.name, model.__table__)
    return session.execute(statement, row).scalar_one_or_none()
