"""Sites (hospital teams) and the staff who sign in."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint, false
from sqlmodel import Field, SQLModel

from .base import metadata  # noqa: F401  (naming convention first)
from .types import UTCDateTime, utcnow


class Role(StrEnum):
    NURSE = "nurse"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Site(SQLModel, table=True):
    """A hospital team that follows up its own patients."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    team_phone: str = Field(max_length=32, description="shown to patients on every page")
    timezone: str = Field(default="Europe/London", max_length=64)
    phone_region: str = Field(default="GB", max_length=2, description="for numbers without +")
    protocol_id: str = Field(default="default", max_length=64)
    omed_table: str = Field(default="opioids_aware", max_length=64)
    on_call_phone: str | None = Field(default=None, max_length=32)
    alert_target_hours: int = 72
    min_cell_count: int = 5
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """A member of staff. ``site_id`` is None for registry-wide auditors and admins."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    session_version: int = Field(
        default=0,
        sa_column_kwargs={"server_default": "0"},
        description="part of every session's id: raising it ends all of the user's sessions",
    )
    must_change_password: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": false()},
        description="set by an admin's reset: the next sign-in leads to a new password first",
    )

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The session's id: the user and their session version (see ``session_version``)."""
        return f"{self.id}:{self.session_version}"


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted for one account (by email) or one network address.

    Kept in the database so every worker and every restart sees the same count. Emails
    are counted whether or not an account exists, so a lockout reveals nothing.
    """

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16, description="'account', 'device' or 'address'")
    key: str = Field(max_length=254, description="the email as typed (lower case) or the address")
    failures: int = 0
    last_failure_at: datetime = Field(sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
