"""``/healthz``: 200 when the database answers and holds this release's schema; 503 when it
does not answer, or its migrations have not been applied (``pro-app db upgrade``)."""

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ..storage import database
from ..storage.migrate import schema_behind

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        with database.engine().connect() as connection:
            behind = schema_behind(connection)
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    if behind:
        return jsonify(status="unavailable", database="not migrated"), 503
    return jsonify(status="ok", database="ok"), 200
