"""The app's psycopg cursor: it notes which transactions wrote, and builds its
``description`` only when a column is read.

- **Writes.** ``engine`` ends a transaction that only read with COMMIT rather than
  ROLLBACK, so psycopg keeps its prepared statements. Whether a transaction wrote is
  seen here, on every statement the driver is given (SQLAlchemy's, and any sent to the
  driver directly, such as ``COPY``): anything but one plain ``SELECT`` counts as a
  write.
- **Description.** SQLAlchemy reads ``cursor.description`` after every statement, mostly
  only to learn whether rows came back (from a statement's second run it has the
  result's columns from its cache). psycopg builds a ``Column`` for every column each
  time; for the survey form's look-up (78 columns) that was about a twentieth of a
  request's CPU. Here it is a sequence that knows its length at once and builds the
  columns (psycopg's own) the first time one is read.
"""

import re
from collections.abc import Sequence
from functools import lru_cache
from weakref import WeakSet

import psycopg
from psycopg.pq import ExecStatus, TransactionStatus

_ROWS = tuple(
    getattr(ExecStatus, name)
    for name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")
    if hasattr(ExecStatus, name)
)

# Connections whose open transaction was given anything but a plain SELECT.
_WROTE: WeakSet = WeakSet()


# In a statement that starts with SELECT, what may still write or outlive a rollback:
# a second statement, SELECT ... INTO (a new table), a setting kept for the session, a
# notification, a large object. A SELECT calling a function of its own that writes is
# not seen: the app has none.
_MAY_WRITE = re.compile(r";\s*\S|\bINTO\b|\bSET_CONFIG\b|\bPG_NOTIFY\b|\bLO_", re.IGNORECASE)


def _reads_only(query) -> bool:
    if isinstance(query, bytes):
        query = query.decode("utf-8", "replace")
    if not isinstance(query, str):
        return False  # a composed query: not looked into, so counted as a write
    return _plain_select(query)


@lru_cache(maxsize=1024)  # SQLAlchemy sends the same few statements again and again
def _plain_select(query: str) -> bool:
    return query.lstrip()[:6].upper() == "SELECT" and _MAY_WRITE.search(query) is None


def wrote(connection: psycopg.Connection) -> bool:
    """Whether ``connection``'s transaction was given a statement that may write."""
    return connection in _WROTE


def transaction_began(connection: psycopg.Connection) -> None:
    """A new transaction: forget the last one's writes, unless the server's transaction is
    already open (a statement given to the driver directly before SQLAlchemy began)."""
    if connection.info.transaction_status == TransactionStatus.IDLE:
        _WROTE.discard(connection)


class AppCursor(psycopg.Cursor):
    def execute(self, query, params=None, **kwargs):
        if not _reads_only(query):
            _WROTE.add(self.connection)
        return super().execute(query, params, **kwargs)

    def executemany(self, query, params_seq, **kwargs):
        _WROTE.add(self.connection)
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        _WROTE.add(self.connection)
        return super().copy(statement, params, **kwargs)

    def stream(self, query, params=None, **kwargs):
        if not _reads_only(query):
            _WROTE.add(self.connection)
        return super().stream(query, params, **kwargs)

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
