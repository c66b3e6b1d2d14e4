"""A realistic year of follow-up for benchmarks, bulk-loaded in minutes at 100,000 patients.

``seed_cohort`` fills a migrated database with one site, a nurse and an auditor, and a
cohort of patients a year into follow-up on the default protocol, as the scheduler, the
outbox, the text conversation and the nurses would have left it at ``now``. Every
benchmark in ``benchmarks/`` measures on it (``seed_history`` adds it to a database that
already holds the benchmark's own patients).

Per patient (the shares are constants below; the same seed gives the same cohort):

- one procedure, its date spread evenly over the year before ``now``; the protocol's
  eight timepoints, of which about six are due by ``now`` (the rest still planned);
- 15% answer by text conversation, 85% by a link;
- 6% had follow-up stopped part-way (died, too unwell, withdrew, moved away): what was
  still open or planned then is cancelled;
- 3% texted STOP after an invitation (opted out): from then on nothing is texted and the
  nurse phones instead;
- 1% have a number that stops working (error 30005/30006): from then on as opted out;
- 2.5% of invitations are not delivered (30003, 30008), 2% have no delivery receipt;
- of the surveys of patients who can be texted, each patient answers a share drawn
  around 74% (between 50% and 98%), two thirds of them within four hours (before any
  reminder); of the surveys of patients who can no longer be texted, a nurse takes 30%
  by phone.

What that gives (as ``.venv/bin/python benchmarks/cohort.py --patients 100000`` printed
it): of the surveys whose window has closed, 72% completed and 28% expired (a tenth of
the unanswered opened and left part-answered); 2.3% of all survey instances cancelled;
45% of link invitations followed by at least one reminder; 2.6% of invitations not
delivered; 8 survey instances and 17 texts per patient (invitations, reminders, the
texted conversations' questions and replies, STOP), so 800,000 instances, 2.1 million
answers and 1.7 million texts at 100,000 patients. Alerts: non-response after two
missed timepoints, failed deliveries and opt-outs (acknowledged by the nurse unless
raised in the last three days), and 2% of patients with an open red-flag or
worsening-pain alert; 1% with a safety event.

Pain follows the published course after RFA with augmentation (worst pain about 7 at
baseline, about 3 by week 4), quality of life rises as pain falls and opioid use follows
pain; answers are checked and scored by the real ``surveys`` code. A texted survey has
the questions the conversation asks at that timepoint (five at baseline, six after).
Survey links are hashed with ``SECRET_KEY``, the key ``benchmarks/tick.py`` uses. The
same seed gives the same cohort.

Rows are written without the ORM, chunk by chunk: ``executemany`` on SQLite and ``COPY``
on PostgreSQL (then ``ANALYZE``, as autovacuum would after a bulk load).

Usage: ``.venv/bin/python benchmarks/cohort.py [--patients 10000] [--postgres URL]``
(``URL``: an empty PostgreSQL database; without it a temporary SQLite file)
"""

import argparse
import hashlib
import json
import math
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import cache
from operator import itemgetter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import JSON, Integer, case, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from notifications import templates  # noqa: E402
from pro_app.accounts.passwords import hash_password  # noqa: E402
from pro_app.followup.cohort_counts import recount  # noqa: E402
from pro_app.followup.conversation import opening_text, question_text  # noqa: E402
from pro_app.followup.instruments import SmsKind, SmsQuestion, sms_questions  # noqa: E402
from pro_app.followup.key_outcomes import KEY_OUTCOMES, key_outcome_updates  # noqa: E402
from pro_app.messaging.links import LINK_PLACEHOLDER, token_hash_for  # noqa: E402
from pro_app.messaging.outbox import message_values  # noqa: E402
from pro_app.models import (  # noqa: E402
    Alert,
    AlertKind,
    AnswerChannel,
    Augmentation,
    ContactChannel,
    Direction,
    Electrode,
    FollowUpStatus,
    InstanceStatus,
    LesionType,
    Message,
    MessageStatus,
    Patient,
    PatientEvent,
    Procedure,
    Response,
    Role,
    SafetyEvent,
    SafetyEventKind,
    Site,
    SurveyInstance,
    User,
)
from pro_app.scheduling.protocols import TimepointPlan, timepoints_for  # noqa: E402
from pro_app.storage.engine import make_engine  # noqa: E402
from pro_app.storage.migrate import upgrade  # noqa: E402
from surveys import get_instrument, score, validate_answer  # noqa: E402
from surveys.burden import web_burden  # noqa: E402

SECRET_KEY = "bench"  # the key of benchmarks/tick.py's LinkContext
WORKER = "bench"
PROTOCOL = "default"
PASSWORD = "bench-password"
NURSE_EMAIL = "nurse@bench.test"
AUDITOR_EMAIL = "auditor@bench.test"
CHUNK = 2000
TIMEZONE = "Europe/London"
SEND_HOUR = 10  # UTC hour at which follow-up timepoints are due
SERVICE_NUMBER = "+447400000000"  # the site's sending number (inbound texts' "to")

SMS_SHARE = 0.15  # patients answering by text conversation instead of a link
ANSWER_RATE = 0.74  # mean share of delivered invitations answered, per patient
STOPPED_SHARE = 0.06  # patients whose follow-up was stopped part-way
OPT_OUT_SHARE = 0.03  # patients who text STOP after an invitation
DEAD_NUMBER_SHARE = 0.01  # patients whose number stops working
FAILED_SHARE = 0.025  # invitations the carrier could not deliver
NO_RECEIPT_SHARE = 0.02  # accepted by the provider, no delivery receipt
PHONED_SHARE = 0.3  # surveys of patients who cannot be texted, taken by a nurse by phone
STARTED_SHARE = 0.1  # unanswered surveys opened and left part-answered
QUICK_SHARE = 0.65  # answers within four hours of the invitation (no reminder)
ALERT_SHARE = 0.02  # patients with an open red-flag or worsening-pain alert
SAFETY_SHARE = 0.01
ACK_AFTER = timedelta(days=3)  # alerts older than this have been acknowledged
RAND36_VARIANTS = 16  # answer sets per health level (keeps scoring cached)

