"""Blueprints, one per area."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import auth, health, patients

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(patients.bp)
