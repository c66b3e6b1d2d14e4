"""Patients, their procedure, and the record of what changed in their follow-up."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class FollowUpStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class ContactChannel(StrEnum):
    LINK = "link"  # an SMS with a personal web link
    SMS = "sms"  # questions asked one per text, answered by reply


class Augmentation(StrEnum):
    KYPHOPLASTY = "kyphoplasty"
    VERTEBROPLASTY = "vertebroplasty"


class LesionType(StrEnum):
    LYTIC = "lytic"
    BLASTIC = "blastic"
    MIXED = "mixed"


class Electrode(StrEnum):
    BIPOLAR = "bipolar"
    MONOPOLAR = "monopolar"


class Patient(SQLModel, table=True):
    """A pseudonymous patient: the study id is what leaves the site, never the name."""

    __table_args__ = (
        UniqueConstraint("site_id", "study_id"),
        # "abc-001" is "ABC-001": one patient, one record (``enrolment.folded_study_id``).
        Index("uq_patient_site_id_lower_study_id", "site_id", text("lower(study_id)"), unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    study_id: str = Field(max_length=64)
    first_name: str = Field(max_length=100)
    phone_e164: str | None = Field(default=None, max_length=20, index=True)
    timezone: str = Field(default="Europe/London", max_length=64)
    language: str = Field(default="en", max_length=16)
    consent: bool = False
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    channel: str = Field(default=ContactChannel.LINK, max_length=16)
    sms_opted_out: bool = False
    sms_opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    phone_problem: str | None = Field(
        default=None, max_length=200, description="why texts cannot reach the number"
    )
    status: str = Field(default=FollowUpStatus.ACTIVE, max_length=16)
    status_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def textable(self) -> bool:
        """Whether texts may be sent: a number that works and no opt-out."""
        return bool(self.phone_e164) and not self.sms_opted_out and not self.phone_problem


class Procedure(SQLModel, table=True):
    """RFA with balloon kyphoplasty or vertebroplasty; the anchor of the follow-up timeline."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    procedure_date: date = Field(index=True)
    augmentation: str = Field(max_length=16)
    levels: str = Field(max_length=100, description="vertebral levels, e.g. 'T12,L1'")
    lesion_type: str = Field(max_length=16)
    electrode: str = Field(max_length=16)
    protocol_id: str = Field(default="default", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PatientEvent(SQLModel, table=True):
    """Something that changed a patient's follow-up: date moved, paused, opted out."""

    __tablename__ = "patient_event"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    kind: str = Field(max_length=32)
    detail: dict = Field(default_factory=dict, sa_type=JSON)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
