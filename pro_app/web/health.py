"""``/healthz``: 200 when the database answers, 503 when it does not."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..storage import database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        with database.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