FIRST_NAMES = (
    "Alex", "Ann", "Chris", "David", "Jamie", "Jo", "John", "Kim",
    "Lee", "Margaret", "Morgan", "Pat", "Peter", "Robin", "Sam", "Susan",
)  # fmt: skip
LEVELS = (
    "T8", "T10", "T11", "T12", "L1", "L2", "L3", "L4",
    "T11,T12", "T12,L1", "L1,L2", "L2,L3", "T12,L1,L2",
)  # fmt: skip
STOP_REASONS = ("died", "too unwell to take part", "withdrew consent", "moved to another team")
RED_FLAG_ALERTS = ("weakness", "severe_back_pain", "fever", "wound")
SAFETY_NOTES = {
    SafetyEventKind.CEMENT_LEAKAGE: "Cement leakage seen on post-procedure imaging.",
    SafetyEventKind.INFECTION: "Superficial infection at the needle site; oral antibiotics.",
    SafetyEventKind.THERMAL_INJURY: "Skin burn at the electrode site.",
    SafetyEventKind.NEUROLOGICAL_INJURY: "Transient radicular pain after ablation.",
    SafetyEventKind.OTHER: "Vasovagal episode in recovery.",
}
FAILURES = ((30003, "undelivered: unreachable destination handset"), (30008, "undelivered"))
DEAD_NUMBER = ((30005, "undelivered: unknown destination handset"), (30006, "landline"))
TABLES = (
    Site,
    User,
    Patient,
    PatientEvent,
    Procedure,
    SurveyInstance,
    Response,
    Message,
    Alert,
    SafetyEvent,
)


@dataclass
class _Context:
    """What every patient of one call shares."""

    rng: random.Random
    now: datetime
    site_id: int
    site_code: str
    site_name: str
    team_phone: str
    alert_target_hours: int
    omed_table: str
    nurse_id: int
    plans: tuple[TimepointPlan, ...]


@dataclass
class _Rows:
    """The rows of one chunk, per table, in insertion order."""

    patient: list[dict] = field(default_factory=list)
    event: list[dict] = field(default_factory=list)
    procedure: list[dict] = field(default_factory=list)
    instance: list[dict] = field(default_factory=list)
    response: list[dict] = field(default_factory=list)
    message: list[dict] = field(default_factory=list)
    alert: list[dict] = field(default_factory=list)
    safety: list[dict] = field(default_factory=list)

    def insert(self, connection: Connection) -> None:
        writer = _BulkWriter(connection)
        for model, rows in (
            (Patient, self.patient),
            (PatientEvent, self.event),
            (Procedure, self.procedure),
            (SurveyInstance, self.instance),
            (Response, self.response),
            (Message, self.message),
            (Alert, self.alert),
            (SafetyEvent, self.safety),
        ):
            writer.write(model.__table__, rows)


class _BulkWriter:
    """Rows straight to the driver: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

    Values go through each column type's own bind processing (UTC times, booleans), so
    they are stored exactly as the app stores them; JSON is serialised once per object.
    """

    def __init__(self, connection: Connection):
        self.dialect = connection.dialect
        self.driver = connection.connection.driver_connection
        self._json: dict[int, tuple[object, str]] = {}

    def write(self, table, rows: list[dict]) -> None:
        if not rows:
            return
        columns = [column for column in table.columns if column.name in rows[0]]
        names = [column.name for column in columns]
        getter = itemgetter(*names)
        converters = [
            (position, converter)
            for position, converter in enumerate(map(self._converter, columns))
            if converter is not None
        ]
        values = []
        for row in rows:
            value = list(getter(row))
            for position, convert in converters:
                if value[position] is not None:
                    value[position] = convert(value[position])
            values.append(value)
        quoted = ", ".join(f'"{name}"' for name in names)
        if self.dialect.name == "postgresql":
            statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
            with self.driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in names)
            self.driver.executemany(
                f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', values
            )

    def _converter(self, column):
        if isinstance(column.type, JSON):
            return self._dumps
        return column.type.dialect_impl(self.dialect).bind_processor(self.dialect)

    def _dumps(self, value) -> str:
        known = self._json.get(id(value))
        if known is None or known[0] is not value:
            known = (value, json.dumps(value))
            self._json[id(value)] = known
        return known[1]


@dataclass(frozen=True)
class _PainCourse:
    """One patient's pain: a baseline and how much of it the treatment takes away."""

    baseline: float
    floor: float  # share of baseline pain left once relief is complete

    def worst(self, days: int, rng: random.Random) -> int:
        if days <= 0:
            return _clip(self.baseline + rng.gauss(0, 0.5))
        relief = self.floor + (1 - self.floor) * math.exp(-days / 10)
        return _clip(self.baseline * relief + rng.gauss(0, 0.8))


@dataclass
class _Patient:
    """One patient's story: who they are and what happens to their texts."""

    id: int
    procedure_id: int
    procedure_date: date
    enrolled_at: datetime
    first_name: str
    phone: str
    sms: bool
    course: _PainCourse
    adherence: float
    stopped_at: datetime | None = None  # follow-up stopped
    opts_out_at: int | None = None  # index of the invitation after which they text STOP
    number_dies_at: int | None = None  # index of the invitation that finds the number dead
    untextable_since: datetime | None = None
    finished: list[str] = field(default_factory=list)  # statuses of closed timepoints


