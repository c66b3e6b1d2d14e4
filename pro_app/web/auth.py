"""Signing in and out, and changing one's password."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..accounts import sign_in_throttle as throttle
from ..accounts.passwords import MIN_LENGTH, check_password, hash_password, needs_rehash
from ..accounts.users import UserError, WrongPasswordError, change_password, end_sessions
from ..models import Role, Site, User, utcnow
from ..storage import database
from . import known_devices, staff_session

bp = Blueprint("auth", __name__)

NO_MATCH = "That email and password do not match an active account."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField(
        f"New password (at least {MIN_LENGTH} characters)",
        validators=[DataRequired(), Length(min=MIN_LENGTH, max=200)],
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )


def home_for(user: User) -> str:
    if user.role == Role.NURSE:
        return url_for("patients.index")
    if user.role == Role.ADMIN:
        return url_for("admin.index")
    if user.role == Role.AUDITOR:
        return url_for("audit.index")
    return url_for("auth.account")


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this host, else None.

    Refused: anything with a scheme or a host, ``//`` or ``/\\`` at the start, any
    backslash, and any control character (browsers drop tabs and newlines, so
    ``/<TAB>/evil.example`` would become ``//evil.example``).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _address() -> str | None:
    return request.remote_addr


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200  # HEAD as GET
        return render_template("auth/login.html", form=form), status
    session = database.session()
    email = form.email.data.strip().lower()
    now = utcnow()
    user = session.exec(select(User).where(User.email == email)).first()
    password_hash = user.password_hash if user else None
    # A browser this account signed in from, with this password: held by its own pause.
    device = known_devices.device_key(email, password_hash)
    lock = throttle.current_lock(session, email, _address(), now, device=device)
    if lock is not None:
        return _paused("auth/login.html", form, lock, now)
    session.rollback()  # hold no lock (SQLite's is for the whole database) while Argon2 runs
    matches = check_password(password_hash, form.password.data)
    if not (matches and user.active):
        failures = throttle.record_failure(session, email, _address(), now, device=device)
        session.commit()
        flash(NO_MATCH + " " + _after_failure(session, email, failures, now, device), "error")
        return render_template("auth/login.html", form=form), 401
    throttle.clear_account(session, email, device=device)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(form.password.data)
    user.last_login_at = now
    session.commit()
    staff_session.begin(user, now)
    if user.must_change_password:
        flash("Your password was reset by an administrator: choose a new one.", "info")
        return known_devices.remember(
            redirect(url_for("auth.change_password")), email, user.password_hash
        )
    target = safe_next(request.args.get("next")) or home_for(user)
    return known_devices.remember(redirect(target), email, user.password_hash)


def _paused(template: str, form: FlaskForm, lock: throttle.Lock, now):
    """429 with the pause in plain words, and in ``Retry-After`` for programs."""
    flash(lock.message(now), "error")
    wait = max(1, int((lock.until - now).total_seconds()))
    return render_template(template, form=form), 429, {"Retry-After": str(wait)}


def _after_failure(session, email: str, failures: int, now, device: str | None) -> str:
    """What happens next, in plain words: a pause, or how many tries are left."""
    lock = throttle.current_lock(session, email, _address(), now, device=device)
    if lock is not None:
        return lock.message(now)
    left = throttle.tries_left(throttle.ACCOUNT, failures)
    tries = "1 more failed try" if left == 1 else f"{left} more failed tries"
    pause = throttle.in_words(throttle.FIRST_PAUSE)
    return f"After {tries}, signing in to this account pauses for {pause}."


@bp.post("/logout")
@login_required
def logout():
    """Sign out everywhere: every copy of this user's session stops working."""
    session = database.session()
    user = session.get(User, current_user.id)
    end_sessions(user)
    session.commit()
    logout_user()
    staff_session.forget()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
def root():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.get("/account")
@login_required
def account():
    site = database.session().get(Site, current_user.site_id) if current_user.site_id else None
    return render_template("auth/account.html", site=site)


@bp.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
@login_required
def change_password_page():
    """Change one's own password; sessions elsewhere end, this one carries on."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200  # HEAD as GET
        return render_template("auth/password.html", form=form), status
    session = database.session()
    user = session.get(User, current_user.id)
    now = utcnow()
    lock = throttle.current_lock(session, user.email, _address(), now)
    if lock is not None:
        return _paused("auth/password.html", form, lock, now)
    try:
        change_password(user, form.current.data, form.new.data)
    except WrongPasswordError as exc:
        session.rollback()
        throttle.record_failure(session, user.email, _address(), now)
        session.commit()
        flash(str(exc), "error")
        return render_template("auth/password.html", form=form), 400
    except (UserError, ValueError) as exc:
        session.rollback()
        flash(str(exc), "error")
        return render_template("auth/password.html", form=form), 400
    session.commit()
    staff_session.renew(user)
    flash("Your password is changed. Any other place you were signed in is signed out.", "info")
    return known_devices.remember(redirect(home_for(user)), user.email, user.password_hash)
