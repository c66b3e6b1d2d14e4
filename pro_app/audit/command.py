"""``pro-app export``: the audit exports from the command line, for scheduled submissions."""

import os
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlmodel import Session, select

from ..models import AccessLog, Augmentation, Electrode, LesionType, Site, User, utcnow
from ..storage import database
from ..storage.engine import read_session
from .exports import FORMATS, export_chunks
from .timelines import AuditFilters


def _choice(enum) -> click.Choice:
    return click.Choice([member.value for member in enum])


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "fhir"]), required=True)
@click.option(
    "--level",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="aggregate outcome tables, or the de-identified patient-level table "
    "(default: aggregate for csv/xlsx; fhir is always patient-level)",
)
@click.option("--site", "site_code", default=None, help="Site code (default: every site)")
@click.option("--procedure", type=_choice(Augmentation), default=None)
@click.option("--electrode", type=_choice(Electrode), default=None)
@click.option("--lesion", type=_choice(LesionType), default=None)
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--as", "user_email", required=True, help="Email of the auditor or admin exporting")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def export_command(
    fmt, level, site_code, procedure, electrode, lesion, date_from, date_to, user_email, out
) -> None:
    """Write an audit export to --out, recorded in the access log."""
    level = level or ("patients" if fmt == "fhir" else "aggregate")
    if fmt not in FORMATS[level]:
        raise click.BadParameter(f"{fmt} is not offered for --level {level}")
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
        session.add(
            AccessLog(user_id=user.id, action=f"export_{level}_{fmt}", detail=filters.describe())
        )
        session.commit()
    with read_session(database.engine()) as session:
        written = _write(export_chunks(session, level, fmt, filters, utcnow()), out)
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