def seed_cohort(
    engine: Engine,
    *,
    patients: int,
    site_id: int = 1,
    site_code: str = "B",
    now: datetime,
    seed: int = 1,
    first_patient_id: int | None = None,
) -> None:
    """Insert a cohort of ``patients`` followed up at one site, as it stands at ``now``.

    The site (id ``site_id``) and the users ``nurse@bench.test`` and ``auditor@bench.test``
    (password ``bench-password``) are created when absent. Patients get the ids
    ``first_patient_id`` onwards (by default after the largest already present) and study
    ids ``f"{site_code}{id:05d}"``; procedures and survey instances take the ids after the
    largest already present. On PostgreSQL the tables are analysed afterwards.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if patients < 0:
        raise ValueError("patients must not be negative")
    with engine.begin() as connection:
        site = _ensure_site(connection, site_id, site_code, now)
        nurse_id = _ensure_user(connection, NURSE_EMAIL, "Bench nurse", Role.NURSE, site_id, now)
        _ensure_user(connection, AUDITOR_EMAIL, "Bench auditor", Role.AUDITOR, site_id, now)
        if first_patient_id is None:
            first_patient_id = _next_id(connection, Patient)
    context = _Context(
        rng=random.Random(seed),
        now=now.astimezone(UTC),
        site_id=site_id,
        site_code=site["code"],
        site_name=site["name"],
        team_phone=site["team_phone"],
        alert_target_hours=site["alert_target_hours"],
        omed_table=site["omed_table"],
        nurse_id=nurse_id,
        plans=timepoints_for(PROTOCOL),
    )
    per_patient = len(context.plans)
    for start in range(0, patients, CHUNK):
        ids = range(first_patient_id + start, first_patient_id + min(start + CHUNK, patients))
        with engine.begin() as connection:
            first_procedure = _next_id(connection, Procedure)
            first_instance = _next_id(connection, SurveyInstance)
            rows = _Rows()
            for n, patient_id in enumerate(ids):
                _add_patient(
                    context,
                    rows,
                    patient_id=patient_id,
                    procedure_id=first_procedure + n,
                    first_instance_id=first_instance + n * per_patient,
                )
            rows.insert(connection)
    recount(engine)  # the bulk load bypasses the app, which keeps these counts as it saves
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            _sync_sequences(connection)
        with engine.connect() as connection:  # as autovacuum would after a bulk load
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def seed_history(engine: Engine, *, patients: int, now: datetime, site_id: int = 1) -> None:
    """Add ``patients`` with a year of history at the site ``site_id`` (created if absent)
    to a database that may already hold other patients: what every benchmark runs on."""
    seed_cohort(engine, patients=patients, now=now, site_id=site_id)


def fresh_sqlite_engine(path: str | Path) -> Engine:
    """An engine on a new SQLite file at ``path`` with the schema migrated to head."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def row_counts(engine: Engine) -> dict[str, int]:
    """The number of rows in each table the seeder fills."""
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.execute(
                select(func.count()).select_from(model.__table__)
            ).scalar_one()
            for model in TABLES
        }


def proportions(engine: Engine) -> dict[str, float]:
    """The shares the module docstring states, measured on a seeded database."""
    instance, message, patient = SurveyInstance.__table__, Message.__table__, Patient.__table__
    with engine.connect() as connection:
        statuses = Counter(
            dict(
                connection.execute(
                    select(instance.c.status, func.count()).group_by(instance.c.status)
                ).all()
            )
        )
        kinds = Counter(
            dict(
                connection.execute(
                    select(message.c.kind, func.count()).group_by(message.c.kind)
                ).all()
            )
        )
        failed = connection.execute(
            select(func.count()).where(
                message.c.status == MessageStatus.FAILED.value,
                message.c.kind.in_(("invitation", "question")),
            )
        ).scalar_one()
        reminded = connection.execute(
            select(func.count()).where(
                instance.c.reminders_sent > 0,
                instance.c.id.in_(
                    select(message.c.instance_id).where(message.c.kind == "invitation")
                ),
            )
        ).scalar_one()
        people = connection.execute(
            select(
                func.count(),
                func.sum(_as_int(patient.c.status == FollowUpStatus.STOPPED.value)),
                func.sum(_as_int(patient.c.sms_opted_out)),
                func.sum(_as_int(patient.c.phone_problem.is_not(None))),
                func.sum(_as_int(patient.c.channel == ContactChannel.SMS.value)),
            )
        ).one()
    closed = statuses[InstanceStatus.COMPLETED] + statuses[InstanceStatus.EXPIRED]
    invitations = kinds["invitation"] + kinds["question"]
    total = sum(statuses.values())
    count = people[0] or 1
    return {
        "completed of closed": statuses[InstanceStatus.COMPLETED] / max(closed, 1),
        "expired of closed": statuses[InstanceStatus.EXPIRED] / max(closed, 1),
        "cancelled of all": statuses[InstanceStatus.CANCELLED] / max(total, 1),
        "link invitations reminded": reminded / max(kinds["invitation"], 1),
        "invitations not delivered": failed / max(invitations, 1),
        "patients stopped": (people[1] or 0) / count,
        "patients opted out": (people[2] or 0) / count,
        "patients with a dead number": (people[3] or 0) / count,
        "patients texted questions": (people[4] or 0) / count,
        "instances per patient": total / count,
        "texts per patient": sum(kinds.values()) / count,
    }


def _as_int(condition):
    return case((condition, 1), else_=0).cast(Integer)


# Site and users


def _ensure_site(connection: Connection, site_id: int, code: str, now: datetime) -> dict:
    table = Site.__table__
    row = connection.execute(select(table).where(table.c.id == site_id)).mappings().first()
    if row is not None:
        return dict(row)
    values = {
        "id": site_id,
        "code": code,
        "name": f"Bench spine team {code}",
        "team_phone": "0113 496 0000",
        "timezone": TIMEZONE,
        "phone_region": "GB",
        "protocol_id": PROTOCOL,
        "omed_table": "opioids_aware",
        "on_call_phone": None,
        "alert_target_hours": 72,
        "min_cell_count": 5,
        "created_at": now - timedelta(days=400),
    }
    connection.execute(insert(table).values(**values))
    return values


def _ensure_user(
    connection: Connection, email: str, name: str, role: Role, site_id: int, now: datetime
) -> int:
    table = User.__table__
    existing = connection.execute(select(table.c.id).where(table.c.email == email)).scalar()
    if existing is not None:
        return existing
    return connection.execute(
        insert(table)
        .values(
            email=email,
            name=name,
            password_hash=_password_hash(),
            role=role.value,
            site_id=site_id,
            active=True,
            created_at=now - timedelta(days=400),
            last_login_at=None,
        )
        .returning(table.c.id)
    ).scalar_one()


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def _next_id(connection: Connection, model) -> int:
    table = model.__table__
    return connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one() + 1


