#!/usr/bin/env bash
# Rewrite 0001 from the models. Only for use before the first release; afterwards add
# new revisions with scripts/new_migration.py.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f migrations/versions/0001_initial_schema.py
.venv/bin/python - <<'PY'
import tempfile
from pathlib import Path
from alembic import command
from pro_app.storage.engine import make_engine
from pro_app.storage.migrate import alembic_config
with tempfile.TemporaryDirectory() as folder:
    engine = make_engine(f"sqlite:///{Path(folder) / 'g.sqlite3'}")
    command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
PY
