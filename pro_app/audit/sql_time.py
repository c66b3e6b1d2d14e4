"""Date and time expressions for the exports, the same on SQLite and PostgreSQL.

The patient-level export reports each answer's day relative to the procedure, and the
alert handling each alert's hours to acknowledgement; working them out in the query
saves parsing hundreds of thousands of dates in Python. Times are UTC:
naive ISO text on SQLite, ``timestamptz`` on PostgreSQL, and read as SQLite's text.
"""

from sqlalchemy import Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_from_date(FunctionElement):  # noqa: N801 (used like a SQL function)
    """Whole days from a date to the UTC calendar day of a moment."""

    type = Integer()
    name = "days_from_date"
    inherit_cache = True


class utc_text(FunctionElement):  # noqa: N801 (used like a SQL function)
    """A moment as naive UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``, as SQLite stores it:
    cheaper to fetch than a timestamp, and read back the same way on both databases."""

    type = String()
    name = "utc_text"
    inherit_cache = True


def _arguments(element, compiler, **kw) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses.clauses]


@compiles(days_from_date)
def _days_postgresql(element, compiler, **kw) -> str:
    moment, start = _arguments(element, compiler, **kw)
    return f"(CAST(({moment}) AT TIME ZONE 'UTC' AS date) - ({start}))"


@compiles(days_from_date, "sqlite")
def _days_sqlite(element, compiler, **kw) -> str:
    moment, start = _arguments(element, compiler, **kw)
    return f"CAST(julianday(date({moment})) - julianday({start}) AS INTEGER)"


@compiles(utc_text)
def _utc_text_postgresql(element, compiler, **kw) -> str:
    (moment,) = _arguments(element, compiler, **kw)
    return f"to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"


@compiles(utc_text, "sqlite")
def _utc_text_sqlite(element, compiler, **kw) -> str:
    (moment,) = _arguments(element, compiler, **kw)
    return moment


class hours_between(FunctionElement):  # noqa: N801 (used like a SQL function)
    """Hours from an earlier moment to a later one (negative if it is not later)."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between)
def _hours_postgresql(element, compiler, **kw) -> str:
    later, earlier = _arguments(element, compiler, **kw)
    return f"(EXTRACT(EPOCH FROM (({later}) - ({earlier}))) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element, compiler, **kw) -> str:
    later, earlier = _arguments(element, compiler, **kw)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"
