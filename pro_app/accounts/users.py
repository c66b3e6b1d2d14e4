"""Creating staff accounts."""

from sqlmodel import Session, select

from ..models import Role, Site, User
from .passwords import hash_password


class UserError(ValueError):
    pass


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    site_code: str | None = None,
) -> User:
    """Add a user; nurses must belong to a site, auditors and admins may be registry-wide."""
    email = email.strip().lower()
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"Unknown role {role!r}: choose nurse, auditor or admin.") from None
    if session.exec(select(User).where(User.email == email)).first():
        raise UserError(f"A user with email {email} already exists.")
    site_id = None
    if site_code:
        site = session.exec(select(Site).where(Site.code == site_code)).first()
        if site is None:
            raise UserError(f"No site with code {site_code!r}.")
        site_id = site.id
    if role == Role.NURSE and site_id is None:
        raise UserError("A nurse must belong to a site (give --site).")
    user = User(
        email=email, name=name, password_hash=hash_password(password), role=role, site_id=site_id
    )
    session.add(user)
    session.flush()
    return user