def _sync_sequences(connection: Connection) -> None:
    """Move PostgreSQL id sequences past the ids given explicitly."""
    for model in (Site, Patient, Procedure, SurveyInstance):
        name = model.__tablename__
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f'(SELECT max(id) FROM "{name}"))'
            )
        )


# One patient


def _add_patient(
    context: _Context, rows: _Rows, *, patient_id: int, procedure_id: int, first_instance_id: int
) -> None:
    rng, now = context.rng, context.now
    procedure_date = now.date() - timedelta(days=rng.randint(1, 365))
    enrolled_at = _at(
        procedure_date - timedelta(days=rng.randint(1, 14)), rng.randint(9, 16), rng.randrange(60)
    )
    person = _Patient(
        id=patient_id,
        procedure_id=procedure_id,
        procedure_date=procedure_date,
        enrolled_at=enrolled_at,
        first_name=rng.choice(FIRST_NAMES),
        phone=f"+4474{patient_id:08d}",
        sms=rng.random() < SMS_SHARE,
        course=_PainCourse(
            baseline=min(10.0, max(4.0, rng.gauss(7.2, 1.0))),
            floor=0.4 if rng.random() < 0.85 else 0.85,
        ),
        adherence=min(0.98, max(0.5, rng.gauss(ANSWER_RATE, 0.1))),
    )
    if rng.random() < STOPPED_SHARE:
        span = (now - enrolled_at).total_seconds()
        person.stopped_at = enrolled_at + timedelta(seconds=rng.uniform(0.05, 1) * span)
    due = sum(1 for plan in context.plans if _due_at(plan, person) <= now)
    if due and rng.random() < OPT_OUT_SHARE:
        person.opts_out_at = rng.randrange(due)
    elif due and rng.random() < DEAD_NUMBER_SHARE:
        person.number_dies_at = rng.randrange(due)
    answered = []
    for index, plan in enumerate(context.plans):
        instance = _instance(context, rows, plan, person, first_instance_id + index, index)
        rows.instance.append(instance)
        if instance["status"] == InstanceStatus.COMPLETED:
            answered.append(instance)
    reason = None
    if person.stopped_at is not None:
        reason = rng.choice(STOP_REASONS)
        for instance in rows.instance[-len(context.plans) :]:
            if instance["status"] == InstanceStatus.CANCELLED:
                instance["status_reason"] = reason
        rows.event.append(
            _event(patient_id, "follow_up_stopped", person.stopped_at, context.nurse_id, reason)
        )
    rows.patient.append(_patient_row(context, person, reason))
    rows.procedure.append(
        {
            "id": procedure_id,
            "patient_id": patient_id,
            "procedure_date": procedure_date,
            "augmentation": rng.choice(list(Augmentation)).value,
            "levels": rng.choice(LEVELS),
            "lesion_type": rng.choice(list(LesionType)).value,
            "electrode": rng.choice(list(Electrode)).value,
            "protocol_id": PROTOCOL,
            "created_at": enrolled_at,
        }
    )
    if rng.random() < ALERT_SHARE:
        later = [i for i in answered if i["timepoint"] != context.plans[0].id]
        if later:
            rows.alert.append(
                _alert(context, rows, patient_id, later[-1], later[-1]["answer_channel"] == "sms")
            )
    if rng.random() < SAFETY_SHARE:
        rows.safety.append(_safety_event(context, patient_id, procedure_id, procedure_date))


def _patient_row(context: _Context, person: _Patient, reason: str | None) -> dict:
    opted_out = person.opts_out_at is not None and person.untextable_since is not None
    dead = person.number_dies_at is not None and person.untextable_since is not None
    code, why = DEAD_NUMBER[person.id % 2]
    return {
        "id": person.id,
        "site_id": context.site_id,
        "study_id": f"{context.site_code}{person.id:05d}",
        "first_name": person.first_name,
        "phone_e164": person.phone,
        "timezone": TIMEZONE,
        "language": "en",
        "consent": True,
        "consent_at": person.enrolled_at,
        "channel": (ContactChannel.SMS if person.sms else ContactChannel.LINK).value,
        "sms_opted_out": opted_out,
        "sms_opted_out_at": person.untextable_since if opted_out else None,
        "phone_problem": f"Twilio error {code}: {why}" if dead else None,
        "status": (FollowUpStatus.STOPPED if person.stopped_at else FollowUpStatus.ACTIVE).value,
        "status_reason": reason,
        "created_at": person.enrolled_at,
    }


def _due_at(plan: TimepointPlan, person: _Patient) -> datetime:
    if plan.is_baseline:
        return person.enrolled_at
    return _at(person.procedure_date + timedelta(days=plan.offset_days), SEND_HOUR)


