"""``/s/<token>``: the patient's survey, one page at a time, without JavaScript.

Every submitted page is saved, so a closed tab or a lost signal loses nothing; opening
the link again resumes where the patient stopped.

The link's token is the patient's only credential, and it is in the address each form
posts to: a page a third party could make a browser post from would have to hold it
already. So these forms carry no CSRF token and the pages set no cookie. A cookie would
add nothing, and a browser that refuses cookies, or an old phone that drops a
session cookie while the page waits, would have its answers refused.
"""

from dataclasses import dataclass
from typing import NoReturn

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import bindparam
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import select

from notifications import hash_token, tokens_match
from surveys import ItemType, red_flags_raised
from surveys.burden import web_burden

from ..extensions import csrf
from ..followup.answer_saving import (
    SURVEY_LOCK,
    complete,
    lock_answers,
    read_locked,
    save_answers,
)
from ..followup.link_guesses import client_key, record_miss, retry_after
from ..followup.survey_pages import (
    MAX_MEDICINES,
    Place,
    display_values,
    error_list,
    first_unanswered,
    medicine_rows,
    page_answers,
    read_page,
    recall_sentence,
    rows_from_answer,
    survey_pages,
    timepoint_place,
)
from ..messaging.links import is_token_shaped
from ..models import (
    AnswerChannel,
    InstanceStatus,
    Patient,
    Procedure,
    Response,
    Site,
    SurveyInstance,
    utcnow,
)
from ..storage import database
from .input_guard import small_int

