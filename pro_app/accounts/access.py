"""Who may see what: role checks and site scoping of patient records."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlmodel import Session, select

from ..models import AccessLog, Patient, Role, User


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


def site_patients(user: User):
    """A ``select(Patient)`` limited to the user's site."""
    return select(Patient).where(Patient.site_id == user.site_id)


def log_access(
    session: Session, user: User, action: str, patient_id: int | None = None, detail: str = ""
) -> None:
    """Record that ``user`` read or exported data (committed with the caller's transaction)."""
    session.add(AccessLog(user_id=user.id, action=action, patient_id=patient_id, detail=detail))
