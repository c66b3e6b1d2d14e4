"""Blueprints, one per area."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import admin, auth, dev, health, patient_survey, patients, sms

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(patient_survey.bp)
    settings = app.extensions["pro_settings"]
    dev_outbox = settings.sms_backend == "outbox" and not settings.production
    if dev_outbox:
        app.register_blueprint(dev.bp)
    app.jinja_env.globals["dev_outbox"] = dev_outbox
