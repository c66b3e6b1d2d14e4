"""Staff accounts: creating them, passwords, and ending their sessions."""

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from ..models import Role, Site, User
from .passwords import hash_password, verify_password


class UserError(ValueError):
    pass


class WrongPasswordError(UserError):
    pass


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    site_code: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Add a user; nurses must belong to a site, auditors and admins may be registry-wide."""
    email = email.strip().lower()
    try:
        # ".test" addresses are allowed: the demo and trial installations use them
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise UserError(f"{email!r} is not an email address: {exc}") from None
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
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        site_id=site_id,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


def end_sessions(user: User) -> None:
    """End every session of ``user``, on every device (their session ids stop matching)."""
    user.session_version += 1


def change_password(user: User, current: str, new: str) -> None:
    """Set the user's own new password; their other sessions end."""
    if not verify_password(user.password_hash, current):
        raise WrongPasswordError("Your current password is not right.")
    if new == current:
        raise UserError("Choose a new password that differs from the current one.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)


def reset_password(user: User, temporary: str) -> None:
    """An admin sets a temporary password: the user's sessions end and they choose their own."""
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    end_sessions(user)


def set_active(user: User, active: bool) -> None:
    """Deactivate (ending every session) or reactivate an account."""
    user.active = active
    end_sessions(user)