def _instance(
    context: _Context,
    rows: _Rows,
    plan: TimepointPlan,
    person: _Patient,
    instance_id: int,
    index: int,
) -> dict:
    """One survey instance as the scheduler would have left it at ``now``, with its texts,
    answers and alerts."""
    rng, now = context.rng, context.now
    if plan.is_baseline:  # sent at enrolment, open until the end of the procedure day
        opens_at = due_at = person.enrolled_at
        closes_at = _at(person.procedure_date + timedelta(days=1))
    else:
        due_day = person.procedure_date + timedelta(days=plan.offset_days)
        opens_at = _at(due_day - timedelta(days=plan.days_before))
        due_at = _at(due_day, SEND_HOUR)
        closes_at = _at(due_day + timedelta(days=plan.days_after + 1))
    row = {
        "id": instance_id,
        "procedure_id": person.procedure_id,
        "patient_id": person.id,
        "timepoint": plan.id,
        "day_offset": plan.offset_days,
        "instruments": list(plan.instruments),
        "opens_at": opens_at,
        "due_at": due_at,
        "closes_at": closes_at,
        "status": InstanceStatus.SCHEDULED.value,
        "status_reason": None,
        "token_hash": None,
        "link_version": 0,
        "invited_at": None,
        "reminders_sent": 0,
        "next_reminder_at": None,
        "first_opened_at": None,
        "completed_at": None,
        "progress": {},
        "claimed_by": None,
        **dict.fromkeys(KEY_OUTCOMES),
        "answer_channel": None,
    }
    stopped_at = person.stopped_at
    if due_at > now or (stopped_at is not None and stopped_at <= due_at):
        if stopped_at is not None and stopped_at <= now:
            row["status"] = InstanceStatus.CANCELLED.value
        return row
    invited_at = min(due_at + timedelta(seconds=rng.randint(1, 90)), now)
    textable = person.untextable_since is None
    invitation = None
    if textable:
        invitation = _invitation(context, rows, row, plan, person, invited_at, index)
        rows.message.append(invitation)
    if person.opts_out_at == index:  # texts STOP instead of answering
        _opt_out(context, rows, person, instance_id, invited_at + _minutes(rng, 5, 240))
    delivered = invitation is not None and invitation["status"] != MessageStatus.FAILED
    if delivered and person.untextable_since is None:
        answers = rng.random() < person.adherence
        channel = AnswerChannel.SMS if person.sms else AnswerChannel.WEB
    else:  # a nurse phones some of those who can no longer be texted
        answers, channel = rng.random() < PHONED_SHARE, AnswerChannel.NURSE
    opened_at = completed_at = None
    if answers:
        remaining = (closes_at - invited_at).total_seconds() - 1800
        if rng.random() < QUICK_SHARE or remaining < 4 * 3600:
            delay = rng.uniform(120, min(4 * 3600, max(remaining, 180)))
        else:  # answered on a later day of the window, after a reminder
            delay = rng.uniform(4 * 3600, remaining)
        opened_at = invited_at + timedelta(seconds=delay)
        completed_at = min(
            opened_at + timedelta(seconds=rng.randint(120, 900)), closes_at - timedelta(minutes=1)
        )
        if completed_at > now or (stopped_at is not None and completed_at >= stopped_at):
            opened_at = completed_at = None  # will answer, has not yet
    elif rng.random() < STARTED_SHARE and channel != AnswerChannel.NURSE:
        opened_at = invited_at + _minutes(rng, 2, 600)
        if opened_at >= min(closes_at, now, stopped_at or now):
            opened_at = None
    if completed_at is not None:
        status, ended = InstanceStatus.COMPLETED, completed_at
    elif stopped_at is not None and stopped_at < closes_at:
        status, ended = InstanceStatus.CANCELLED, stopped_at
    elif closes_at <= now:
        status, ended = InstanceStatus.EXPIRED, closes_at
    elif opened_at is not None:
        status, ended = InstanceStatus.IN_PROGRESS, now
    else:
        status, ended = InstanceStatus.SENT, now
    reminders = [
        invited_at + timedelta(hours=h)
        for h in plan.reminder_hours
        if invited_at + timedelta(hours=h) < closes_at
    ]
    sent_reminders = [moment for moment in reminders if moment <= ended]
    questions = _texted_questions(plan.instruments, plan.is_baseline) if person.sms else ()
    row.update(
        status=status.value,
        token_hash=token_hash_for(SECRET_KEY, instance_id, 0),
        invited_at=invited_at,
        reminders_sent=len(sent_reminders),
        next_reminder_at=(
            next((m for m in reminders if m > now), None)
            if status in (InstanceStatus.SENT, InstanceStatus.IN_PROGRESS)
            else None
        ),
        first_opened_at=opened_at,
        completed_at=completed_at,
        progress=(
            {"sms": {"position": len(questions) if completed_at else 0, "retries": 0}}
            if person.sms
            else {"web": {"page": 1}}
            if opened_at and not completed_at
            else {}
        ),
        claimed_by=WORKER,
    )
    if not person.sms:
        for number, moment in enumerate(sent_reminders, start=1):
            if person.untextable_since is None or moment < person.untextable_since:
                last = number == len(reminders)
                rows.message.append(_reminder(context, row, person, moment, number, last))
    if status == InstanceStatus.COMPLETED:
        _add_responses(context, rows, row, plan, person.course, channel)
        if channel == AnswerChannel.SMS:
            _add_conversation(context, rows, row, person, plan)
    if status in (InstanceStatus.COMPLETED, InstanceStatus.EXPIRED):
        if status == InstanceStatus.EXPIRED and person.finished[-1:] == ["expired"]:
            rows.alert.append(_non_response(context, row))
        person.finished.append(status.value)
    return row


def _invitation(
    context: _Context,
    rows: _Rows,
    instance: dict,
    plan: TimepointPlan,
    person: _Patient,
    at: datetime,
    index: int,
) -> dict:
    """The invitation text of an instance, with the delivery outcome the provider reported."""
    rng = context.rng
    template = _invitation_template(
        person.sms, person.first_name, context.site_name, plan.instruments, plan.is_baseline
    )
    sent_at = at + timedelta(seconds=rng.randint(1, 20))
    row = dict(template)
    row.update(
        patient_id=person.id,
        instance_id=instance["id"],
        to_number=person.phone,
        idempotency_key=f"invite:{instance['id']}",
        created_at=at,
        next_attempt_at=at,
        provider_sid=_sid(f"invite:{instance['id']}"),
        attempts=1,
        attempted_at=at,
        sent_at=sent_at,
        delivered_at=sent_at + timedelta(seconds=rng.randint(2, 60)),
    )
    failure = None
    if person.number_dies_at == index:
        failure = DEAD_NUMBER[person.id % 2]
        person.untextable_since = sent_at
    elif rng.random() < FAILED_SHARE:
        failure = rng.choice(FAILURES)
    elif rng.random() < NO_RECEIPT_SHARE:
        row.update(status=MessageStatus.SENT.value, delivered_at=None)
    if failure is not None:
        code, reason = failure
        row.update(
            status=MessageStatus.FAILED.value, delivered_at=None, error_code=code, last_error=reason
        )
        alert = _acknowledged(
            context,
            person.id,
            instance["id"],
            AlertKind.DELIVERY_FAILURE,
            f"A text could not be delivered (error {code}): {reason}",
            f"delivery_failure:{instance['id']}",
            sent_at + timedelta(minutes=5),
        )
        rows.alert.append(alert)
    return row


