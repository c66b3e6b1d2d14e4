"""Staff sessions: revocable, with an idle and an absolute lifetime.

The signed session cookie carries the user's id and session version
(``User.get_id``). Raising the version in the database (sign-out, a password change or
reset, deactivation) makes every copy of every one of that user's cookies stop matching
at its next request. The cookie also carries when the session began and when it was last
used, so a session ends after ``PRO_SESSION_IDLE_MINUTES`` without a request and
``PRO_SESSION_MAX_HOURS`` after signing in, whatever is done with the cookie.
"""

from datetime import datetime

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user
from flask_login.utils import login_url

from ..extensions import login_manager
from ..models import User, utcnow
from ..storage import database
from . import form_kept

SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
SEEN_RESOLUTION = 30  # seconds: the last-seen stamp is rewritten at most this often
# Areas that are not staff pages: no forced password change there.
PUBLIC_BLUEPRINTS = {"survey", "sms", "health", "vendor"}
OPEN_WHILE_CHANGING = {"auth.change_password", "auth.logout", "static"}


def begin(user: User, now: datetime | None = None) -> None:
    """Sign ``user`` in with a fresh session (nothing of a previous one carries over)."""
    stamp = int((now or utcnow()).timestamp())
    session.clear()
    login_user(user)
    session[SIGNED_IN_AT] = stamp
    session[SEEN_AT] = stamp


def renew(user: User) -> None:
    """Carry on the current session under the user's new session version."""
    started = session.get(SIGNED_IN_AT)
    seen = session.get(SEEN_AT)
    login_user(user)
    session[SIGNED_IN_AT] = started
    session[SEEN_AT] = seen


def forget() -> None:
    """Drop everything this cookie held (after signing out)."""
    session.clear()


def _ended_because(settings, now: float) -> str | None:
    started, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(started, int) or not isinstance(seen, int):
        return "Please sign in to continue."
    if now - started > settings.session_max_hours * 3600:
        return (
            f"You were signed out {settings.session_max_hours} hours after signing in, "
            "the longest a session lasts: please sign in again."
        )
    if now - seen > settings.session_idle_minutes * 60:
        return (
            f"You were signed out after {settings.session_idle_minutes} minutes without "
            "activity: please sign in again."
        )
    return None


def _end(reason: str) -> None:
    """Forget the signed-in user in this cookie and remember why, for the sign-in page."""
    g.session_ended = reason
    for key in (SIGNED_IN_AT, SEEN_AT, "_user_id", "_fresh", "_id"):
        session.pop(key, None)


def load_user(user_id: str) -> User | None:
    """The signed-in user, if their session is still theirs and still within its lifetimes."""
    user_part, _, version = user_id.partition(":")
    if not user_part.isdecimal() or not version.isdecimal():
        return None
    user = database.session().get(User, int(user_part))
    if user is None or not user.active or user.session_version != int(version):
        _end("Your session has ended: please sign in again.")
        return None
    now = utcnow().timestamp()
    reason = _ended_because(current_app.extensions["pro_settings"], now)
    if reason:
        _end(reason)
        return None
    if now - session[SEEN_AT] >= SEEN_RESOLUTION:
        session[SEEN_AT] = int(now)
    return user


def unauthorized():
    """Send a signed-out visitor to the sign-in page, saying why where a session ended; a
    form sent after the session ended comes back with what was typed."""
    reason = g.pop("session_ended", None) or login_manager.login_message
    kept = form_kept.signed_out_post(reason)
    if kept is not None:
        return kept
    flash(reason, "info")
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def require_new_password():
    """After an admin's reset, every staff page leads to choosing a new password first."""
    if request.blueprint in PUBLIC_BLUEPRINTS or request.endpoint in OPEN_WHILE_CHANGING:
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(require_new_password)
