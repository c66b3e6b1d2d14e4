"""Hostile or broken request input ends in a clear 4xx, never a server error.

- Control characters (NUL and the other C0 controls except tab, line feed and carriage
  return, and DEL) in any query parameter or form field are refused with a 400 page that
  names the field. PostgreSQL cannot store NUL in text at all, and no field of the app
  has a use for the others. Twilio's webhooks are exempt: an inbound text is cleaned by
  its handler instead, so a patient's message is never refused.
- ``<int:...>`` in routes accepts only ids a database integer column can hold; a larger
  number is a 404 instead of an "integer out of range" error from PostgreSQL.
- ``int_arg`` reads a numeric query parameter clamped to a range.
- Should a value still reach the database too long or too large for its column (a form
  without a length check), PostgreSQL's data error becomes a 400 page, not a 500.
"""

import logging
from collections.abc import Iterable

from flask import Flask, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.routing import IntegerConverter

from ..plain_text import has_control_characters, without_control_characters
from ..storage import database

MAX_ID = 2**31 - 1  # PostgreSQL ``integer``
CLEANED_ELSEWHERE = frozenset({"sms"})  # blueprints whose handlers clean their own input
log = logging.getLogger(__name__)


class DatabaseId(IntegerConverter):
    """An ``<int:...>`` that matches only 0..2**31-1 (a larger id cannot exist)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002  (Werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def database_id(value: int | None) -> int | None:
    """``value`` if a database id could have it, else None."""
    return value if value is not None and 0 <= value <= MAX_ID else None


def small_int(raw: str, *, digits: int = 12) -> int | None:
    """``raw`` as an int when it is ASCII digits, at most ``digits`` of them; else None.

    A longer run is no page, row, day or id (and Python refuses to read more than 4,300
    digits at all, which would be a server error)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= digits:
        return int(raw)
    return None


def int_arg(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """The query parameter ``name`` as an int within ``minimum..maximum``.

    A missing or unreadable value gives ``default``; one out of range is clamped.
    """
    raw = request.args.get(name, "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return default
    value = small_int(raw)
    return min(max(maximum if value is None else value, minimum), maximum)


def kept_args(names: Iterable[str]) -> dict[str, str]:
    """The query parameters among ``names``, to carry into a link: any other
    (``endpoint``, ``_method``...) would be read by ``url_for`` as its own argument."""
    return {name: request.args[name] for name in names if name in request.args}


def _first_bad_field() -> str | None:
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            if has_control_characters(name) or has_control_characters(value):
                return without_control_characters(name)[:60] or "a field"
    return None


def refuse_control_characters():
    """``before_request``: a 400 page if a parameter carries a control character."""
    if request.blueprint in CLEANED_ELSEWHERE:
        return None
    field = _first_bad_field()
    if field is None:
        return None
    template = "patient/bad_input.html" if request.blueprint == "survey" else "bad_input.html"
    return render_template(template, field=field), 400


def value_out_of_range(error: DataError):
    """A value the database refused (too long, too large): 400, nothing saved."""
    database.session().rollback()
    # The class only: the database's message may quote the value.
    log.warning("refused a value the database cannot hold: %s", type(error.orig).__name__)
    if request.blueprint == "survey":
        return render_template("patient/bad_input.html"), 400
    return render_template("bad_input.html", field=None), 400


def init_app(app: Flask) -> None:
    """Install the id converter (before any route is added) and the input checks."""
    app.url_map.converters["int"] = DatabaseId
    app.before_request(refuse_control_characters)
    app.register_error_handler(DataError, value_out_of_range)
