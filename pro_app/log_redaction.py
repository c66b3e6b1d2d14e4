"""Keep live survey links and phone numbers out of every log line.

Installed as the process's log record factory, so it applies to every logger and handler:
Flask's "Exception on /s/<token>", Werkzeug's and gunicorn's access lines, tracebacks,
and anything a library logs. Survey paths become ``/s/[redacted]``; phone numbers keep
their first character and last three digits (``+*********456``). SQL parameters (names,
numbers, notes) never reach the logs at all: engines are made with
``hide_parameters=True`` (see ``db.make_engine``).
"""

import logging
import re
import traceback

_SURVEY_PATH = re.compile(r"(/s/)[^\s/?#\"'<>\\]+")
# "+447400123456", "+44 7400 123456", "07400 123456", "0044 7400 123456": 9 to 15 digits
# after a leading + or 0, optionally grouped by single spaces or hyphens.
_PHONE = re.compile(r"(?<![\w+])([+0])(\d(?:[ -]?\d){7,14})(?!\d)")


def _mask_phone(match: re.Match[str]) -> str:
    digits = match[2]
    kept = digits[-3:]
    return match[1] + re.sub(r"\d", "*", digits[:-3]) + kept


def redact(text: str) -> str:
    """``text`` without survey tokens and with phone numbers masked."""
    return _PHONE.sub(_mask_phone, _SURVEY_PATH.sub(r"\1[redacted]", text))


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: leave it for the handler to report
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Redact every log record made in this process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_personal_data", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _redact_record(record)
        return record

    make_record.redacts_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
