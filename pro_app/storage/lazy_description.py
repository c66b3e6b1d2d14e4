"""A psycopg cursor whose ``description`` builds its columns only when one is read.

SQLAlchemy reads ``cursor.description`` after every statement, mostly only to learn
whether rows came back: from a statement's second run it has the result's columns from
its cache. psycopg builds a ``Column`` for every column each time it is asked; for the
survey form's look-up (78 columns) that was about a twentieth of a request's CPU. This
cursor answers with a sequence that knows its length at once and builds the columns
(psycopg's own) the first time one is read.
"""

from collections.abc import Sequence

import psycopg
from psycopg.pq import ExecStatus

_ROWS = tuple(
    getattr(ExecStatus, name)
    for name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")
    if hasattr(ExecStatus, name)
)


class LazyDescriptionCursor(psycopg.Cursor):
    @property
    def description(self):
        result = self.pgresult
        if result is None or not (result.nfields or result.status in _ROWS):
            return None
        return _Description(self, result)


class _Description(Sequence):
    """The columns of one result, built on first reading (as psycopg would build them)."""

    __slots__ = ("_columns", "_cursor", "_result")

    def __init__(self, cursor: psycopg.Cursor, result) -> None:
        self._cursor, self._result, self._columns = cursor, result, None

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        if self._columns is None:
            if self._cursor.pgresult is not self._result:
                raise RuntimeError("a description read after its cursor moved on")
            self._columns = psycopg.Cursor.description.fget(self._cursor)
        return self._columns[index]
