"""Export jobs: long audit exports made in the background and downloaded once."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class ExportJobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # claimed by a worker under a lease
    DONE = "done"  # the file is ready for its requester until ``expires_at``
    DOWNLOADED = "downloaded"  # fetched once; the file is deleted
    EXPIRED = "expired"  # not fetched in time; the file is deleted
    FAILED = "failed"  # gave up, with the reason in ``error``


class ExportJob(SQLModel, table=True):
    """One export asked for by one user; only that user may download its file."""

    __tablename__ = "export_job"
    __table_args__ = (Index("ix_export_job_status_claimed_until", "status", "claimed_until"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    level: str = Field(max_length=16)
    fmt: str = Field(max_length=8)
    filters: str = Field(max_length=1000, description="the audit filters, as JSON")
    filters_text: str = Field(max_length=500, description="the filters in words")
    status: str = Field(default=ExportJobStatus.QUEUED, max_length=16)
    rows_written: int = 0
    rows_total: int | None = None
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    file_name: str | None = Field(default=None, max_length=120)
    size_bytes: int | None = None
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    downloaded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
