"""How a message reaches a phone: channels, SMS text rules, link tokens, reply parsing.

Pure Python: no Flask, no database. The app stores messages and decides when to
send; this package sends them and reads the answers.
"""

from .channel import (
    Channel,
    OutgoingSms,
    PermanentSendError,
    ReconcilingChannel,
    SendError,
    SendReceipt,
    TransientSendError,
    UnknownOutcomeError,
)
from .dev_outbox import DevOutboxChannel, NullChannel
from .replies import (
    SAYS_MORE,
    STOP_WORDS,
    Reply,
    ReplyKind,
    corrects_an_answer,
    normalise_text,
    only_a_keyword,
    opt_out_type_from_twilio,
    parse_checklist,
    parse_choice,
    parse_reply,
    parse_scale_end,
    parse_yes_no,
    without_signature,
    words_beside,
)
from .sms_text import SegmentInfo, gsm7_friendly, is_gsm7, segment_info
from .tokens import hash_token, new_token, tokens_match
from .twilio_errors import stops_sms_to_number
from .twilio_sms import TwilioSmsChannel

__all__ = [
    "SAYS_MORE",
    "STOP_WORDS",
    "Channel",
    "DevOutboxChannel",
    "NullChannel",
    "OutgoingSms",
    "PermanentSendError",
    "ReconcilingChannel",
    "Reply",
    "corrects_an_answer",
    "ReplyKind",
    "SegmentInfo",
    "SendError",
    "SendReceipt",
    "TransientSendError",
    "TwilioSmsChannel",
    "UnknownOutcomeError",
    "gsm7_friendly",
    "hash_token",
    "is_gsm7",
    "new_token",
    "normalise_text",
    "only_a_keyword",
    "opt_out_type_from_twilio",
    "parse_checklist",
    "parse_choice",
    "parse_reply",
    "parse_scale_end",
    "parse_yes_no",
    "segment_info",
    "stops_sms_to_number",
    "tokens_match",
    "without_signature",
    "words_beside",
]
