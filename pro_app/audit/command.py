"""``pro-app export``: the audit exports from the command line, for scheduled submissions
(written to a file, or queued as a background job with ``--background``); and
``pro-app worker``, which runs the background jobs."""

import logging
import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session, select

from ..models import AccessLog, Augmentation, Electrode, LesionType, Site, User, utcnow
from ..storage import database
from ..storage.engine import read_session
from .exports import FORMATS, export_chunks
from .jobs import WorkerSettings, queue_export, run_forever, work_once, worker_name
from .timelines import AuditFilters


def _choice(enum) -> click.Choice:
    return click.Choice([member.value for member in enum])


@click.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx", "fhir", "ndjson"]), required=True
)
@click.option(
    "--level",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="aggregate outcome tables, or the de-identified patient-level table "
    "(default: aggregate for csv/xlsx; fhir and ndjson are always patient-level)",
)
@click.option("--site", "site_code", default=None, help="Site code (default: every site)")
@click.option("--procedure", type=_choice(Augmentation), default=None)
@click.option("--electrode", type=_choice(Electrode), default=None)
@click.option("--lesion", type=_choice(LesionType), default=None)
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--as", "user_email", required=True, help="Email of the auditor or admin exporting")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--background",
    is_flag=True,
    help="Queue the export for the worker instead of writing --out: the user downloads it "
    "once from the audit page",
)
@with_appcontext
def export_command(
    fmt,
    level,
    site_code,
    procedure,
    electrode,
    lesion,
    date_from,
    date_to,
    user_email,
    out,
    background,
) -> None:
    """Write an audit export to --out (or queue it with --background), recorded in the
    access log."""
    level = level or ("patients" if fmt in ("fhir", "ndjson") else "aggregate")
    if fmt not in FORMATS[level]:
        raise click.BadParameter(f"{fmt} is not offered for --level {level}")
    if background and out is not None:
        raise click.BadParameter("give either --out or --background, not both")
    if date_from and date_to and date_from > date_to:
        raise click.BadParameter("--from must not be after --to")
    if not background:
        if out is None:
            raise click.BadParameter("give --out FILE, or --background")
        _check_writable(out)
    with Session(database.engine()) as session:
        user = session.exec(select(User).where(User.email == user_email.lower())).first()
        if user is None or user.role not in ("auditor", "admin") or not user.active:
            raise click.ClickException(f"{user_email} is not an active auditor or admin.")
        site_id = None
        if site_code:
            site = session.exec(select(Site).where(Site.code == site_code)).first()
            if site is None:
                raise click.ClickException(f"No site with code {site_code!r}.")
            site_id = site.id
        if user.site_id is not None and site_id not in (None, user.site_id):
            raise click.ClickException(f"{user_email} may export only their own site.")
        filters = AuditFilters(
            site_id=user.site_id if user.site_id is not None else site_id,
            augmentation=procedure or "",
            electrode=electrode or "",
            lesion_type=lesion or "",
            date_from=_day(date_from),
            date_to=_day(date_to),
        )
        if background:
            job = queue_export(session, user, level, fmt, filters, utcnow())
            session.commit()
            click.echo(
                f"Queued export {job.id} ({level} {fmt}, {filters.describe()}) for {user.email}: "
                "a worker (`pro-app worker` or `pro-app scheduler`) makes it, then it can be "
                "downloaded once from the audit page by that user."
            )
            return
        session.add(
            AccessLog(user_id=user.id, action=f"export_{level}_{fmt}", detail=filters.describe())
        )
        session.commit()
    with read_session(database.engine()) as session:
        chunks = export_chunks(
            session, level, fmt, filters, utcnow(), secret_key=current_app.config["SECRET_KEY"]
        )
        written = _write(chunks, out)
    click.echo(f"Wrote {out} ({written:,} bytes, {filters.describe()}).")


def _day(value) -> date | None:
    return value.date() if value else None


def _check_writable(out: Path) -> None:
    """Refuse, before any work, an --out whose folder is missing or cannot be written."""
    folder = out.parent
    if not folder.is_dir():
        raise click.ClickException(
            f"The folder {folder} does not exist: create it or choose another --out."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(
            f"The folder {folder} cannot be written to: choose another --out."
        )
    if out.is_dir():
        raise click.ClickException(f"{out} is a folder: give a file name for --out.")


def _write(chunks, out: Path) -> int:
    """Write to a temporary file beside ``out``, then move it into place."""
    partial = out.with_name(out.name + ".partial")
    written = 0
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                handle.write(data)
                written += len(data)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"Could not write {out}: {exc.strerror}.") from None
    return written


def export_pass_for_app(app: Flask) -> Callable[[], int]:
    """One pass of the export worker bound to ``app``'s engine and export folder."""
    settings = worker_settings(app)
    engine = app.extensions["pro_engine"]
    worker = worker_name()
    return lambda: work_once(engine, settings, utcnow, worker)


def worker_settings(app: Flask) -> WorkerSettings:
    settings = app.extensions["pro_settings"]
    return WorkerSettings(
        folder=settings.export_folder,
        keep_for=timedelta(hours=settings.export_keep_hours),
        secret_key=settings.secret_key,
    )


@click.command("worker")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks when idle")
@with_appcontext
def worker_command(poll: float) -> None:
    """Run background exports until interrupted (as many workers as wanted: each job is
    claimed by one)."""
    from ..storage.migrate import schema_problem

    problem = schema_problem(database.engine())
    if problem:
        raise click.ClickException(problem)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = current_app._get_current_object()
    settings = worker_settings(app)
    click.echo(
        f"Export worker running: files in {settings.folder}, kept "
        f"{settings.keep_for.total_seconds() / 3600:g} h. Ctrl+C to stop."
    )
    try:
        run_forever(database.engine(), settings, utcnow, poll)
    except KeyboardInterrupt:
        click.echo("Export worker stopped; a job it was running is picked up again.")