def _reminder(
    context: _Context, instance: dict, person: _Patient, at: datetime, number: int, last: bool
) -> dict:
    template = _reminder_template(person.first_name, context.site_name, last)
    row = dict(template)
    key = f"remind:{instance['id']}:{number}"
    sent_at = at + timedelta(seconds=context.rng.randint(1, 20))
    row.update(
        patient_id=person.id,
        instance_id=instance["id"],
        to_number=person.phone,
        idempotency_key=key,
        created_at=at,
        next_attempt_at=at,
        provider_sid=_sid(key),
        attempts=1,
        attempted_at=at,
        validity_period_s=4 * 3600,
        sent_at=sent_at,
        delivered_at=sent_at + timedelta(seconds=context.rng.randint(2, 60)),
    )
    return row


def _opt_out(
    context: _Context, rows: _Rows, person: _Patient, instance_id: int, at: datetime
) -> None:
    """The patient texts STOP: the text is kept, texting stops, the nurse is told."""
    person.untextable_since = at
    rows.message.append(_inbound(person, instance_id, "STOP", at, _sid(f"stop:{person.id}")))
    rows.event.append(_event(person.id, "sms_opt_out", at, None, None))
    rows.alert.append(
        _acknowledged(
            context,
            person.id,
            None,
            AlertKind.OPTED_OUT,
            "The patient texted STOP: no more texts. Follow up by phone.",
            f"opted_out:{person.id}:{at.isoformat()}",
            at,
        )
    )


def _add_conversation(
    context: _Context, rows: _Rows, instance: dict, person: _Patient, plan: TimepointPlan
) -> None:
    """The replies of a texted survey and the questions that followed each (the first
    question is the invitation): a reply, the next question, ..., a thank-you."""
    questions = _texted_questions(plan.instruments, plan.is_baseline)
    answers = {
        (row["instrument_id"], item): value
        for row in rows.response[-len(plan.instruments) :]
        if row["instance_id"] == instance["id"]
        for item, value in row["answers"].items()
    }
    started, finished = instance["first_opened_at"], instance["completed_at"]
    step = (finished - started) / max(len(questions), 1)
    for n, question in enumerate(questions):
        at = started + step * n
        sid = _sid(f"reply:{instance['id']}:{n}")
        body = _reply_body(question, answers)
        rows.message.append(_inbound(person, instance["id"], body, at, sid))
        following = (
            question_text(questions[n + 1], n + 2, len(questions))
            if n + 1 < len(questions)
            else templates.thank_you(context.site_name)
        )
        rows.message.append(
            {
                **_REPLY_DEFAULTS,
                "patient_id": person.id,
                "instance_id": instance["id"],
                "body": following,
                "idempotency_key": f"reply:{sid}:0",
                "created_at": at,
                "next_attempt_at": None,
                "sent_at": at,
            }
        )


def _reply_body(question: SmsQuestion, answers: dict) -> str:
    """What the patient texted back to ``question``."""
    values = [answers.get((question.instrument_id, item)) for item in question.item_ids]
    if question.kind == SmsKind.CHECKLIST:
        picked = [str(n) for n, value in enumerate(values, start=1) if value == "yes"]
        return " ".join(picked) or "0"
    if question.kind == SmsKind.CHOICE and values[0] in question.choices:
        return str(question.choices.index(values[0]) + 1)
    return str(values[0]) if values and values[0] is not None else "0"


def _inbound(person: _Patient, instance_id: int | None, body: str, at: datetime, sid: str):
    return {
        **_INBOUND_DEFAULTS,
        "patient_id": person.id,
        "instance_id": instance_id,
        "from_number": person.phone,
        "body": body,
        "provider_sid": sid,
        "created_at": at,
    }


_MESSAGE_DEFAULTS = {
    "patient_id": None,
    "site_id": None,
    "instance_id": None,
    "direction": Direction.OUT.value,
    "kind": "reply",
    "to_number": "",
    "from_number": None,
    "body": "",
    "status": MessageStatus.SENT.value,
    "idempotency_key": None,
    "provider_sid": None,
    "attempts": 0,
    "next_attempt_at": None,
    "claimed_by": None,
    "claimed_until": None,
    "attempted_at": None,
    "last_error": None,
    "error_code": None,
    "validity_period_s": None,
    "segments": None,
    "encoding": None,
    "created_at": None,
    "sent_at": None,
    "delivered_at": None,
}
_REPLY_DEFAULTS = dict(_MESSAGE_DEFAULTS)
_INBOUND_DEFAULTS = {
    **_MESSAGE_DEFAULTS,
    "direction": Direction.IN.value,
    "kind": "inbound",
    "to_number": SERVICE_NUMBER,
    "status": MessageStatus.RECEIVED.value,
}


def _sid(key: str) -> str:
    return "SM" + hashlib.sha256(f"bench-sms:{key}".encode()).hexdigest()[:32]


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def _event(patient_id: int, kind: str, at: datetime, user_id, reason) -> dict:
    return {
        "patient_id": patient_id,
        "kind": kind,
        "detail": {"reason": reason} if reason else {},
        "user_id": user_id,
        "at": at,
    }


@cache
def _invitation_template(
    sms: bool, first_name: str, site_name: str, instruments: tuple[str, ...], baseline: bool
) -> dict:
    """A first text's row as the outbox writes it, the link kept as a placeholder.

    Patient, instance, number, key and times are filled in per message.
    """
    if sms:
        kind = "question"
        body = opening_text(list(_texted_questions(instruments, baseline)), first_name, site_name)
    else:
        kind = "invitation"
        estimate = web_burden(list(instruments), baseline=baseline).phrase
        body = templates.invitation(first_name, site_name, LINK_PLACEHOLDER, estimate)
    return _outgoing(kind, body)


@cache
def _reminder_template(first_name: str, site_name: str, last: bool) -> dict:
    if last:
        return _outgoing(
            "last_reminder", templates.last_reminder(first_name, site_name, LINK_PLACEHOLDER)
        )
    return _outgoing("reminder", templates.reminder(first_name, site_name, LINK_PLACEHOLDER))


def _outgoing(kind: str, body: str) -> dict:
    return message_values(
        key="",
        kind=kind,
        to="",
        body=body,
        now=datetime.min.replace(tzinfo=UTC),
        patient_id=None,
        status=MessageStatus.DELIVERED,
    )


