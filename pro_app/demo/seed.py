"""``pro-app demo``: migrate, seed a demo cohort once, and serve with the clock running.

The cohort is made by the product's own code paths: enrolment, the tick at simulated
times, answers saved through the same functions the web form and SMS webhook use, and
texts replied through the inbound SMS handler.
"""

import os
import random
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from notifications import DevOutboxChannel

from ..accounts.users import create_user
from ..config import Settings
from ..enrolment import enrol
from ..followup.answer_saving import complete, save_answers
from ..followup.conversation import answer_text
from ..messaging.channels import link_context
from ..messaging.inbound import handle_inbound
from ..models import (
    AnswerChannel,
    ContactChannel,
    InstanceStatus,
    Patient,
    Procedure,
    Site,
    SurveyInstance,
    User,
    utcnow,
)
from ..nurse.actions import record_safety_event
from ..scheduling.tick import run_tick, tick_for_app
from ..storage import database
from ..storage.engine import session_scope
from ..storage.migrate import upgrade
from .simulated_answers import answers_for

LOGINS = (
    ("nurse", "nurse@demo.pro-app.test", "Nina Nurse", "demo-nurse-password", "DEMO"),
    ("auditor", "auditor@demo.pro-app.test", "Audrey Auditor", "demo-auditor-password", None),
    ("admin", "admin@demo.pro-app.test", "Adam Admin", "demo-admin-password", None),
)
COHORT = 30
OPEN_DAYS = 3  # the last days' surveys stay unanswered, for the demo user to try
FIRST_NAMES = (
    "Margaret",
    "John",
    "Patricia",
    "David",
    "Susan",
    "Robert",
    "Linda",
    "Michael",
    "Barbara",
    "Peter",
    "Elizabeth",
    "James",
    "Janet",
    "William",
    "Carol",
    "Brian",
    "Ann",
    "Alan",
    "Jean",
    "Keith",
    "Sheila",
    "Derek",
    "Maureen",
    "Graham",
    "Pauline",
    "Colin",
    "Irene",
    "Trevor",
    "Doreen",
    "Roy",
)


@dataclass
class DemoPatient:
    """How a demo patient behaves: when treated, how well they answer, what goes wrong."""

    index: int
    procedure_date: date
    answer_rate: float
    channel: str
    red_flag_at: str | None = None
    worsening: bool = False
    stops_texts_at: str | None = None


def cohort_plan(today: date, rng: random.Random) -> list[DemoPatient]:
    """Thirty patients treated over the past year and the coming week."""
    plan = []
    for index in range(COHORT):
        days_ago = int(390 * (COHORT - 1 - index) / (COHORT - 1)) - 7
        plan.append(
            DemoPatient(
                index=index,
                procedure_date=today - timedelta(days=days_ago),
                answer_rate=rng.choice((0.95, 0.9, 0.85, 0.6)),
                channel=ContactChannel.SMS if index % 7 == 3 else ContactChannel.LINK,
            )
        )
    plan[-5].red_flag_at = "week1"
    plan[-5].answer_rate = 1.0  # the red flag is the story: it must not hang on a dice roll
    plan[5].worsening = True
    plan[-12].answer_rate = 0.0
    plan[-14].stops_texts_at = "week4"
    return plan


def seed(engine: Engine, settings, now: datetime | None = None, *, echo=click.echo) -> None:
    """Create the demo site, users and cohort, replaying the follow-up up to ``now``."""
    now = now or utcnow()
    rng = random.Random(2027)
    with session_scope(engine) as session:
        site = Site(
            code="DEMO",
            name="Spinal Oncology Team",
            team_phone="0113 496 0000",
            on_call_phone="+447400900900",
        )
        other = Site(code="OTHER", name="Another Hospital", team_phone="0161 496 0000")
        session.add_all([site, other])
        session.flush()
        for role, email, name, password, site_code in LOGINS:
            create_user(
                session, email=email, name=name, password=password, role=role, site_code=site_code
            )
        create_user(
            session,
            email="nurse@other.pro-app.test",
            name="Otto Other",
            password="demo-other-password",
            role="nurse",
            site_code="OTHER",
        )
    plan = cohort_plan(now.date(), rng)
    enrol_days = {p.index: p.procedure_date - timedelta(days=7) for p in plan}
    start = min(enrol_days.values())
    channel = DevOutboxChannel()
    links = link_context(settings)
    day = start
    enrolled: set[int] = set()
    while day <= now.date():
        morning = datetime.combine(day, time(9, 30), tzinfo=UTC)
        if morning > now:
            break
        for person in plan:
            if enrol_days[person.index] == day:
                _enrol(engine, person, morning)
                enrolled.add(person.index)
        run_tick(engine, channel, links, now=morning, worker="demo")
        if day < now.date() - timedelta(days=OPEN_DAYS):
            _answer(engine, plan, rng, morning + timedelta(hours=2))
        day += timedelta(days=1)
    for person in plan:  # due today, before the morning round: enrolled now instead
        if person.index not in enrolled and enrol_days[person.index] <= now.date():
            _enrol(engine, person, now)
            enrolled.add(person.index)
    run_tick(engine, channel, links, now=now, worker="demo")
    _safety_events(engine, now)
    echo(f"Seeded {len(enrolled)} patients, replayed from {start} to {now.date()}.")


