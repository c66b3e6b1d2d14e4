"""Engines and session scopes for SQLite and PostgreSQL (no Flask needed)."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from .pg_cursor import AppCursor, transaction_began, wrote


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout.

    SQL parameters are hidden from error messages and logs: they carry names, phone
    numbers and notes.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("connect_args", {"cursor_factory": AppCursor})
    engine = create_engine(url, **kwargs)
    if is_sqlite(engine):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        _keep_prepared_statements(engine)
    return engine


def _keep_prepared_statements(engine: Engine) -> None:
    """End a transaction that only read with COMMIT, so psycopg keeps its prepared statements.

    psycopg prepares a statement on a connection once it has run five times, which spares
    PostgreSQL planning it again (for the survey page's look-up, about 0.5 ms of the
    server's CPU a request). But psycopg forgets every prepared statement on ROLLBACK, and
    a session that only read ends with one when it closes: so a connection serving page
    views never kept any. Committing a transaction that ran nothing but SELECTs ends it as
    a rollback would (its locks are released, it changed nothing) and leaves nothing for
    the rollback to do. A transaction given anything else (a write, a SET, a savepoint,
    a COPY: ``pg_cursor`` sees every statement the driver is given) or one in error still
    ends with a real ROLLBACK.
    """

    @event.listens_for(engine, "begin")
    def _began(connection) -> None:
        transaction_began(connection.connection.dbapi_connection)

    @event.listens_for(engine, "rollback")
    def _ending(connection) -> None:
        if connection.invalidated or connection.closed:
            return
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None or wrote(dbapi_connection):
            return
        if not issubclass(dbapi_connection.cursor_factory, AppCursor):
            return  # its statements are not seen, so it may have written
        if dbapi_connection.info.transaction_status == TransactionStatus.INTRANS:
            # Should COMMIT fail, the ROLLBACK that follows meets the same fault and handles it.
            with suppress(psycopg.Error):
                dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy issue BEGIN itself so that transactions mean what they say.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "pro_read_only"


def _sqlite_begin(connection) -> None:
    # Take the write lock at the start of a transaction: two writers queue on the busy
    # timeout instead of failing halfway with "database is locked". Read-only sessions
    # take a deferred transaction instead: a WAL snapshot that never blocks a writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for long reads (audit, exports): one consistent snapshot, no write lock."""
    if is_sqlite(engine):
        bound = engine.execution_options(**{READ_ONLY: True})
    else:
        bound = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    with Session(bound, expire_on_commit=False) as session:
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
