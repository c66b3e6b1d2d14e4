"""``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite."""

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_ignore_statement(session: Session, model: type[SQLModel]):
    """An ``INSERT ... ON CONFLICT DO NOTHING`` for ``model``'s table, for executemany."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model.__table__).on_conflict_do_nothing()


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> int | None:
    """Insert one row unless it breaks a unique constraint; return its id, or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    row = model(**values).model_dump(exclude={"id"})  # applies the model's defaults
    statement = insert(table).values(**row).on_conflict_do_nothing().returning(table.c.id)
    return session.execute(statement).scalar_one_or_none()
