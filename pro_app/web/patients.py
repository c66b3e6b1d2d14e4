"""The nurse's view of their site's patients: list, enrol, import, patient record."""

from collections.abc import Iterable
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select

from ..accounts.access import log_access, patient_for, roles_required
from ..enrolment import (
    CSV_COLUMNS,
    Enrolled,
    EnrolmentError,
    enrol,
    import_csv,
    shared_number_note,
)
from ..local_time import in_zone, local_today
from ..messaging import opt_out
from ..models import (
    SAFETY_EVENT_LABELS,
    Augmentation,
    FollowUpStatus,
    Procedure,
    Role,
    Site,
    SiteAlert,
    utcnow,
)
from ..nurse.actions import ALERT_ACTION_LABELS, move_procedure_date
from ..nurse.dashboard import SORTS, Filters, patient_page
from ..nurse.patient_record import RECENT_ALERTS, gather, summary_alerts
from ..storage import database
from .enrol_form import ImportForm, enrol_form
from .input_guard import int_arg, kept_args, small_int
from .local_time import staff_zone
from .patient_actions import ProcedureDateForm, perform, record_page

bp = Blueprint("patients", __name__, url_prefix="/patients")
MAX_PAGE = 10_000  # 500,000 patients at 50 a page; a larger page number shows the last


def _site() -> Site:
    return database.session().get(Site, current_user.site_id)


# The list's ranges of days since the procedure, as offered (label, first day, last day);
# "before" lists those whose procedure is still to come.
DAY_RANGES = {
    "before": ("before the procedure", None, -1),
    "0-14": ("0–14", 0, 14),
    "15-90": ("15–90", 15, 90),
    "91-": ("over 90", 91, None),
}
MAX_DAYS = 36_500
PROCEDURES = frozenset(choice.value for choice in Augmentation)
FOLLOW_UP_STATUSES = frozenset(choice.value for choice in FollowUpStatus)