# Alerts raised by the scheduler and the outbox, acknowledged by the nurse


def _acknowledged(
    context: _Context,
    patient_id: int,
    instance_id: int | None,
    kind: AlertKind,
    summary: str,
    key: str,
    raised_at: datetime,
) -> dict:
    """A routine alert, acknowledged a day or two later unless raised in the last days."""
    rng = context.rng
    acknowledged = raised_at < context.now - ACK_AFTER
    return {
        "patient_id": patient_id,
        "instance_id": instance_id,
        "kind": kind.value,
        "urgency": "routine",
        "summary": summary,
        "dedupe_key": key,
        "created_at": raised_at,
        "due_by": raised_at + timedelta(hours=context.alert_target_hours),
        "acknowledged_at": raised_at + _minutes(rng, 30, 2880) if acknowledged else None,
        "acknowledged_by": context.nurse_id if acknowledged else None,
        "action": rng.choice(("called", "no_action")) if acknowledged else None,
        "action_note": None,
    }


def _non_response(context: _Context, instance: dict) -> dict:
    return _acknowledged(
        context,
        instance["patient_id"],
        instance["id"],
        AlertKind.NON_RESPONSE,
        f"No answer at two timepoints in a row ({instance['timepoint']}).",
        f"non_response:{instance['id']}",
        instance["closes_at"],
    )


# Answers and scores
#
# Answers are built as tuples of (item id, value) pairs, with each medicine a tuple of
# (field, value) pairs, so that each distinct answer set is checked and scored once.

Frozen = tuple[tuple[str, object], ...]


def _add_responses(
    context: _Context,
    rows: _Rows,
    instance: dict,
    plan: TimepointPlan,
    course: _PainCourse,
    channel: AnswerChannel,
) -> None:
    answers = _answers(plan, course, context.rng)
    if channel == AnswerChannel.SMS:  # the conversation asks only what it texts
        asked = _texted_items(plan.instruments, plan.is_baseline)
        by_text = {}
        for instrument_id, pairs in answers.items():
            kept = tuple(pair for pair in pairs if (instrument_id, pair[0]) in asked)
            if kept:
                by_text[instrument_id] = kept
        answers = by_text
    started, finished = instance["first_opened_at"], instance["completed_at"]
    count = max(len(answers), 1)
    channels: dict[str, str] = {}
    for n, (instrument_id, pairs) in enumerate(answers.items(), start=1):
        version, stored, scores = _scored(instrument_id, context.omed_table, pairs)
        channels[instrument_id] = channel.value
        instance.update(key_outcome_updates(instrument_id, scores, channels))
        rows.response.append(
            {
                "instance_id": instance["id"],
                "instrument_id": instrument_id,
                "instrument_version": version,
                "channel": channel.value,
                "answers": stored,
                "scores": scores,
                "entered_by_user_id": (
                    context.nurse_id if channel == AnswerChannel.NURSE else None
                ),
                "supersedes_id": None,
                "created_at": started + (finished - started) * n // count,
            }
        )


def _answers(plan: TimepointPlan, course: _PainCourse, rng: random.Random) -> dict[str, Frozen]:
    """Answers to every instrument of a timepoint, in the protocol's order."""
    worst = course.worst(plan.offset_days, rng)
    average = _clip(worst - rng.choice((0, 1, 1, 2)))
    medicines = _medicines(worst, rng)
    every = {
        "pain_nrs": (
            ("worst", worst),
            ("average", average),
            ("now", _clip(average + rng.choice((-1, 0, 0, 1)))),
        ),
        "red_flags": _no_red_flags(),
        "qol_overall": (("overall", _clip(10 - worst * 0.7 + rng.gauss(0, 0.8))),),
        "analgesic_use": (
            ("medicines", medicines),
            ("medicine_change", _medicine_change(plan, medicines, worst, course.baseline)),
        ),
        "global_change": (("change", _global_change(course.baseline - worst)),),
    }
    if "rand36" in plan.instruments:
        level = round(10 * min(max(1 - worst / 12, 0), 1))
        every["rand36"] = _rand36_answers(level, rng.randrange(RAND36_VARIANTS))
    return {instrument_id: every[instrument_id] for instrument_id in plan.instruments}


def _medicine(drug: str, strength: str, doses: str = "1", **extra: str) -> Frozen:
    """One medicine as the web form sends it (numbers as text)."""
    fields = {
        "drug": drug,
        "strength": strength,
        "unit": "mg",
        "doses": doses,
        "pattern": "regular",
    }
    return tuple(sorted({**fields, **extra}.items()))


def _medicines(worst: int, rng: random.Random) -> tuple[Frozen, ...]:
    """Up to two medicines, stronger when pain is worse."""
    paracetamol = _medicine("paracetamol", "1000", "4")
    if worst >= 7:
        strong = rng.choice(
            (
                _medicine("morphine", rng.choice(("10", "20", "30")), "2"),
                _medicine("oxycodone", rng.choice(("10", "20")), "2"),
                _medicine("fentanyl_patch", "25", unit="mcg/h", route="transdermal"),
            )
        )
        rescue = _medicine("morphine", "10", str(rng.randint(1, 4)), pattern="as_needed")
        return (strong, rng.choice((paracetamol, rescue)))
    if worst >= 5:
        drug = rng.choice(("codeine", "dihydrocodeine", "tramadol"))
        weak = _medicine(drug, rng.choice(("30", "50")), str(rng.randint(2, 4)))
        return (weak, paracetamol) if rng.random() < 0.6 else (weak,)
    if worst >= 3:
        return rng.choice(
            (
                (paracetamol,),
                (_medicine("nsaid", "400", "3"),),
                (_medicine("codeine", "30", "2", pattern="as_needed"),),
                (),
            )
        )
    if rng.random() < 0.6:
        return ()
    return (_medicine("paracetamol", "1000", str(rng.randint(1, 4))),)


def _medicine_change(plan: TimepointPlan, medicines: tuple, worst: int, baseline: float) -> str:
    if not medicines:
        return "none"
    if plan.is_baseline or baseline - 2 <= worst <= baseline:
        return "same"
    return "less" if worst < baseline else "more"


