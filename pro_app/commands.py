"""Commands under ``pro-app`` (and ``flask --app pro_app``)."""

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import select

from .accounts.site_codes import check_site_code, site_with_code
from .accounts.users import UserError, create_user, reset_password
from .enrolment import (
    CSV_COLUMNS,
    EnrolmentError,
    check_phone_region,
    check_team_phone,
    import_csv,
    normalise_on_call_phone,
)
from .models import Site, User
from .scheduling.tick import tick_for_app
from .storage import database
from .storage.engine import session_scope
from .storage.migrate import MigrationRefused, upgrade
from .time_zones import is_time_zone

db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations."""
    try:
        upgrade(database.engine(), revision)
    except MigrationRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Database at {revision}.")


@click.command("create-site")
@click.option("--code", required=True, help="Short code, e.g. RFA-LEEDS")
@click.option("--name", required=True, help="The team's name as patients know it")
@click.option("--phone", required=True, help="The team's phone number shown to patients")
@click.option("--timezone", default="Europe/London", show_default=True)
@click.option(
    "--protocol",
    default="default",
    show_default=True,
    help="Follow-up protocol: a file NAME.yaml in PRO_PROTOCOLS_DIR, or the shipped 'default'",
)
@click.option(
    "--on-call-phone",
    default=None,
    help="Mobile texted when an urgent alert is raised (stored in E.164 form)",
)
@click.option("--phone-region", default="GB", show_default=True, help="For numbers without +")
@with_appcontext
def create_site_command(
    code: str,
    name: str,
    phone: str,
    timezone: str,
    protocol: str,
    on_call_phone: str | None,
    phone_region: str,
) -> None:
    """Add a site (hospital team)."""
    code = _checked("--code", check_site_code, code)
    _check_protocol(protocol)
    if not is_time_zone(timezone):
        raise click.BadParameter(
            f"{timezone!r} is not a time zone: give one such as Europe/London.",
            param_hint="--timezone",
        )
    _checked("--phone-region", check_phone_region, phone_region)
    phone = _checked("--phone", check_team_phone, phone, phone_region)
    on_call = _checked("--on-call-phone", normalise_on_call_phone, on_call_phone, phone_region)
    with session_scope(database.engine()) as session:
        taken = site_with_code(session, code)
        if taken is not None:
            raise click.ClickException(f"Site {taken.code} already exists.")
        session.add(
            Site(
                code=code,
                name=name,
                team_phone=phone,
                timezone=timezone,
                protocol_id=protocol,
                phone_region=phone_region,
                on_call_phone=on_call,
            )
        )
    click.echo(f"Created site {code} (protocol {protocol}).")


def _checked(hint: str, check, *values):
    """``check(*values)``, a ValueError from it shown as the option's problem."""
    try:
        return check(*values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from exc


@click.command("set-protocol")
@click.option("--site", "site_code", required=True, help="Site code")
@click.argument("protocol")
@with_appcontext
def set_protocol_command(site_code: str, protocol: str) -> None:
    """Follow patients enrolled at a site from now on with PROTOCOL.

    Patients already enrolled keep the protocol they were enrolled with.
    """
    _check_protocol(protocol)
    with session_scope(database.engine()) as session:
        site = session.exec(select(Site).where(Site.code == site_code)).first()
        if site is None:
            raise click.ClickException(f"No site with code {site_code!r}.")
        site.protocol_id = protocol
    click.echo(f"Site {site_code} enrols new patients on protocol {protocol}.")


def _check_protocol(name: str) -> None:
    """Refuse a protocol that cannot be found or does not validate, naming the reason."""
    from surveys import load_protocol
    from surveys.protocol import ProtocolError

    if len(name) > 64:
        raise click.ClickException("A protocol name has at most 64 characters.")
    try:
        load_protocol(name)
    except ProtocolError as exc:
        raise click.ClickException(
            f"{exc}. Put NAME.yaml in a folder named by PRO_PROTOCOLS_DIR and check it with "
            "`pro-app instruments validate FILE`."
        ) from None


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["nurse", "auditor", "admin"]), required=True)
@click.option("--site", "site_code", default=None, help="Site code; omit for registry-wide")
@click.option(
    "--password",
    envvar="PRO_NEW_USER_PASSWORD",
    default=None,
    help="At least 10 characters; or set PRO_NEW_USER_PASSWORD. Asked for when run in a terminal.",
)
@with_appcontext
def create_user_command(
    email: str, name: str, role: str, site_code: str | None, password: str | None
):
    """Add a staff account."""
    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "No password given and no terminal to ask for one: pass --password or set "
                "PRO_NEW_USER_PASSWORD."
            )
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope(database.engine()) as session:
            create_user(
                session, email=email, name=name, password=password, role=role, site_code=site_code
            )
    except (UserError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {role} {email}.")


@click.command("reset-password")
@click.option("--email", required=True)
@click.option(
    "--password",
    default=None,
    help="A temporary password of at least 10 characters. Asked for when run in a terminal.",
)
@with_appcontext
def reset_password_command(email: str, password: str | None) -> None:
    """Set a temporary password: the user is signed out and chooses their own at next sign-in."""
    if password is None:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "No password given and no terminal to ask for one: pass --password."
            )
        password = click.prompt("Temporary password", hide_input=True, confirmation_prompt=True)
    email = email.strip().lower()
    with session_scope(database.engine()) as session:
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            raise click.ClickException(f"No user with email {email}.")
        try:
            reset_password(user, password)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Reset the password of {email}; they choose a new one at next sign-in.")


