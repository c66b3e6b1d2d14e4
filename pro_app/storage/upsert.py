"""``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite.

The statements are built once per dialect and table and executed with the row as
parameters, so SQLAlchemy compiles each once (its compiled cache) instead of coercing
every column's value into a new statement on each call: on the SMS webhook, building
them per request cost about a third of its CPU. The row takes the model's defaults for
the fields it leaves out, read from the model's field definitions (building a model
object only to dump it again cost a tenth of the webhook's CPU).
"""

from copy import deepcopy
from enum import Enum
from functools import cache, partial
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

_IMMUTABLE = (str, int, float, bool, bytes, Enum, type(None))


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


@cache
def _defaults(model: type[SQLModel]) -> tuple[tuple[str, Any, Any], ...]:
    """Each field but ``id`` with a default: (name, its factory or None, the default).
    A mutable default is copied for each row, as pydantic copies it for each object."""
    found = []
    for name, field in model.model_fields.items():
        if name == "id" or field.is_required():
            continue
        factory, default = field.default_factory, field.default
        if factory is None and not isinstance(default, _IMMUTABLE):
            factory = partial(deepcopy, default)
        found.append((name, factory, default))
    return tuple(found)


def row_values(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the model's defaults for the fields it leaves out, as
    ``model(**values).model_dump(exclude={"id"})`` gives them (unknown keys dropped,
    a field without a default left out)."""
    row = {name: values[name] for name in _fields(model) if name in values}
    for name, factory, default in _defaults(model):
        if name not in row:
            row[name] = factory() if factory is not None else default
    return row


@cache
def _fields(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(name for name in model.model_fields if name != "id")


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> int | None:
    """Insert one row unless it breaks a unique constraint; return its id, or None.

    It runs on the session's connection, without the session's autoflush: a row it
    refers to that was only added to the session must be flushed first."""
    row = row_values(model, values)
    statement = _insert_ignore_returning_id(session.get_bind().dialect.name, model.__table__)
    return session.connection().execute(statement, row).scalar_one_or_none()
