"""Alerts for nurses and clinician-reported safety events."""

from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class AlertKind(StrEnum):
    RED_FLAG = "red_flag"
    PAIN_WORSE = "pain_worse"
    OPIOID_UP = "opioid_up"
    NON_RESPONSE = "non_response"
    DELIVERY_FAILURE = "delivery_failure"
    OPTED_OUT = "opted_out"
    UNREADABLE_REPLY = "unreadable_reply"
    WORDS_IN_REPLY = "words_in_reply"  # a text with words a nurse reads (beside an answer or not)
    NOT_SENT = "not_sent"  # an invitation or reminder ran out of retries
    UNMATCHED_REPLY = "unmatched_reply"  # from a number two patients with open surveys use


#: The attempt that failed to reach the patient: recorded, and the alert stays open.
NOT_REACHED = "not_reached"

# What a nurse did about an alert, by the code stored in ``Alert.action``, in words: every
# action offered now or in the past, in the order offered, so records and the audit
# (which counts them) always read in words. A new action needs its label here.
ALERT_ACTION_LABELS: dict[str, str] = {
    "called": "Called the patient",
    "advised_999": "Advised 999 / A&E",
    "referred_mscc": "Referred to the MSCC coordinator",
    "seen_in_clinic": "Seen in clinic",
    "review": "Arranged a review",
    "no_action": "No action needed",
    "not_reached": "Could not reach: try again",
}


class Alert(SQLModel, table=True):
    """Something a nurse must look at; ``dedupe_key`` makes raising it idempotent."""

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    instance_id: int | None = Field(default=None, foreign_key="survey_instance.id")
    kind: str = Field(max_length=32)
    urgency: str = Field(max_length=16, description="now, 24h, local or routine")
    summary: str = Field(max_length=500)
    dedupe_key: str = Field(max_length=120, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_by: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id")
    action: str | None = Field(default=None, max_length=32)
    action_note: str | None = Field(default=None, max_length=1000)
    next_try_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="could not reach the patient: try again"
    )


class AlertAction(SQLModel, table=True):
    """One thing a nurse did about an alert: the closing action or an attempt that failed."""

    __tablename__ = "alert_action"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    action: str = Field(max_length=32)
    note: str | None = Field(default=None, max_length=1000)
    next_try_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_id: int = Field(foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SiteAlert(SQLModel, table=True):
    """Something about a site's own set-up that staff must fix (e.g. the on-call phone)."""

    __tablename__ = "site_alert"

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    kind: str = Field(max_length=32)
    summary: str = Field(max_length=500)
    dedupe_key: str = Field(max_length=120, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id")


class SafetyEventKind(StrEnum):
    CEMENT_LEAKAGE = "cement_leakage"
    INFECTION = "infection"
    THERMAL_INJURY = "thermal_injury"
    NEUROLOGICAL_INJURY = "neurological_injury"
    OTHER = "other"


SAFETY_EVENT_LABELS = {
    SafetyEventKind.CEMENT_LEAKAGE: "Cement leakage",
    SafetyEventKind.INFECTION: "Infection",
    SafetyEventKind.THERMAL_INJURY: "Thermal injury to adjacent structures",
    SafetyEventKind.NEUROLOGICAL_INJURY: "Neurological injury",
    SafetyEventKind.OTHER: "Other",
}


class SafetyEvent(SQLModel, table=True):
    """A clinician-reported complication: NICE's safety outcomes first."""

    __tablename__ = "safety_event"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    procedure_id: int = Field(foreign_key="procedure.id")
    kind: str = Field(max_length=32)
    symptomatic: bool | None = None
    grade: int = Field(description="CTCAE grade 1-5")
    event_date: date
    notes: str | None = Field(default=None, max_length=2000)
    recorded_by: int = Field(foreign_key="user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Recorded in error (a slip of kind, grade or patient): kept, shown struck through on
    # the record with the reason, and left out of the audit and the register's files.
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by: int | None = Field(default=None, foreign_key="user.id")
    withdrawn_reason: str | None = Field(default=None, max_length=200)


class AccessLog(SQLModel, table=True):
    """Who read or exported which patient's data, and when."""

    __tablename__ = "access_log"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    action: str = Field(max_length=32)
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True)
    detail: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
