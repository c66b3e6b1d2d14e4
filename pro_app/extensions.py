"""Flask extensions, created unbound and bound in ``create_app``."""

from flask import Flask, current_app, g
from flask_babel import Babel, get_locale
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings
from .languages import LANGUAGES

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
csrf = CSRFProtect()
babel = Babel()


def patient_locale() -> str:
    """Patient pages speak the patient's language where a catalogue exists, else English."""
    patient = g.get("patient")
    language = getattr(patient, "language", None)
    return language if language in current_app.config["PRO_LANGUAGES"] else "en"


def init_app(app: Flask, settings: Settings) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("PRO_LANGUAGES", LANGUAGES)
    babel.init_app(app, locale_selector=patient_locale)
    app.jinja_env.globals["page_language"] = lambda: str(get_locale() or "en")
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
