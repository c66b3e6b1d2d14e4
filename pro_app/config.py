"""Configuration read from environment variables."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .messaging.timing import SendPolicy

ENVIRONMENTS = ("development", "production")
MIN_SECRET_LENGTH = 32
DATABASE_BACKENDS = ("postgresql", "sqlite")


def _is_https_address(url: str) -> bool:
    """``https://`` and a host, nothing after it but a path."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname) and not (parts.query or parts.fragment)


def _check_database_url(url: str) -> None:
    """A PostgreSQL or SQLite address, or ConfigError (never echoing a password)."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = None
    if backend not in DATABASE_BACKENDS:
        raise ConfigError(
            "DATABASE_URL is not a database address pro-app can use: give "
            "postgresql://USER@HOST/NAME (or sqlite:///PATH for a trial)."
        )


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable configuration."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdecimal() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number above 0 (got {value!r}).")
    return int(value)


def _positive_number(env: dict[str, str], name: str, default: float) -> float:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise ConfigError(f"{name} must be a number above 0, e.g. 10 (got {value!r}).")
    return number


def instance_dir() -> Path:
    """The folder for local state (SQLite database, demo secret key)."""
    return Path(os.environ.get("PRO_INSTANCE_DIR", Path.cwd() / "instance")).resolve()


def _demo_secret_key(folder: Path) -> str:
    """Return the secret key kept in ``instance/secret_key``, creating it once."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Settings:
    """Everything the app reads from its environment, with defaults for development."""

    database_url: str
    secret_key: str
    public_base_url: str = "http://127.0.0.1:5000"
    sms_backend: str = "outbox"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    production: bool = False
    trust_proxy: bool = False
    dev_outbox: bool = False
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    export_dir: str | None = None  # default: exports/ in the instance folder
    export_keep_hours: int = 24
    # Texts handed to the provider at once (threads), and message segments a second at most.
    sms_send_concurrency: int = 8
    sms_rate_per_second: float = 10.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Build settings from ``env`` (default: ``os.environ``) and check them."""
        env = dict(os.environ if env is None else env)
        folder = Path(env.get("PRO_INSTANCE_DIR", instance_dir())).resolve()
        environment = env.get("PRO_ENV", "development").strip().lower()
        if environment not in ENVIRONMENTS:
            raise ConfigError(
                f"PRO_ENV must be 'production' or 'development', not {env['PRO_ENV']!r}."
            )
        production = environment == "production"
        secret = env.get("SECRET_KEY")
        if not secret:
            if production:
                raise ConfigError("SECRET_KEY must be set when PRO_ENV=production.")
            secret = _demo_secret_key(folder)
        elif production and len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production "
                "(for example the output of `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)."
            )
        database_url = env.get("DATABASE_URL") or f"sqlite:///{folder / 'pro_app.sqlite3'}"
        settings = cls(
            database_url=database_url,
            secret_key=secret,
            public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
            sms_backend=env.get("SMS_BACKEND", "outbox").lower(),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_from=env.get("TWILIO_FROM") or None,
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID") or None,
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            production=production,
            trust_proxy=_bool(env.get("PRO_TRUST_PROXY")),
            dev_outbox=_bool(env.get("PRO_DEV_OUTBOX")),
            session_idle_minutes=_positive_int(env, "PRO_SESSION_IDLE_MINUTES", 30),
            session_max_hours=_positive_int(env, "PRO_SESSION_MAX_HOURS", 12),
            export_dir=env.get("PRO_EXPORT_DIR") or str(folder / "exports"),
            export_keep_hours=_positive_int(env, "PRO_EXPORT_KEEP_HOURS", 24),
            sms_send_concurrency=_positive_int(env, "SMS_SEND_CONCURRENCY", 8),
            sms_rate_per_second=_positive_number(env, "SMS_RATE_PER_SECOND", 10.0),
        )
        settings.check()
        try:
            SendPolicy.from_env(env)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return settings

    def check(self) -> None:
        """Refuse combinations that would fail later, with a message that says what to set."""
        _check_database_url(self.database_url)
        if self.sms_backend not in {"outbox", "twilio"}:
            raise ConfigError("SMS_BACKEND must be 'outbox' or 'twilio'.")
        if self.sms_backend == "twilio":
            missing = [
                name
                for name, value in (
                    ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                )
                if not value
            ]
            if missing:
                raise ConfigError(f"SMS_BACKEND=twilio needs {', '.join(missing)}.")
            if not (self.twilio_from or self.twilio_messaging_service_sid):
                raise ConfigError(
                    "SMS_BACKEND=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID."
                )
        if self.production and self.dev_outbox:
            raise ConfigError("PRO_DEV_OUTBOX is for development only: unset it in production.")
        if self.production and not _is_https_address(self.public_base_url):
            raise ConfigError(
                "PUBLIC_BASE_URL must be the https:// address patients and Twilio reach, "
                "such as https://pro.example.org, when PRO_ENV=production."
            )

    @property
    def export_folder(self) -> Path:
        """Where background exports wait for their download (``PRO_EXPORT_DIR``)."""
        return Path(self.export_dir).resolve() if self.export_dir else instance_dir() / "exports"

    @property
    def dev_outbox_enabled(self) -> bool:
        """The dev outbox pages: asked for, outside production, with texts kept locally."""
        return self.dev_outbox and not self.production and self.sms_backend == "outbox"

    def flask_config(self) -> dict:
        """The subset Flask and its extensions read."""
        return {
            "SECRET_KEY": self.secret_key,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.production,
            "REMEMBER_COOKIE_SECURE": self.production,
            "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
            "WTF_CSRF_TIME_LIMIT": None,
            # Patient pages send no Referer (their link is a secret), so CSRF rests on
            # the token and SameSite cookies rather than on a Referer check.
            "WTF_CSRF_SSL_STRICT": False,
        }
