"""A staff form that cannot be saved (its security token no longer matches, or the
session ended while it was open) comes back as a page showing what was typed, so a
nurse's notes and answers are never lost to a sign-in."""

from flask import Flask, render_template, request, url_for
from flask_login.utils import login_url
from flask_wtf.csrf import CSRFError

from ..extensions import login_manager

# Fields a person did not type, or must never be shown again.
NOT_SHOWN = frozenset({"csrf_token", "answers_seen", "confirm"})
# Sign-in, password changes and resets post only passwords and emails: nothing is shown.
SECRET_ENDPOINTS = frozenset({"admin.reset_user_password", "admin.add_user"})


def typed_fields() -> list[tuple[str, str]]:
    """The posted fields with something in them, as (name, value); none from a form of
    passwords, and no field named for one."""
    if request.blueprint == "auth" or request.endpoint in SECRET_ENDPOINTS:
        return []
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in NOT_SHOWN and "password" not in name.lower() and value.strip()
    ]


def _same_site_referrer() -> str:
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else url_for("auth.root")


def form_expired(_error: CSRFError):
    """400: the form was opened before the last sign-in, or in a session since ended."""
    reason = (
        "This form could not be saved: it was opened before you last signed in (here or "
        "in another tab), or too long ago. Nothing was saved."
    )
    return _kept_page(reason, typed_fields(), sign_in=False), 400


def signed_out_post(reason: str):
    """401 for a form someone filled in and sent after the session ended: the reason, what
    was typed, a way to sign in again. None for any other signed-out request."""
    fields = typed_fields() if request.method == "POST" else []
    if not fields:
        return None
    return _kept_page(f"{reason} Nothing was saved.", fields, sign_in=True), 401


def _kept_page(reason: str, fields: list[tuple[str, str]], *, sign_in: bool) -> str:
    back = _same_site_referrer()
    return render_template(
        "form_not_saved.html",
        reason=reason,
        fields=fields,
        back=back,
        sign_in_url=login_url(login_manager.login_view, next_url=back) if sign_in else None,
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, form_expired)
