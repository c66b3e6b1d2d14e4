"""Survey instances (one per protocol timepoint) and the answers they collect."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, UniqueConstraint, text, true
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class InstanceStatus(StrEnum):
    SCHEDULED = "scheduled"  # planned, not yet sent
    SENT = "sent"  # invitation written to the outbox
    IN_PROGRESS = "in_progress"  # at least one page answered
    COMPLETED = "completed"
    EXPIRED = "expired"  # window closed without a complete answer
    CANCELLED = "cancelled"  # follow-up stopped, or re-planned away


OPEN_STATUSES = (InstanceStatus.SENT, InstanceStatus.IN_PROGRESS)
# Planned or open: the rows the tick's expiry pass looks at (a partial index covers them).
NOT_FINISHED_STATUSES = (InstanceStatus.SCHEDULED, *OPEN_STATUSES)
_NOT_FINISHED = text(
    "status IN (" + ", ".join(f"'{status.value}'" for status in NOT_FINISHED_STATUSES) + ")"
)


class SurveyInstance(SQLModel, table=True):
    """The questionnaires due at one timepoint of one procedure's protocol."""

    __tablename__ = "survey_instance"
    __table_args__ = (
        UniqueConstraint("procedure_id", "timepoint"),
        Index("ix_survey_instance_status_due_at", "status", "due_at"),
        Index("ix_survey_instance_status_next_reminder_at", "status", "next_reminder_at"),
        # Expiry: PostgreSQL reads the partial index; SQLite, without statistics, the other.
        Index("ix_survey_instance_status_closes_at", "status", "closes_at"),
        Index(
            "ix_survey_instance_unfinished_closes_at",
            "closes_at",
            "id",
            postgresql_where=_NOT_FINISHED,
            sqlite_where=_NOT_FINISHED,
        ),
        # the patient list sorts a site by last answer and next survey
        Index(
            "ix_survey_instance_patient_id_status_completed_at",
            "patient_id",
            "status",
            "completed_at",
        ),
        Index("ix_survey_instance_patient_id_status_due_at", "patient_id", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id")
    patient_id: int = Field(foreign_key="patient.id", index=True)
    timepoint: str = Field(max_length=32)
    day_offset: int = Field(description="days from the procedure date (negative: before)")
    instruments: list[str] = Field(default_factory=list, sa_type=JSON)
    opens_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    closes_at_as_planned: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="the close before a procedure date move brought it in, to restore it",
    )
    status: str = Field(default=InstanceStatus.SCHEDULED, max_length=16)
    status_reason: str | None = Field(default=None, max_length=200)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    link_version: int = Field(default=0, description="bumped to invalidate earlier links")
    invited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_sent: int = 0
    next_reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    progress: dict = Field(default_factory=dict, sa_type=JSON)
    claimed_by: str | None = Field(default=None, max_length=64, description="who invited")
    # The key outcomes of the current answers (see ``pro_app/followup/key_outcomes.py``), copied
    # here when they are saved so the audit reads one row per timepoint.
    pain_worst: float | None = None
    pain_average: float | None = None
    omed_mg_per_day: float | None = None
    any_opioid: bool | None = None
    omed_needs_review: bool | None = None
    omed_implausible: bool | None = None  # above the table's plausibility limits
    omed_table: str | None = Field(default=None, max_length=64)  # which table converted it
    omed_table_version: str | None = Field(default=None, max_length=32)
    quality_of_life: float | None = None
    answer_channel: str | None = Field(default=None, max_length=16)

    @property
    def asked_by_text(self) -> bool:
        """Whether the survey is being answered by text, a question a message (its
        conversation has begun): only such a survey takes a texted reply as an answer."""
        return "sms" in (self.progress or {})


class AnswerChannel(StrEnum):
    WEB = "web"
    SMS = "sms"
    NURSE = "nurse"  # taken by phone and entered by a nurse


class Response(SQLModel, table=True):
    """One instrument's answers at one instance.

    Rows are never overwritten: a correction is a new row whose ``supersedes_id`` points
    at the row it replaces. The current answer is the row nothing supersedes; it is marked
    ``is_current`` (cleared when a correction arrives), and the database holds at most one
    current answer per questionnaire and instance.
    """

    # Answers are looked up by instance and questionnaire (audit, dashboard, trajectories).
    __table_args__ = (
        Index("ix_response_instance_id_instrument_id", "instance_id", "instrument_id"),
        Index(
            "uq_response_current_answer",
            "instance_id",
            "instrument_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="survey_instance.id")
    instrument_id: str = Field(max_length=64)
    instrument_version: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    answers: dict = Field(default_factory=dict, sa_type=JSON)
    scores: dict = Field(default_factory=dict, sa_type=JSON)
    entered_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    supersedes_id: int | None = Field(default=None, foreign_key="response.id", unique=True)
    is_current: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExpectedCourseCount(SQLModel, table=True):
    """How many completed timepoints of a site hold one value of one key outcome.

    The expected course (``pro_app/nurse/expected_course.py``) is read from these counts, so
    a patient page never scans the site's surveys. Key outcomes are small sets of values
    (0-10 scores, OMEDs from a table of strengths), so counting each value keeps the
    median and quartiles exact. ``complete`` and later corrections keep the counts in the
    same transaction as the answers (``pro_app/followup/cohort_counts.py``).
    """

    __tablename__ = "expected_course_count"

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    measure: str = Field(max_length=16, primary_key=True)  # worst_pain, omed, qol
    timepoint: str = Field(max_length=32, primary_key=True)
    day_offset: int = Field(primary_key=True)
    value: float = Field(primary_key=True)
    n: int = Field(default=0, description="completed timepoints with this value (never < 0)")
