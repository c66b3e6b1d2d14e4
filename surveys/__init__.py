"""What pro-app asks and how it scores it: instrument and protocol definitions as data,
a validating loader, scoring rules, red flags and FHIR conversion.

Pure Python: no Flask and no database.
"""

from .alert_rules import distress_words
from .answers import AnswerError, enabled_items, is_enabled, missing_required, validate_answer
from .loader import (
    InstrumentError,
    all_instruments,
    configured_instrument_dirs,
    get_instrument,
    load_instrument,
    load_instruments,
)
from .model import Instrument, Item, ItemType, Urgency
from .protocol import (
    Protocol,
    ProtocolError,
    Timepoint,
    available_protocols,
    load_protocol,
    load_protocol_file,
)
from .red_flags import RaisedFlag, red_flags_raised
from .scoring import (
    NotEvaluable,
    PainResponse,
    ResponseEvaluation,
    clinically_important_improvement,
    evaluate_pain_response,
    minimum_baseline_pain,
    omed,
    pain_response,
    score,
)

__all__ = [
    "AnswerError",
    "Instrument",
    "InstrumentError",
    "Item",
    "ItemType",
    "NotEvaluable",
    "PainResponse",
    "Protocol",
    "ProtocolError",
    "RaisedFlag",
    "ResponseEvaluation",
    "Timepoint",
    "Urgency",
    "all_instruments",
    "clinically_important_improvement",
    "distress_words",
    "configured_instrument_dirs",
    "enabled_items",
    "evaluate_pain_response",
    "get_instrument",
    "is_enabled",
    "load_instrument",
    "load_instruments",
    "available_protocols",
    "load_protocol",
    "load_protocol_file",
    "minimum_baseline_pain",
    "missing_required",
    "omed",
    "pain_response",
    "red_flags_raised",
    "score",
    "validate_answer",
]
