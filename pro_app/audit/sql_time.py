"""Time arithmetic done in SQL, the same on SQLite and PostgreSQL.

The patient-level export reports every answer's times relative to its due time and the
procedure. Working them out in the query saves parsing three quarters of a million
timestamps in Python. Times are UTC: naive ISO text on SQLite, ``timestamptz`` on
PostgreSQL.
"""

from sqlalchemy import Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class hours_between(FunctionElement):  # noqa: N801 (used like a SQL function)
    """``later - earlier`` in hours, rounded to 0.1; NULL if either is NULL."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


class days_from_date(FunctionElement):  # noqa: N801
    """Whole days from a date to the UTC calendar day of a moment."""

    type = Integer()
    name = "days_from_date"
    inherit_cache = True


def _arguments(element, compiler, **kw) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses.clauses]


@compiles(hours_between)
def _hours_postgresql(element, compiler, **kw) -> str:
    later, earlier = _arguments(element, compiler, **kw)
    return (
        f"CAST(round(CAST(EXTRACT(EPOCH FROM ({later}) - ({earlier})) / 3600 AS numeric), 1)"
        " AS double precision)"
    )


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw) -> str:
    later, earlier = _arguments(element, compiler, **kw)
    return f"round((julianday({later}) - julianday({earlier})) * 24, 1)"


@compiles(days_from_date)
def _days_postgresql(element, compiler, **kw) -> str:
    moment, start = _arguments(element, compiler, **kw)
    return f"(CAST(({moment}) AT TIME ZONE 'UTC' AS date) - ({start}))"


@compiles(days_from_date, "sqlite")
def _days_sqlite(element, compiler, **kw) -> str:
    moment, start = _arguments(element, compiler, **kw)
    return f"CAST(julianday(date({moment})) - julianday({start}) AS INTEGER)"
