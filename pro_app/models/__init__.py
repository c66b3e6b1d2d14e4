"""The tables of pro-app. Importing this module registers every table on ``metadata``.

The bottom layer of the app: the tables, split by area, used by every feature. It imports
only SQLModel and SQLAlchemy, nothing else from ``pro_app``.
"""

from .base import metadata
from .exports import ExportJob, ExportJobStatus
from .followup import (
    NOT_FINISHED_STATUSES,
    OPEN_STATUSES,
    AnswerChannel,
    ExpectedCourseCount,
    InstanceStatus,
    Response,
    SurveyInstance,
)
from .link_guesses import SurveyLinkMiss
from .messaging import Direction, Message, MessageStatus, NumberOptOut
from .patients import (
    Augmentation,
    ContactChannel,
    Electrode,
    FollowUpStatus,
    LesionType,
    Patient,
    PatientEvent,
    Procedure,
)
from .people import Role, SignInThrottle, Site, User
from .safety import (
    SAFETY_EVENT_LABELS,
    AccessLog,
    Alert,
    AlertAction,
    AlertKind,
    SafetyEvent,
    SafetyEventKind,
    SiteAlert,
)
from .types import UTCDateTime, utcnow

__all__ = [
    "NOT_FINISHED_STATUSES",
    "OPEN_STATUSES",
    "AccessLog",
    "Alert",
    "AlertAction",
    "AlertKind",
    "AnswerChannel",
    "Augmentation",
    "ContactChannel",
    "Direction",
    "Electrode",
    "ExpectedCourseCount",
    "ExportJob",
    "ExportJobStatus",
    "FollowUpStatus",
    "InstanceStatus",
    "LesionType",
    "Message",
    "MessageStatus",
    "NumberOptOut",
    "Patient",
    "PatientEvent",
    "Procedure",
    "Response",
    "Role",
    "SafetyEvent",
    "SafetyEventKind",
    "SignInThrottle",
    "SAFETY_EVENT_LABELS",
    "Site",
    "SiteAlert",
    "SurveyInstance",
    "SurveyLinkMiss",
    "User",
    "UTCDateTime",
    "metadata",
    "utcnow",
]
