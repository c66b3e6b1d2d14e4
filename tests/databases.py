"""Test databases: a migrated SQLite template copied per test, and one PostgreSQL database
per run (migrated once, truncated after each test)."""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from pro_app.models import metadata
from pro_app.storage.engine import make_engine
from pro_app.storage.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "PRO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_required() -> bool:
    return os.environ.get("PRO_REQUIRE_POSTGRES", "") not in ("", "0", "false")


class SqliteTemplate:
    """Migrate once, copy the file for each test: a fresh database in a millisecond."""

    def __init__(self, folder: Path):
        self.path = folder / "template.sqlite3"
        engine = make_engine(f"sqlite:///{self.path}")
        upgrade(engine)
        engine.dispose()  # the last connection to close folds the WAL into the file

    def fresh(self, folder: Path) -> Engine:
        target = folder / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copyfile(self.path, target)
        return make_engine(f"sqlite:///{target}")


class PostgresDatabase:
    """A uniquely named database for this run, dropped at the end."""

    def __init__(self):
        self.admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            self.admin.dispose()
            reason = f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL}: {exc.orig}"
            if postgres_required():
                pytest.fail(f"PRO_REQUIRE_POSTGRES is set but {reason}", pytrace=False)
            pytest.skip(reason)
        self.name = f"pro_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"
        self.engine = make_engine(self.url)
        upgrade(self.engine)

    def truncate(self) -> None:
        tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()