DEMO_SAFETY_EVENTS = (
    # (patient index, days after the procedure, kind, grade, symptomatic, notes)
    (2, 1, "cement_leakage", 1, False, "Small leak into the disc space on the check film."),
    (7, 9, "infection", 2, None, "Superficial wound infection; oral antibiotics."),
)


def _safety_events(engine: Engine, now: datetime) -> None:
    """A few clinician-reported events, recorded as a nurse would, for the audit page."""
    with session_scope(engine) as session:
        nurse = session.exec(select(User).where(User.role == "nurse").order_by(User.id)).first()
        procedures = session.exec(
            select(Patient, Procedure)
            .join(Procedure, Procedure.patient_id == Patient.id)
            .where(Patient.site_id == nurse.site_id)
            .order_by(Procedure.procedure_date)
        ).all()
        for index, days, kind, grade, symptomatic, notes in DEMO_SAFETY_EVENTS:
            if index >= len(procedures):
                continue
            patient, procedure = procedures[index]
            when = procedure.procedure_date + timedelta(days=days)
            if when <= now.date():
                record_safety_event(
                    session,
                    patient,
                    procedure,
                    kind=kind,
                    grade=grade,
                    event_date=when,
                    symptomatic=symptomatic,
                    notes=notes,
                    user_id=nurse.id,
                    now=now,
                )


def _enrol(engine: Engine, person: DemoPatient, at: datetime) -> None:
    with session_scope(engine) as session:
        site = session.exec(select(Site).where(Site.code == "DEMO")).one()
        enrol(
            session,
            site,
            {
                "study_id": f"RFA-{person.index + 1:03d}",
                "first_name": FIRST_NAMES[person.index],
                "phone": f"+4474009{person.index:05d}",
                "consent": True,
                "channel": person.channel,
                "procedure_date": person.procedure_date,
                "augmentation": "kyphoplasty" if person.index % 3 else "vertebroplasty",
                "levels": ("T12", "L1", "T10,T11", "L2", "T8")[person.index % 5],
                "lesion_type": ("lytic", "lytic", "mixed", "blastic")[person.index % 4],
                "electrode": "bipolar" if person.index % 4 else "monopolar",
            },
            user_id=None,
            now=at,
        )


def _answer(engine: Engine, plan: list[DemoPatient], rng: random.Random, at: datetime) -> None:
    """Patients answer what was sent to them, by link or by text, as they would."""
    people = {f"RFA-{p.index + 1:03d}": p for p in plan}
    with Session(engine) as session:
        open_ones = session.exec(
            select(SurveyInstance, Patient)
            .join(Patient, Patient.id == SurveyInstance.patient_id)
            .where(SurveyInstance.status == InstanceStatus.SENT, SurveyInstance.invited_at < at)
        ).all()
    for instance, patient in open_ones:
        person = people.get(patient.study_id)
        if person is None or rng.random() > person.answer_rate:
            continue
        if person.stops_texts_at == instance.timepoint:
            _text_from(engine, patient, "Stop please", sid=f"DEMOSTOP{instance.id}", at=at)
            continue
        days = instance.day_offset if instance.timepoint != "baseline" else -7
        values = answers_for(instance, days, person, rng)
        if patient.channel == ContactChannel.SMS:
            _reply_by_text(engine, instance, patient, values, at)
            continue
        with session_scope(engine) as session:
            live = session.get(SurveyInstance, instance.id)
            for instrument_id, answers in values.items():
                save_answers(
                    session, live, instrument_id, answers, channel=AnswerChannel.WEB, now=at
                )
            complete(session, live, now=at)


