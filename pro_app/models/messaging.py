"""The outbox and inbox: every text sent or received, with its delivery state."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting to be handed to the channel
    SENDING = "sending"  # claimed by a tick; outcome not yet recorded
    UNKNOWN = "unknown"  # the send may or may not have gone out: reconcile before resending
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    FAILED = "failed"  # permanent failure, or retries exhausted
    CANCELLED = "cancelled"  # no longer needed (survey completed, patient opted out)
    RECEIVED = "received"  # inbound


class Message(SQLModel, table=True):
    __table_args__ = (Index("ix_message_status_next_attempt_at", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    site_id: int | None = Field(
        default=None, foreign_key="site.id", description="set for notices to a site's staff"
    )
    instance_id: int | None = Field(default=None, foreign_key="survey_instance.id", index=True)
    direction: str = Field(max_length=4)
    kind: str = Field(max_length=32)
    to_number: str = Field(max_length=20)
    from_number: str | None = Field(default=None, max_length=20)
    body: str
    status: str = Field(max_length=16)
    idempotency_key: str | None = Field(default=None, max_length=100, unique=True)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempted_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="when last handed to the provider"
    )
    last_error: str | None = Field(default=None, max_length=500)
    error_code: int | None = None
    validity_period_s: int | None = None
    segments: int | None = None
    encoding: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NumberOptOut(SQLModel, table=True):
    """A number that texted STOP (or that the provider reports unsubscribed): nothing is
    texted to a patient at it until it texts START, whatever record the text is for."""

    __tablename__ = "number_opt_out"

    phone_e164: str = Field(primary_key=True, max_length=20)
    opted_out_at: datetime = Field(sa_type=UTCDateTime)
