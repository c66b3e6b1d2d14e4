"""``/s/<token>``: the patient's survey, one page at a time, without JavaScript.

Every submitted page is saved, so a closed tab or a lost signal loses nothing; opening
the link again resumes where the patient stopped.
"""

import time
from collections import defaultdict, deque

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import select

from notifications import hash_token, tokens_match
from surveys import red_flags_raised

from ..followup.answer_saving import complete, current_responses, save_answers
from ..followup.survey_pages import MEDICATION_ROWS, first_unanswered, read_page, survey_pages
from ..models import AnswerChannel, InstanceStatus, Patient, Site, SurveyInstance, utcnow
from ..storage import database

bp = Blueprint("survey", __name__)

GUESS_LIMIT = 20  # unknown tokens per client per window before 429
GUESS_WINDOW_S = 600
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


@bp.after_request
def _headers(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def _guesses() -> dict[str, deque]:
    return current_app.extensions.setdefault("survey_token_guesses", defaultdict(deque))


def _too_many_guesses(client: str) -> bool:
    hits = _guesses()[client]
    cutoff = time.monotonic() - GUESS_WINDOW_S
    while hits and hits[0] < cutoff:
        hits.popleft()
    return len(hits) >= GUESS_LIMIT


def _instance_for(token: str) -> SurveyInstance:
    """The instance behind a token; a wrong token is a neutral 404 (and counts as a guess)."""
    client = request.remote_addr or "unknown"
    if _too_many_guesses(client):
        abort(429)
    digest = hash_token(token)
    instance = (
        database.session()
        .exec(select(SurveyInstance).where(SurveyInstance.token_hash == digest))
        .first()
    )
    if instance is None or not tokens_match(instance.token_hash, digest):
        _guesses()[client].append(time.monotonic())
        abort(404)
    patient = database.session().get(Patient, instance.patient_id)
    g.site = database.session().get(Site, patient.site_id)
    g.patient = patient
    return instance


def _progress(instance: SurveyInstance) -> dict:
    return dict((instance.progress or {}).get("web", {}))


def _set_progress(instance: SurveyInstance, **values) -> None:
    instance.progress = {**(instance.progress or {}), "web": {**_progress(instance), **values}}
    flag_modified(instance, "progress")


def _saved(instance: SurveyInstance) -> dict[str, dict]:
    rows = current_responses(database.session(), instance.id)
    return {instrument_id: row.answers for instrument_id, row in rows.items()}


@bp.route("/s/<token>", methods=["GET", "POST"])
def survey(token: str):
    session = database.session()
    instance = _instance_for(token)
    now = utcnow()
    if instance.status == InstanceStatus.COMPLETED:
        return render_template("patient/completed.html")
    if instance.status not in (InstanceStatus.SENT, InstanceStatus.IN_PROGRESS) or (
        instance.closes_at <= now
    ):
        return render_template("patient/closed.html"), 410
    if instance.first_opened_at is None:
        instance.first_opened_at = now
        session.commit()
    pages = survey_pages(instance.instruments)
    saved = _saved(instance)
    progress = _progress(instance)
    position = progress.get("page", first_unanswered(pages, saved))
    if request.method == "POST":
        return _submit(token, instance, pages, saved, position)
    if progress.get("advice"):
        return render_template("patient/advice.html", token=token, flags=progress["advice"])
    if position >= len(pages):
        return render_template("patient/review.html", token=token, pages=pages, saved=saved)
    return _page(token, pages, position, saved)


def _page(token, pages, position, saved, errors=None, submitted=None, status=200):
    page = pages[position]
    answers = {**saved.get(page.instrument.id, {}), **(submitted or {})}
    return (
        render_template(
            "patient/page.html",
            token=token,
            page=page,
            total=len(pages),
            position=position,
            answers=answers,
            errors=errors or {},
            medication_rows=MEDICATION_ROWS,
        ),
        status,
    )


def _submit(token, instance, pages, saved, position):
    session = database.session()
    action = request.form.get("action", "next")
    here = url_for("survey.survey", token=token)
    if action == "continue":  # after reading urgent advice
        _set_progress(instance, advice=[])
        session.commit()
        return redirect(here)
    if action == "back":
        _set_progress(instance, page=max(min(position, len(pages)) - 1, 0))
        session.commit()
        return redirect(here)
    if action == "submit" and position >= len(pages):
        if first_unanswered(pages, saved) < len(pages):
            _set_progress(instance, page=first_unanswered(pages, saved))
            session.commit()
            return redirect(here)
        complete(session, instance, now=utcnow())
        session.commit()
        return render_template("patient/thanks.html")
    if position >= len(pages):
        return redirect(here)
    page = pages[position]
    form = request.form.to_dict(flat=False)
    previous = saved.get(page.instrument.id, {})
    answers, errors = read_page(page, form, previous)
    if errors:
        return _page(token, pages, position, saved, errors, answers, status=422)
    flags = []
    if answers:
        save_answers(
            session, instance, page.instrument.id, answers, channel=AnswerChannel.WEB, now=utcnow()
        )
        flags = [
            {"urgency": flag.urgency.value, "advice": flag.advice}
            for flag in red_flags_raised(page.instrument, answers)
        ]
    _set_progress(instance, page=position + 1, advice=flags)
    session.commit()
    return redirect(here)


@bp.app_errorhandler(404)
def not_found(_error):
    if request.path.startswith("/s/"):
        return render_template("patient/not_found.html"), 404
    return _error


@bp.errorhandler(429)
def too_many(_error):
    return render_template("patient/not_found.html", too_many=True), 429