def _reply_by_text(engine, instance, patient, values, at) -> None:
    """Answer the text conversation one reply at a time through the inbound handler."""
    from ..followup.conversation import questions_for

    with Session(engine) as session:
        questions = questions_for(session.get(SurveyInstance, instance.id), session)
    for number, question in enumerate(questions):
        answers = values.get(question.instrument_id, {})
        given = all(answers.get(item_id) is not None for item_id in question.item_ids)
        body = question.reply_for(answers) if given else str(question.minimum)
        sid = f"DEMOSMS{instance.id}x{number}"
        _text_from(engine, patient, body, sid=sid, at=at + timedelta(minutes=number))


def _text_from(engine: Engine, patient: Patient, body: str, *, sid: str, at: datetime) -> None:
    """A text from the patient, handled as the SMS webhook handles one."""
    with session_scope(engine) as session:
        handle_inbound(
            session,
            sid=sid,
            from_number=patient.phone_e164,
            to_number="+15005550006",
            body=body,
            opt_out_type=None,
            now=at,
            answer_text=answer_text,
        )


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Seed the demo site, users and cohort into an empty database."""
    _refuse_in_production()
    engine = database.engine()
    with Session(engine) as session:
        if session.exec(select(Site)).first():
            raise click.ClickException("The database already has sites; not seeding.")
    seed(engine, current_app.extensions["pro_settings"])


def _refuse_in_production() -> None:
    """The demo's accounts have published passwords and it serves with Werkzeug's
    development server: never with PRO_ENV=production."""
    if current_app.extensions["pro_settings"].production:
        raise click.ClickException(
            "The demo is not for production (its passwords are published): "
            "unset PRO_ENV=production to run it."
        )


def prepare_settings(settings: Settings, host: str, port: int) -> None:
    """What the demo changes in the configured settings: the dev outbox is on, and survey
    links open on ``host:port`` unless ``PUBLIC_BASE_URL`` is set.

    Served on every interface (``0.0.0.0``), the links name this machine's address on its
    network instead: a phone or another computer cannot open ``http://0.0.0.0``."""
    settings.dev_outbox = True
    if not os.environ.get("PUBLIC_BASE_URL"):
        reachable = network_address() if host in EVERY_INTERFACE else host
        if ":" in reachable:
            reachable = f"[{reachable}]"  # an IPv6 address in a link
        settings.public_base_url = f"http://{reachable}:{port}"  # links in the outbox open here


EVERY_INTERFACE = ("0.0.0.0", "::", "")


def network_address() -> str:
    """This machine's address on the network its default route leads to (no packet is
    sent: connecting a UDP socket only picks the route), or its name when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, only routed
            return probe.getsockname()[0]
        except OSError:
            return socket.gethostname()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@with_appcontext
def demo_command(host: str, port: int) -> None:
    """Migrate, seed once, and serve the app with the scheduler and an export worker
    embedded."""
    from ..audit.command import export_pass_for_app
    from ..scheduling.clock import start_background

    _refuse_in_production()
    app = current_app._get_current_object()
    settings = app.extensions["pro_settings"]
    prepare_settings(settings, host, port)
    engine = database.engine()
    upgrade(engine)
    with Session(engine) as session:
        seeded = session.exec(select(Site)).first() is not None
    if seeded:
        click.echo(f"Using the existing demo database ({engine.url.render_as_string()}).")
    else:
        click.echo("Seeding the demo cohort (a year of follow-up, replayed)...")
        seed(engine, settings)
    start_background(tick_for_app(app), others={"exports": (export_pass_for_app(app), 5)})
    click.echo("")
    click.echo(f"pro-app demo: {settings.public_base_url}/")
    for role, email, _name, password, _site in LOGINS:
        click.echo(f"  {role:8} {email}  password: {password}")
    if settings.dev_outbox_enabled:
        outbox = f"{settings.public_base_url}/dev/outbox"
        click.echo(f"  texts go to the dev outbox (signed in as the nurse): {outbox}")
    click.echo("")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)
