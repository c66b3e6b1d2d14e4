"""The audit page and its exports, for auditors and admins (site-scoped or registry-wide)."""

from datetime import date

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user
from sqlmodel import select

from ..accounts.access import log_access, roles_required
from ..audit.definitions import report_definitions
from ..audit.export_names import export_filename
from ..audit.exports import FORMATS, export_chunks
from ..audit.figures import cohort_figures
from ..audit.report import AUDIT_ROLES, build_report, scoped
from ..audit.tables import plain, sections
from ..audit.timelines import AuditFilters
from ..models import Augmentation, Electrode, LesionType, Site, utcnow
from ..storage import database
from ..storage.engine import read_session
from .input_guard import database_id

bp = Blueprint("audit", __name__, url_prefix="/audit")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        abort(400, f"{name} must be a date (YYYY-MM-DD)")


def _choice(name: str, allowed) -> str:
    value = request.args.get(name, "")
    return value if value in {member.value for member in allowed} else ""


def filters_from_request() -> AuditFilters:
    """The page's filters, limited to what the signed-in user may see."""
    site = database_id(request.args.get("site", type=int))
    wanted = AuditFilters(
        site_id=site,
        augmentation=_choice("procedure", Augmentation),
        electrode=_choice("electrode", Electrode),
        lesion_type=_choice("lesion", LesionType),
        date_from=_date("from"),
        date_to=_date("to"),
    )
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


MIMETYPES = {"csv": "text/csv", "xlsx": XLSX, "fhir": "application/fhir+json"}


@bp.get("/export/<level>.<fmt>")
@roles_required(*AUDIT_ROLES)
def export(level: str, fmt: str):
    if fmt not in FORMATS.get(level, ()):
        abort(404)
    session = database.session()
    filters = filters_from_request()
    log_access(session, current_user, f"export_{level}_{fmt}", detail=filters.describe()[:500])
    session.commit()
    site = session.get(Site, filters.site_id) if filters.site_id is not None else None
    filename = export_filename(level, fmt, filters, site.code if site else None, utcnow().date())
    return Response(
        stream_with_context(_streamed(database.engine(), level, fmt, filters)),
        mimetype=MIMETYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _streamed(engine, level: str, fmt: str, filters: AuditFilters):
    """The export's chunks, read in a snapshot of its own that ends with the download."""
    with read_session(engine) as session:
        yield from export_chunks(session, level, fmt, filters, utcnow())