def _date_arg(name: str, label: str, problems: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{label} “{raw[:20]}” is not a date (e.g. 2027-03-01); it was left out.")
        return None


def _choice_arg(name: str, label: str, choices: Iterable[str], problems: list[str]) -> str:
    """A filter that is one of ``choices``, in any case; one that is not is named and left out."""
    raw = request.args.get(name, "").strip()
    if raw.lower() in choices:
        return raw.lower()
    if raw:
        problems.append(f"{label} “{raw[:20]}” is not one of the choices; it was left out.")
    return ""


def _days_arg(name: str, label: str, problems: list[str]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    days = small_int(raw)
    if days is not None and days <= MAX_DAYS:
        return days
    problems.append(
        f"{label} “{raw[:20]}” is not a number of days (0 to {MAX_DAYS:,}); it was left out."
    )
    return None


# What the list reads from its query string (the page number aside), kept in its links.
LIST_ARGS = frozenset(
    {"q", "alerts", "procedure", "status", "procedure_from", "procedure_to"}
    | {"days", "days_from", "days_to", "sort", "dir"}
)
MAX_QUERY = 100  # a study id has at most 64 characters, a first name 100


def list_filters() -> tuple[Filters, list[str]]:
    """The list's filters and sort from the query string, and what could not be read."""
    problems: list[str] = []
    days_from = _days_arg("days_from", "Days since procedure from", problems)
    days_to = _days_arg("days_to", "Days since procedure to", problems)
    preset = DAY_RANGES.get(_choice_arg("days", "Days since procedure", DAY_RANGES, problems))
    if preset and days_from is None and days_to is None:
        _label, days_from, days_to = preset
    procedure_from = _date_arg("procedure_from", "Procedure from", problems)
    procedure_to = _date_arg("procedure_to", "Procedure to", problems)
    if procedure_from and procedure_to and procedure_from > procedure_to:
        problems.append("The procedure date range ends before it starts; no patient can match.")
    if days_from is not None and days_to is not None and days_from > days_to:
        problems.append(
            "The days-since-procedure range ends before it starts; no patient can match."
        )
    sort = request.args.get("sort", "triage")
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY:  # no study id or name is longer (SQLite refuses a huge LIKE)
        problems.append(f"The search is cut to its first {MAX_QUERY} characters.")
        query = query[:MAX_QUERY]
    filters = Filters(
        query=query,
        alerts_only=request.args.get("alerts") == "1",
        augmentation=_choice_arg("procedure", "Procedure", PROCEDURES, problems),
        status=_choice_arg("status", "Follow-up", FOLLOW_UP_STATUSES, problems),
        procedure_from=procedure_from,
        procedure_to=procedure_to,
        days_from=days_from,
        days_to=days_to,
        sort=sort if sort in SORTS else "triage",
        descending=request.args.get("dir") == "desc",
    )
    return filters, problems


@bp.get("/")
@roles_required(Role.NURSE)
def index():
    session = database.session()
    filters, problems = list_filters()
    page = int_arg("page", 1, minimum=1, maximum=MAX_PAGE)
    now = utcnow()
    today = in_zone(now, staff_zone()).date()
    rows, has_next = patient_page(session, current_user.site_id, filters, page, now, today)
    site_alerts = session.exec(
        select(SiteAlert)
        .where(SiteAlert.site_id == current_user.site_id, SiteAlert.acknowledged_at.is_(None))
        .order_by(SiteAlert.created_at)
    ).all()
    page_html = render_template(
        "patients/index.html",
        site_alerts=site_alerts,
        site_alert_form=FlaskForm(),
        rows=rows,
        has_next=has_next,
        page=page,
        filters=filters,
        day_ranges=DAY_RANGES,
        problems=problems,
        today=today,
        now=now,
        args=kept_args(LIST_ARGS),
        sort_args=kept_args(LIST_ARGS - {"sort", "dir"}),
    )
    return page_html, 400 if problems else 200


@bp.route("/enrol", methods=["GET", "POST"])
@roles_required(Role.NURSE)
def enrol_patient():
    site = _site()
    now = utcnow()
    form = enrol_form(site, local_today(now, site.timezone))
    problems: list = []
    if form.validate_on_submit():
        session = database.session()
        try:
            enrolled = enrol(session, site, form.values(), user_id=current_user.id, now=now)
        except EnrolmentError as exc:
            session.rollback()
            problems = form.show(exc.problems)
        else:
            session.commit()
            flash(_enrolled_message(enrolled), "info")
            if enrolled.number_opted_out:
                flash(opt_out.NURSE_NOTE, "warning")
            shared = shared_number_note(session, enrolled.patient)
            if shared:
                flash(shared, "warning")
            return redirect(url_for("patients.detail", patient_id=enrolled.patient.id))
    elif request.method == "POST" and "csrf_token" in form.errors:
        problems = [
            {"message": "The form had expired: check it and send it again.", "anchor": None}
        ]
    status = 422 if request.method == "POST" else 200
    return render_template("patients/enrol.html", form=form, problems=problems), status


def _enrolled_message(enrolled: Enrolled) -> str:
    study_id = enrolled.patient.study_id
    if enrolled.record_only:
        return f"Enrolled {study_id} for the record only: no survey will be sent."
    return f"Enrolled {study_id}; {enrolled.planned} surveys are planned."


@bp.route("/import", methods=["GET", "POST"])
@roles_required(Role.NURSE)
def import_patients():
    form = ImportForm()
    problems: list = []
    if form.validate_on_submit():
        session = database.session()
        raw = form.file.data.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems = [(None, "file", "Save the file as “CSV UTF-8” and try again.")]
        else:
            try:
                enrolled = import_csv(session, _site(), text, user_id=current_user.id)
            except EnrolmentError as exc:
                session.rollback()
                problems = exc.problems
            else:
                session.commit()
                record_only = sum(e.record_only for e in enrolled)
                kept = f", {record_only} of them for the record only" if record_only else ""
                flash(f"Enrolled {len(enrolled)} patients{kept}.", "info")
                if stopped := [e.patient.study_id for e in enrolled if e.number_opted_out]:
                    flash(f"{', '.join(stopped)}: {opt_out.NURSE_NOTE}", "warning")
                return redirect(url_for("patients.index"))
    elif request.method == "POST":
        problems = [(None, "file", error) for error in form.file.errors] or [
            (None, "file", "The form had expired: choose the file and send it again.")
        ]
    status = 422 if request.method == "POST" else 200
    return render_template(
        "patients/import.html", form=form, problems=problems, columns=CSV_COLUMNS
    ), status


@bp.get("/<int:patient_id>")
@roles_required(Role.NURSE)
def detail(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    log_access(session, current_user, "view_patient", patient.id)
    session.commit()
    return record_page(patient)


@bp.get("/<int:patient_id>/summary")
@roles_required(Role.NURSE)
def summary(patient_id: int):
    """The patient's record to print: no navigation, forms or message log."""
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    procedure = session.exec(select(Procedure).where(Procedure.patient_id == patient.id)).first()
    now = utcnow()
    record = gather(session, patient, procedure, now=now, zone=staff_zone())
    log_access(session, current_user, "print_patient", patient.id)
    session.commit()
    return render_template(
        "patients/summary.html",
        patient=patient,
        procedure=procedure,
        record=record,
        alerts=summary_alerts(record.alerts, now=now),
        recent_days=RECENT_ALERTS.days,
        today=in_zone(now, staff_zone()).date(),
        now=now,
        actions=ALERT_ACTION_LABELS,
        safety_labels=SAFETY_EVENT_LABELS,
    )


@bp.post("/site-alerts/<int:alert_id>/acknowledge")
@roles_required(Role.NURSE)
def acknowledge_site_alert(alert_id: int):
    """Mark a problem with the site's own set-up (e.g. its on-call phone) as dealt with."""
    session = database.session()
    alert = session.get(SiteAlert, alert_id)
    if alert is None or alert.site_id != current_user.site_id:
        abort(404)
    if FlaskForm().validate_on_submit() and alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = current_user.id
        session.commit()
        flash("Site alert acknowledged.", "info")
    return redirect(url_for("patients.index"))


def _replanned_when(status: str) -> str:
    """The end of the date-move message: planned now, or when follow-up starts again."""
    if status == FollowUpStatus.PAUSED:
        return ", to be sent when follow-up resumes."
    if status == FollowUpStatus.STOPPED:
        return ", to be sent if follow-up restarts."
    return "."


def _counted(n: int, one: str, many: str) -> str:
    """A sentence about ``n`` surveys (none: nothing), ``{n}`` in ``many`` the number."""
    return "" if not n else " " + (one if n == 1 else many.format(n=n))


@bp.post("/<int:patient_id>/procedure-date")
@roles_required(Role.NURSE)
def move_procedure(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = ProcedureDateForm()
    procedure = session.exec(select(Procedure).where(Procedure.patient_id == patient.id)).one()
    return perform(
        patient,
        form,
        lambda: move_procedure_date(
            session, procedure, form.procedure_date.data, user_id=current_user.id, now=utcnow()
        ),
        lambda change: (
            f"Procedure date set; {change.replanned} surveys not yet sent were re-planned"
            + _replanned_when(patient.status)
            + _counted(
                change.window_passed,
                "One survey not yet sent will not be sent: the window had closed by the new date.",
                "{n} surveys not yet sent will not be sent: the window had closed by the new date.",
            )
            + _counted(
                change.closed_early,
                "The survey already sent closes earlier: when its window from the new date ends.",
                "{n} surveys already sent close earlier: when their new date's windows end.",
            )
            + _counted(
                change.reopened,
                "A survey closed by the earlier date is open again.",
                "{n} surveys closed by the earlier date are open again.",
            )
        ),
        slot="date_form",
    )
