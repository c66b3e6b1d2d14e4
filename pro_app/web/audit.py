"""The audit page and its exports, for auditors and admins (site-scoped or registry-wide).

Small exports (the outcome tables, the patient-level CSV) stream in the request. The
patient-level workbook and the FHIR exports are background jobs (``audit.jobs``): asked
for with a form, shown with their progress, downloaded once by the user who asked.
"""

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlmodel import select

from ..accounts.access import log_access, roles_required
from ..audit.definitions import report_definitions
from ..audit.export_names import export_filename
from ..audit.exports import FORMATS, export_chunks
from ..audit.figures import cohort_figures
from ..audit.jobs import (
    DownloadRefused,
    JobRefused,
    filters_from_json,
    jobs_for,
    queue_export,
    ready_download,
    take_download,
)
from ..audit.report import AUDIT_ROLES, build_report, scoped
from ..audit.tables import plain, sections
from ..audit.timelines import AuditFilters
from ..models import Augmentation, Electrode, LesionType, Site, utcnow
from ..storage import database
from ..storage.engine import read_session
from .input_guard import database_id, kept_args, small_int

bp = Blueprint("audit", __name__, url_prefix="/audit")
FILTER_ARGS = ("site", "procedure", "electrode", "lesion", "from", "to")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        abort(400, f"{name} must be a date (YYYY-MM-DD)")


def _choice(name: str, allowed) -> str:
    """A filter that is one of ``allowed``, or none; any other value is a 400 naming it,
    so no page or file covers more than was asked for."""
    value = request.args.get(name, "").strip()
    choices = [member.value for member in allowed]
    if value and value.lower() not in choices:
        abort(400, f"{name} “{value[:20]}” is not one of: {', '.join(choices)}")
    return value.lower()


def _site() -> int | None:
    raw = request.args.get("site", "").strip()
    if not raw:
        return None
    site_id = database_id(small_int(raw))
    if site_id is None:
        abort(400, f"site “{raw[:20]}” is not a site's number")
    return site_id


def filters_from_request() -> AuditFilters:
    """The page's filters, limited to what the signed-in user may see."""
    site = _site()
    wanted = AuditFilters(
        site_id=site,
        augmentation=_choice("procedure", Augmentation),
        electrode=_choice("electrode", Electrode),
        lesion_type=_choice("lesion", LesionType),
        date_from=_date("from"),
        date_to=_date("to"),
    )
    if wanted.date_from and wanted.date_to and wanted.date_from > wanted.date_to:
        abort(400, "from must not be after to: the range would hold no procedure")
    return scoped(current_user, wanted)


@bp.get("/")
@roles_required(*AUDIT_ROLES)
def index():
    session = database.session()
    filters = filters_from_request()
    with read_session(database.engine()) as reading:
        report = build_report(reading, filters, utcnow())
    sites = (
        session.exec(select(Site).order_by(Site.code)).all()
        if current_user.site_id is None
        else [session.get(Site, current_user.site_id)]
    )
    log_access(session, current_user, "view_audit", detail=filters.describe()[:500])
    session.commit()
    return render_template(
        "audit/index.html",
        jobs=jobs_for(session, current_user),
        job_formats=JOB_LABELS,
        keep_hours=_keep_hours(),
        report=report,
        sections=sections(report),
        plain=plain,
        definitions=report_definitions(report),
        figures=cohort_figures(report),
        filters=filters,
        sites=sites,
        registry=current_user.site_id is None,
        options={
            "procedure": [m.value for m in Augmentation],
            "electrode": [m.value for m in Electrode],
            "lesion": [m.value for m in LesionType],
        },
        query=request.query_string.decode(),
        excluded=sum(o.no_baseline for o in report.timepoints if o.timepoint != "baseline"),
    )


MIMETYPES = {
    "csv": "text/csv",
    "xlsx": XLSX,
    "fhir": "application/fhir+json",
    "ndjson": "application/zip",
}
# Exports too long for a web request: made by a worker, downloaded when ready.
JOB_LABELS = {
    ("patients", "xlsx"): "patient-level workbook (XLSX, with definitions)",
    ("patients", "fhir"): "FHIR R4 Bundle",
    ("patients", "ndjson"): "FHIR bulk data (NDJSON, zipped)",
}


@bp.get("/export/<level>.<fmt>")
@roles_required(*AUDIT_ROLES)
def export(level: str, fmt: str):
    if fmt not in FORMATS.get(level, ()):
        abort(404)
    if (level, fmt) in JOB_LABELS:
        abort(404, "This export is made in the background: ask for it on the audit page.")
    session = database.session()
    filters = filters_from_request()
    log_access(session, current_user, f"export_{level}_{fmt}", detail=filters.describe()[:500])
    session.commit()
    filename = _filename(session, level, fmt, filters, utcnow().date())
    return Response(
        stream_with_context(
            _streamed(database.engine(), level, fmt, filters, current_app.config["SECRET_KEY"])
        ),
        mimetype=MIMETYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _streamed(engine, level: str, fmt: str, filters: AuditFilters, secret_key: str):
    """The export's chunks, read in a snapshot of its own that ends with the download."""
    with read_session(engine) as session:
        yield from export_chunks(session, level, fmt, filters, utcnow(), secret_key=secret_key)


def _filename(session, level: str, fmt: str, filters: AuditFilters, made_on: date) -> str:
    site = session.get(Site, filters.site_id) if filters.site_id is not None else None
    return export_filename(level, fmt, filters, site.code if site else None, made_on)


def _export_folder():
    return current_app.extensions["pro_settings"].export_folder


def _keep_hours() -> int:
    return current_app.extensions["pro_settings"].export_keep_hours


@bp.post("/jobs")
@roles_required(*AUDIT_ROLES)
def queue_job():
    """Queue a background export with the page's filters (in the query string)."""
    level, fmt = request.form.get("level", ""), request.form.get("fmt", "")
    if (level, fmt) not in JOB_LABELS:
        abort(400, "Choose one of the background exports.")
    session = database.session()
    filters = filters_from_request()
    try:
        job = queue_export(session, current_user, level, fmt, filters, utcnow())
    except JobRefused as exc:
        session.rollback()
        abort(429, str(exc))
    session.commit()
    flash(f"Export {job.id} queued: it appears below when ready.")
    return redirect(url_for("audit.index", **kept_args(FILTER_ARGS)) + "#exports", code=303)


@bp.get("/jobs")
@roles_required(*AUDIT_ROLES)
def job_list():
    """The user's own jobs with their progress (the audit page refreshes it)."""
    jobs = jobs_for(database.session(), current_user)
    return render_template(
        "audit/_jobs.html", jobs=jobs, job_formats=JOB_LABELS, keep_hours=_keep_hours()
    )


@bp.get("/jobs/<int:job_id>/download")
@roles_required(*AUDIT_ROLES)
def download_job(job_id: int):
    """The finished file, once, for the user who asked for it only. A HEAD says whether it
    is there without taking it."""
    session = database.session()
    try:
        if request.method == "HEAD":
            job, path = ready_download(session, current_user, job_id, _export_folder(), utcnow())
            source = path
        else:
            taken = take_download(session, current_user, job_id, _export_folder(), utcnow())
            job, source = taken.job, taken.handle
    except DownloadRefused as exc:
        abort(exc.status, str(exc))
    name = _filename(
        session, job.level, job.fmt, filters_from_json(job.filters), job.created_at.date()
    )
    response = send_file(
        source,
        mimetype=MIMETYPES[job.fmt],
        as_attachment=True,
        download_name=name,
        max_age=0,
        conditional=False,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
