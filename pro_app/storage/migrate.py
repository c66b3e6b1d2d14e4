"""Run Alembic migrations from code (``pro-app db upgrade``) and compare them with the models."""

import os
import warnings
from functools import cache
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..models import metadata


class MigrationRefused(Exception):
    """A migration that cannot apply to the data it found; the message says what to change.

    Raised before the migration changes anything: the upgrade's transaction is rolled back
    and the database stays at the revision it was at."""


def migrations_dir() -> Path:
    """The Alembic folder: ``PRO_MIGRATIONS_DIR``, or ``pro_app/migrations`` (installed
    with the package, so ``pip install`` gives a server that can migrate)."""
    override = os.environ.get("PRO_MIGRATIONS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision``."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_differences(engine: Engine) -> list:
    """What autogenerate would change: empty when models and migrations agree.

    Indexes on an expression (``lower(study_id)``) are not compared: they cannot be read
    back, as Alembic and SQLAlchemy warn (silenced here). Their own tests show they hold.
    """
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "autogenerate skipping .*expression-based index")
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, metadata)


def schema_problem(engine: Engine) -> str | None:
    """Why commands cannot use this database yet, in one sentence; None when it is ready."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return f"Cannot open the database at {where}: {reason}"
    if current is None:
        return f"The database at {where} has no tables: run `pro-app db upgrade`."
    head, _known = _revisions(str(migrations_dir()))
    if current != head:
        return (
            f"The database at {where} is at schema revision {current}, not {head}: "
            "run `pro-app db upgrade`."
        )
    return None


@cache
def _revisions(script_location: str) -> tuple[str | None, frozenset[str]]:
    """The migrations' head and every revision they hold, read once a process."""
    config = Config()
    config.set_main_option("script_location", script_location)
    script = ScriptDirectory.from_config(config)
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


def schema_behind(connection: Connection) -> bool:
    """Whether this code's migrations have not all been applied: no tables, or a revision
    before its head. A revision this code does not know is newer (a release rolling
    out) and is not counted. One query; the migrations are read once a process."""
    current = MigrationContext.configure(connection).get_current_revision()
    head, known = _revisions(str(migrations_dir()))
    return current is None or (current in known and current != head)