bp = Blueprint("survey", __name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


# One round trip: the instance with its patient, site and procedure (kept on ``g``, so the
# page's ``session.get`` calls find them in the session). Built once: only the hash varies.
_BY_TOKEN = (
    select(SurveyInstance, Patient, Site, Procedure)
    .join(Patient, Patient.id == SurveyInstance.patient_id)
    .join(Site, Site.id == Patient.site_id)
    .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
    .where(SurveyInstance.token_hash == bindparam("digest"))
)
# A page view reads the current answers in the same round trip (a row for each).
_BY_TOKEN_WITH_ANSWERS = _BY_TOKEN.add_columns(Response).outerjoin(
    Response, (Response.instance_id == SurveyInstance.id) & Response.is_current
)
# A POST locks the instance in its look-up (the saves of one survey queue there), then
# reads the answers under the lock (see ``lock_answers``).
_BY_TOKEN_LOCKED = _BY_TOKEN.with_for_update(of=SurveyInstance, **SURVEY_LOCK).execution_options(
    populate_existing=True
)


@bp.after_request
def _headers(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def _instance_for(token: str) -> SurveyInstance:
    """The instance behind a token; a wrong token is a neutral 404 and counts as a guess.

    A real link is looked up first and always opens; only a client past the guess limit
    for unknown links gets 429 (see ``link_guesses``).
    """
    session = database.session()
    digest = hash_token(token)
    viewing = request.method != "POST"
    statement = _BY_TOKEN_WITH_ANSWERS if viewing else _BY_TOKEN_LOCKED
    rows = (
        session.exec(statement, params={"digest": digest}).all() if is_token_shaped(token) else []
    )
    if not rows or not tokens_match(rows[0][0].token_hash, digest):
        _count_miss()
    instance, g.patient, g.site, g.procedure = rows[0][:4]
    if viewing:
        g.saved_answers = {
            row[4].instrument_id: row[4].answers for row in rows if row[4] is not None
        }
    else:
        read_locked(session, instance)
    return instance


def _count_miss() -> NoReturn:
    """Answer an unknown link: 404, or 429 once the client has guessed too often."""
    session = database.session()
    now = utcnow()
    key = client_key(current_app.config["SECRET_KEY"], request.remote_addr or "unknown")
    wait = retry_after(session, key, now)
    if wait is not None:
        session.rollback()
        g.retry_after = wait
        abort(429)
    record_miss(session, key, now)
    session.commit()
    abort(404)


def _progress(instance: SurveyInstance) -> dict:
    return dict((instance.progress or {}).get("web", {}))


def _set_progress(instance: SurveyInstance, **values) -> None:
    instance.progress = {**(instance.progress or {}), "web": {**_progress(instance), **values}}
    flag_modified(instance, "progress")


def _saved(instance: SurveyInstance) -> dict[str, dict]:
    """The saved answers: read with the instance for a page view; a POST locks the
    instance and reads them once, under the lock, for the page it checks and the save it
    makes (see ``lock_answers``)."""
    if request.method != "POST":
        return g.saved_answers
    rows = lock_answers(database.session(), instance)
    return {instrument_id: row.answers for instrument_id, row in rows.items()}


def _requested_page(pages, saved) -> int | None:
    """The page asked for by a Back or Change link (``?page=3``, ``?page=check``).

    Pages past the first with a question still open cannot be jumped to.
    """
    wanted = request.values.get("page", "")
    reachable = first_unanswered(pages, saved)
    if wanted == "check":
        return len(pages) if reachable == len(pages) else None
    number = small_int(wanted)
    if number is not None and 1 <= number <= min(reachable + 1, len(pages)):
        return number - 1
    return None


@bp.route("/s/<token>", methods=["GET", "POST"])
@csrf.exempt  # the token in the address is the credential (see the module's docstring)
def survey(token: str):
    session = database.session()
    instance = _instance_for(token)
    now = utcnow()
    procedure = session.get(Procedure, instance.procedure_id)
    place = timepoint_place(procedure.protocol_id, instance.timepoint)
    if instance.status == InstanceStatus.COMPLETED:
        return render_template("patient/completed.html", place=place)
    if instance.status not in (InstanceStatus.SENT, InstanceStatus.IN_PROGRESS) or (
        instance.closes_at <= now
    ):
        submitted = request.method == "POST"  # answers that came too late: say whom to call
        return render_template("patient/closed.html", submitted=submitted), 410
    if instance.first_opened_at is None:
        instance.first_opened_at = now
        session.commit()
    pages = survey_pages(instance.instruments, baseline=place.is_baseline)
    saved = _saved(instance)
    progress = _progress(instance)
    requested = _requested_page(pages, saved)
    position = progress.get("page", first_unanswered(pages, saved))
    if requested is not None:
        position = requested
    view = SurveyView(token, instance, pages, saved, place)
    if request.method == "POST":
        return _submit(view, position)
    if progress.get("advice") and requested is None:
        return render_template("patient/advice.html", token=token, flags=progress["advice"])
    if position >= len(pages):
        return _check_page(view)
    return _page(view, position)


@dataclass(frozen=True)
class SurveyView:
    token: str
    instance: SurveyInstance
    pages: list
    saved: dict
    place: Place

    def url(self, **query) -> str:
        return url_for("survey.survey", token=self.token, **query)

    def burden(self):
        return web_burden(self.instance.instruments, baseline=self.place.is_baseline)


def _check_page(view: SurveyView):
    sections = [
        (index, page, page_answers(page, view.saved.get(page.instrument.id, {})))
        for index, page in enumerate(view.pages)
    ]
    return render_template(
        "patient/review.html",
        view=view,
        sections=sections,
        missing=first_unanswered(view.pages, view.saved) < len(view.pages),
        back_url=view.url(page=len(view.pages)) if view.pages else None,
    )


def _back_url(view: SurveyView, position: int, from_check: bool) -> str | None:
    if from_check:
        return view.url(page="check")
    return view.url(page=position) if position > 0 else None


def _page(view, position, errors=None, shown=None, medicines=None, status=200):
    page = view.pages[position]
    saved = view.saved.get(page.instrument.id, {})
    from_check = request.values.get("from") == "check"
    if medicines is None:
        medicines = {
            item.id: rows_from_answer(saved.get(item.id)) or [{}]
            for item in page.items
            if item.type == ItemType.MEDICATION_LIST
        }
    return (
        render_template(
            "patient/page.html",
            view=view,
            page=page,
            total=len(view.pages),
            position=position,
            answers=shown if shown is not None else display_values(page, saved),
            errors=errors or {},
            error_summary=error_list(page, errors or {}),
            medicines=medicines,
            max_medicines=MAX_MEDICINES,
            recall=recall_sentence(page.instrument.recall_period, baseline=view.place.is_baseline),
            from_check=from_check,
            back_url=_back_url(view, position, from_check),
            action_url=view.url(page=position + 1, **({"from": "check"} if from_check else {})),
            estimate=view.burden().phrase if position == 0 else None,
        ),
        status,
    )


def _redraw(view, position, form, *, add: bool = False, remove: tuple[str, int] | None = None):
    """The page again with everything typed, and a medicine row added or taken away."""
    page = view.pages[position]
    medicines = {}
    for item in page.items:
        if item.type != ItemType.MEDICATION_LIST:
            continue
        rows = medicine_rows(item, form) or [{}]
        if remove and remove[0] == item.id and 0 <= remove[1] < len(rows):
            del rows[remove[1]]
        if add and len(rows) < MAX_MEDICINES:
            rows.append({})
        medicines[item.id] = rows or [{}]
    shown = display_values(page, view.saved.get(page.instrument.id, {}), None, form)
    return _page(view, position, shown=shown, medicines=medicines)


def _submit(view: SurveyView, position: int):
    session = database.session()
    instance, pages, saved = view.instance, view.pages, view.saved
    action = request.form.get("action", "next")
    here = view.url()
    if action == "continue":  # after reading urgent advice
        _set_progress(instance, advice=[])
        session.commit()
        return redirect(here)
    if action == "submit" and position >= len(pages):
        if first_unanswered(pages, saved) < len(pages):
            _set_progress(instance, page=first_unanswered(pages, saved))
            session.commit()
            return redirect(here)
        complete(session, instance, now=utcnow())
        session.commit()
        return render_template("patient/thanks.html", place=view.place)
    if position >= len(pages):
        return redirect(here)
    form = request.form.to_dict(flat=False)
    if action == "add-medicine":
        return _redraw(view, position, form, add=True)
    if action.startswith("remove-"):
        item_id, _, row = action.removeprefix("remove-").rpartition("-")
        row_number = small_int(row)
        return _redraw(
            view, position, form, remove=(item_id, -1 if row_number is None else row_number)
        )
    page = pages[position]
    previous = saved.get(page.instrument.id, {})
    answers, errors = read_page(page, form, previous)
    if errors:
        medicines = {
            item.id: medicine_rows(item, form) or [{}]
            for item in page.items
            if item.type == ItemType.MEDICATION_LIST
        }
        shown = display_values(page, previous, answers, form)
        return _page(view, position, errors, shown, medicines, status=422)
    flags = [
        {"urgency": flag.urgency.value, "advice": flag.advice, "reported": flag.reported}
        for flag in (red_flags_raised(page.instrument, answers) if answers else ())
    ]
    after = len(pages) if request.values.get("from") == "check" else position + 1
    # Set before saving, so the save's one update of the instance carries it.
    _set_progress(instance, page=after, advice=flags)
    if answers:
        save_answers(
            session, instance, page.instrument.id, answers, channel=AnswerChannel.WEB, now=utcnow()
        )
    session.commit()
    return redirect(here)


@bp.app_errorhandler(404)
def not_found(_error):
    if request.path.startswith("/s/"):
        return render_template("patient/not_found.html"), 404
    return _error


@bp.errorhandler(500)
def failed(_error):
    """Our failure (the database unreachable, say): what to do, and whom to call if worse.
    The site is not named: reading it could fail the same way."""
    g.site = None
    return render_template("patient/error.html"), 500


@bp.errorhandler(429)
def too_many(_error):
    headers = {"Retry-After": str(g.retry_after)} if g.get("retry_after") else {}
    return render_template("patient/not_found.html", too_many=True), 429, headers
