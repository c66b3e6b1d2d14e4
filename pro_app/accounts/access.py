"""Who may see what: role checks, site scoping of patient records, and of administration.

A registry admin (no site) manages every site and every account. A site admin manages
only its own site's settings and the accounts at its site; anything else answers 404,
as for a record that does not exist.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlmodel import Session, select

from ..models import AccessLog, Patient, Role, Site, User


def roles_required(*roles: Role) -> Callable:
    """Allow a view only to signed-in users with one of ``roles`` (others get 403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def patient_for(session: Session, user: User, patient_id: int) -> Patient:
    """The patient if ``user`` may read them, else 404 (which reveals nothing)."""
    patient = session.get(Patient, patient_id)
    if patient is None or user.role != Role.NURSE or patient.site_id != user.site_id:
        abort(404)
    return patient


def is_registry_admin(user: User) -> bool:
    return user.role == Role.ADMIN and user.site_id is None


def managed_user(session: Session, admin: User, user_id: int) -> User:
    """The account if ``admin`` may manage it, else 404."""
    user = session.get(User, user_id)
    if user is None or not (is_registry_admin(admin) or user.site_id == admin.site_id):
        abort(404)
    return user


def managed_site(session: Session, admin: User, site_id: int) -> Site:
    """The site if ``admin`` may change its settings, else 404."""
    site = session.get(Site, site_id)
    if site is None or not (is_registry_admin(admin) or site.id == admin.site_id):
        abort(404)
    return site


def site_patients(user: User):
    """A ``select(Patient)`` limited to the user's site."""
    return select(Patient).where(Patient.site_id == user.site_id)


def log_access(
    session: Session, user: User, action: str, patient_id: int | None = None, detail: str = ""
) -> None:
    """Record that ``user`` read or exported data (committed with the caller's transaction)."""
    session.add(AccessLog(user_id=user.id, action=action, patient_id=patient_id, detail=detail))