@click.command("import-patients")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", "site_code", required=True, help="Site code to enrol into")
@with_appcontext
def import_patients_command(csv_file: Path, site_code: str) -> None:
    """Enrol every patient in CSV_FILE, or none if any row is wrong."""
    try:
        with session_scope(database.engine()) as session:
            site = session.exec(select(Site).where(Site.code == site_code)).first()
            if site is None:
                raise click.ClickException(f"No site with code {site_code!r}.")
            enrolled = import_csv(session, site, _read_text(csv_file), user_id=None)
    except EnrolmentError as exc:
        click.echo("Nothing was imported. Problems (the header is row 1):", err=True)
        for row, column, message in exc.problems:
            where = f"row {row}, column {column}" if column in CSV_COLUMNS else f"row {row}"
            click.echo(f"  {where}: {message}", err=True)
        sys.exit(1)
    record_only = sum(e.record_only for e in enrolled)
    kept = f", {record_only} of them for the record only" if record_only else ""
    click.echo(f"Enrolled {len(enrolled)} patients at {site_code}{kept}.")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(
            f"{path} is not UTF-8 text: save it from the spreadsheet as 'CSV UTF-8'."
        ) from None


@click.command("tick")
@click.option("--now", "now_text", default=None, help="ISO-8601 time to run at (default: now)")
@with_appcontext
def tick_command(now_text: str | None) -> None:
    """Run one scheduling pass and print what it did as JSON."""
    now = parse_when(now_text) if now_text else None
    report = tick_for_app(current_app._get_current_object(), now)()
    click.echo(json.dumps(report.as_dict(), default=str))


EXPORT_PASS_S = 5  # the scheduler looks for queued export jobs this often


@click.command("scheduler")
@click.option("--interval", default=60, show_default=True, help="Seconds between passes")
@click.option(
    "--exports/--no-exports",
    default=True,
    show_default=True,
    help="Also run queued background exports (leave them to `pro-app worker` with --no-exports)",
)
@with_appcontext
def scheduler_command(interval: int, exports: bool) -> None:
    """Run the scheduling clock in the foreground (one per deployment is enough)."""
    from .audit.command import export_pass_for_app
    from .scheduling.clock import run_blocking
    from .storage.migrate import schema_problem

    problem = schema_problem(database.engine())
    if problem:
        raise click.ClickException(problem)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # APScheduler logs every run of every job at INFO (tens of thousands of lines a day);
    # its warnings (a missed or overlapping run) still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    others = {"exports": (export_pass_for_app(app), EXPORT_PASS_S)} if exports else {}
    also = " and background exports" if exports else ""
    click.echo(f"Scheduler running: a pass every {interval} s{also}. Ctrl+C to stop.")
    run_blocking(tick_for_app(app), interval, others)


def parse_when(text: str) -> datetime:
    """An ISO-8601 time; 'Z' or an offset is required so that nobody guesses the zone."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO-8601 time") from None
    if when.tzinfo is None:
        raise click.BadParameter("give a zone, e.g. 2027-01-01T09:00Z")
    return when.astimezone(UTC)


def register_commands(app: Flask) -> None:
    from surveys.cli import instruments_group, score_command
    from surveys.response_cli import pain_response_command

    from .audit.command import export_command, worker_command
    from .demo.seed import demo_command, seed_demo_command

    for command in (
        db_group,
        create_site_command,
        set_protocol_command,
        create_user_command,
        reset_password_command,
        import_patients_command,
        tick_command,
        scheduler_command,
        demo_command,
        seed_demo_command,
        instruments_group,
        score_command,
        pain_response_command,
        export_command,
        worker_command,
    ):
        app.cli.add_command(command)