def _global_change(drop: float) -> str:
    for threshold, code in (
        (5, "very_much_better"),
        (3, "much_better"),
        (1, "a_little_better"),
        (-1, "no_change"),
        (-3, "a_little_worse"),
        (-5, "much_worse"),
    ):
        if drop >= threshold:
            return code
    return "very_much_worse"


@cache
def _no_red_flags() -> Frozen:
    return tuple((item.id, "no") for item in get_instrument("red_flags").items)


@cache
def _rand36_answers(level: int, variant: int) -> Frozen:
    """RAND-36 answers whose recoded scores sit near ``level`` (0 worst - 10 best health)."""
    rng = random.Random(f"rand36:{level}:{variant}")
    answers = []
    for item in get_instrument("rand36").items:
        target = 100 * min(max(level / 10 + rng.gauss(0, 0.12), 0), 1)
        best = min(item.options, key=lambda option: abs((option.score or 0) - target))
        answers.append((item.id, best.code))
    return tuple(answers)


@cache
def _scored(instrument_id: str, omed_table: str, pairs: Frozen) -> tuple[str, dict, dict]:
    """Version, stored answers (checked as the app checks them) and scores of an answer set."""
    definition = get_instrument(instrument_id)
    stored = {
        item_id: validate_answer(
            definition,
            item_id,
            [dict(entry) for entry in raw] if isinstance(raw, tuple) else raw,
        )
        for item_id, raw in pairs
    }
    return definition.version, stored, score(definition, stored, omed_table=omed_table)


@cache
def _sms_items(instrument_id: str) -> frozenset[str]:
    return frozenset(item.id for item in get_instrument(instrument_id).items if item.sms_text)


@cache
def _texted_questions(instruments: tuple[str, ...], baseline: bool) -> tuple[SmsQuestion, ...]:
    """The texts of a timepoint's conversation (the warning signs are one numbered list;
    follow-up-only questions are not asked at baseline)."""
    return tuple(sms_questions(list(instruments), baseline=baseline))


@cache
def _texted_items(instruments: tuple[str, ...], baseline: bool) -> frozenset[tuple[str, str]]:
    """(questionnaire, item) pairs a timepoint's conversation asks."""
    return frozenset(
        (question.instrument_id, item)
        for question in _texted_questions(instruments, baseline)
        for item in question.item_ids
    )


# Alerts and safety events


def _alert(context: _Context, rows: _Rows, patient_id: int, instance: dict, sms: bool) -> dict:
    """An open alert raised when ``instance`` was answered.

    A red-flag alert turns the flagged item's answer at ``instance`` to yes.
    """
    rng = context.rng
    raised_at = instance["completed_at"]
    if rng.random() < 0.5:
        asked = [i for i in RED_FLAG_ALERTS if not sms or i in _sms_items("red_flags")]
        item = get_instrument("red_flags").item(rng.choice(asked))
        _answer_yes(context, rows, instance["id"], item.id)
        kind, urgency = AlertKind.RED_FLAG, item.red_flag.urgency.value
        summary = f"Red flag at {instance['timepoint']}: {item.red_flag.summary}"
        key = f"red_flag:{instance['id']}:{item.id}"
    else:
        kind, urgency = AlertKind.PAIN_WORSE, "24h"
        summary = (
            f"Worst pain up by 2 or more at two timepoints in a row ({instance['timepoint']})."
        )
        key = f"pain_worse:{instance['id']}"
    hours = 1 if urgency == "now" else 24 if urgency == "24h" else context.alert_target_hours
    return {
        "patient_id": patient_id,
        "instance_id": instance["id"],
        "kind": kind.value,
        "urgency": urgency,
        "summary": summary,
        "dedupe_key": key,
        "created_at": raised_at,
        "due_by": raised_at + timedelta(hours=hours),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "action": None,
        "action_note": None,
    }


def _answer_yes(context: _Context, rows: _Rows, instance_id: int, item_id: str) -> None:
    """Make ``item_id`` the one red flag answered yes at an instance (rescored)."""
    for row in reversed(rows.response):
        if row["instance_id"] == instance_id and row["instrument_id"] == "red_flags":
            pairs = tuple((k, "yes" if k == item_id else "no") for k in row["answers"])
            _, row["answers"], row["scores"] = _scored("red_flags", context.omed_table, pairs)
            return


def _safety_event(
    context: _Context, patient_id: int, procedure_id: int, procedure_date: date
) -> dict:
    rng = context.rng
    kind = rng.choice(list(SafetyEventKind))
    days_after = rng.choice((0, 0, 1, 2, 7, 14, 30))
    event_date = min(procedure_date + timedelta(days=days_after), context.now.date())
    recorded_at = min(_at(event_date + timedelta(days=1), rng.randint(9, 16)), context.now)
    return {
        "patient_id": patient_id,
        "procedure_id": procedure_id,
        "kind": kind.value,
        # asked of cement leakage only (a fifth of leaks cause symptoms)
        "symptomatic": rng.random() < 0.2 if kind == SafetyEventKind.CEMENT_LEAKAGE else None,
        "grade": rng.choice((1, 1, 1, 2, 2, 3)),
        "event_date": event_date,
        "notes": SAFETY_NOTES[kind],
        "recorded_by": context.nurse_id,
        "recorded_at": recorded_at,
    }


# Helpers


# Helpers


def _clip(value: float, low: int = 0, high: int = 10) -> int:
    return max(low, min(high, round(value)))


def _at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database URL")
    args = parser.parse_args()
    now = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            engine = make_engine(args.postgres)
            upgrade(engine)
        else:
            engine = fresh_sqlite_engine(Path(folder) / "cohort.sqlite3")
        try:
            started = time.perf_counter()
            seed_cohort(engine, patients=args.patients, now=now)
            seconds = time.perf_counter() - started
            for table, count in row_counts(engine).items():
                print(f"{table:24} {count:>10,}")
            for name, share in proportions(engine).items():
                shown = f"{share:>10.1%}" if share <= 1 else f"{share:>10.1f}"
                print(f"{name:24} {shown}")
        finally:
            engine.dispose()
    print(f"seeded {args.patients:,} patients on {engine.dialect.name} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
