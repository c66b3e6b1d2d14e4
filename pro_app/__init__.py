"""pro-app: patient-reported outcome follow-up after RFA with kyphoplasty or vertebroplasty."""

from typing import Any

from flask import Flask

from .config import Settings, instance_dir


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment; ``test_config`` overrides settings."""
    from . import extensions, log_redaction
    from .storage import database
    from .web import register_blueprints

    log_redaction.install()
    app = Flask(__name__, instance_path=str(instance_dir()))
    overrides = dict(test_config or {})
    settings: Settings = overrides.pop("SETTINGS", None) or Settings.from_env()
    app.config.update(settings.flask_config())
    app.config.update(overrides)
    app.extensions["pro_settings"] = settings
    # Each sender thread of the scheduler holds one connection while it sends.
    database.init_app(app, settings.database_url, connections=settings.sms_send_concurrency + 2)
    extensions.init_app(app, settings)
    register_blueprints(app)
    from .commands import register_commands

    register_commands(app)
    return app
