"""Autogenerate an Alembic revision from the models: ``python scripts/new_migration.py MESSAGE``."""

import sys
import tempfile
from pathlib import Path

from alembic import command

from pro_app.storage.engine import make_engine
from pro_app.storage.migrate import alembic_config, upgrade


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'scratch.sqlite3'}")
        upgrade(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "schema change")
