"""A realistic follow-up cohort for benchmarks, bulk-inserted in seconds.

``seed_cohort`` fills a migrated database with one site, a nurse and an auditor, and a
cohort of patients a year into follow-up on the default protocol: one procedure each,
spread over the year before ``now``; the eight survey instances of the protocol, answered
(about 80%), expired or still to come; the answers with scores from the real
``surveys.score``; one invitation text per invited instance with its delivery state; and
a few open alerts (a red-flag alert comes with the yes answer that raised it) and safety
events. Rows go in with SQLAlchemy core inserts, chunk by chunk, like
``benchmarks/tick.py``, so every NOT NULL column is given here explicitly.

Pain follows the published course after RFA with augmentation (worst pain about 7 at
baseline, about 3 by week 4), quality of life rises as pain falls and opioid use follows
pain. Patients on the text-message channel answer only the questions that can go by
text, as the SMS conversation does. Survey links are hashed with ``SECRET_KEY``, the key
``benchmarks/tick.py`` uses. The same seed gives the same cohort.

Usage: ``.venv/bin/python benchmarks/cohort.py [--patients 2000]``
"""

import argparse
import hashlib
import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import cache
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from notifications import templates
from pro_app.accounts.passwords import hash_password
from pro_app.followup.conversation import first_question
from pro_app.followup.instruments import sms_questions
from pro_app.followup.key_outcomes import KEY_OUTCOMES, key_outcome_updates
from pro_app.messaging.links import LINK_PLACEHOLDER, token_hash_for
from pro_app.messaging.outbox import message_values
from pro_app.models import (
    Alert,
    AlertKind,
    AnswerChannel,
    Augmentation,
    ContactChannel,
    Electrode,
    FollowUpStatus,
    InstanceStatus,
    LesionType,
    Message,
    MessageStatus,
    Patient,
    Procedure,
    Response,
    Role,
    SafetyEvent,
    SafetyEventKind,
    Site,
    SurveyInstance,
    User,
)
from pro_app.scheduling.protocols import TimepointPlan, timepoints_for
from pro_app.storage.engine import make_engine
from pro_app.storage.migrate import upgrade
from surveys import get_instrument, score, validate_answer

SECRET_KEY = "bench"  # the key of benchmarks/tick.py's LinkContext
WORKER = "bench"
PROTOCOL = "default"
PASSWORD = "bench-password"
NURSE_EMAIL = "nurse@bench.test"
AUDITOR_EMAIL = "auditor@bench.test"
CHUNK = 2000
TIMEZONE = "Europe/London"
SEND_HOUR = 10  # UTC hour at which follow-up timepoints are due

SMS_SHARE = 0.15  # patients answering by text conversation instead of a link
ANSWER_RATE = 0.8  # mean share of timepoints answered
FAILED_SHARE = 0.15  # of unanswered timepoints, those whose invitation was not delivered
NO_RECEIPT_SHARE = 0.02  # accepted by the provider, no delivery receipt
ALERT_SHARE = 0.02
SAFETY_SHARE = 0.01
RAND36_VARIANTS = 16  # answer sets per health level (keeps scoring cached)

FIRST_NAMES = (
    "Alex", "Ann", "Chris", "David", "Jamie", "Jo", "John", "Kim",
    "Lee", "Margaret", "Morgan", "Pat", "Peter", "Robin", "Sam", "Susan",
)  # fmt: skip
LEVELS = (
    "T8", "T10", "T11", "T12", "L1", "L2", "L3", "L4",
    "T11,T12", "T12,L1", "L1,L2", "L2,L3", "T12,L1,L2",
)  # fmt: skip
RED_FLAG_ALERTS = ("weakness", "severe_back_pain", "fever", "wound")
SAFETY_NOTES = {
    SafetyEventKind.CEMENT_LEAKAGE: "Cement leakage seen on post-procedure imaging.",
    SafetyEventKind.INFECTION: "Superficial infection at the needle site; oral antibiotics.",
    SafetyEventKind.THERMAL_INJURY: "Skin burn at the electrode site.",
    SafetyEventKind.NEUROLOGICAL_INJURY: "Transient radicular pain after ablation.",
    SafetyEventKind.OTHER: "Vasovagal episode in recovery.",
}
FAILURES = ((30003, "undelivered: unreachable destination handset"), (30008, "undelivered"))
TABLES = (Site, User, Patient, Procedure, SurveyInstance, Response, Message, Alert, SafetyEvent)


@dataclass
class _Context:
    """What every patient of one call shares."""

    rng: random.Random
    now: datetime
    site_id: int
    site_code: str
    site_name: str
    alert_target_hours: int
    omed_table: str
    nurse_id: int
    plans: tuple[TimepointPlan, ...]


@dataclass
class _Rows:
    """The rows of one chunk, per table, in insertion order."""

    patient: list[dict] = field(default_factory=list)
    procedure: list[dict] = field(default_factory=list)
    instance: list[dict] = field(default_factory=list)
    response: list[dict] = field(default_factory=list)
    message: list[dict] = field(default_factory=list)
    alert: list[dict] = field(default_factory=list)
    safety: list[dict] = field(default_factory=list)

    def insert(self, connection: Connection) -> None:
        for model, rows in (
            (Patient, self.patient),
            (Procedure, self.procedure),
            (SurveyInstance, self.instance),
            (Response, self.response),
            (Message, self.message),
            (Alert, self.alert),
            (SafetyEvent, self.safety),
        ):
            if rows:
                connection.execute(insert(model.__table__), rows)


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


def seed_cohort(
    engine: Engine,
    *,
    patients: int,
    site_id: int = 1,
    site_code: str = "B",
    now: datetime,
    seed: int = 1,
    first_patient_id: int = 1,
) -> None:
    """Insert a cohort of ``patients`` followed up at one site, as it stands at ``now``.

    The site (id ``site_id``) and the users ``nurse@bench.test`` and ``auditor@bench.test``
    (password ``bench-password``) are created when absent. Patients get the ids
    ``first_patient_id`` onwards and study ids ``f"{site_code}{id:05d}"``; procedures and
    survey instances take the ids after the largest already present.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if patients < 0:
        raise ValueError("patients must not be negative")
    with engine.begin() as connection:
        site = _ensure_site(connection, site_id, site_code, now)
        nurse_id = _ensure_user(connection, NURSE_EMAIL, "Bench nurse", Role.NURSE, site_id, now)
        _ensure_user(connection, AUDITOR_EMAIL, "Bench auditor", Role.AUDITOR, site_id, now)
    context = _Context(
        rng=random.Random(seed),
        now=now.astimezone(UTC),
        site_id=site_id,
        site_code=site_code,
        site_name=site["name"],
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
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            _sync_sequences(connection)


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
    channel = ContactChannel.SMS if rng.random() < SMS_SHARE else ContactChannel.LINK
    first_name = rng.choice(FIRST_NAMES)
    phone = f"+4474{patient_id:08d}"
    rows.patient.append(
        {
            "id": patient_id,
            "site_id": context.site_id,
            "study_id": f"{context.site_code}{patient_id:05d}",
            "first_name": first_name,
            "phone_e164": phone,
            "timezone": TIMEZONE,
            "language": "en",
            "consent": True,
            "consent_at": enrolled_at,
            "channel": channel.value,
            "sms_opted_out": False,
            "sms_opted_out_at": None,
            "phone_problem": None,
            "status": FollowUpStatus.ACTIVE.value,
            "status_reason": None,
            "created_at": enrolled_at,
        }
    )
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
    course = _PainCourse(
        baseline=min(10.0, max(4.0, rng.gauss(7.2, 1.0))),
        floor=0.4 if rng.random() < 0.85 else 0.85,
    )
    adherence = min(0.98, max(0.5, rng.gauss(ANSWER_RATE, 0.1)))
    sms = channel == ContactChannel.SMS
    answered = []
    for index, plan in enumerate(context.plans):
        instance = _instance(
            context,
            plan,
            instance_id=first_instance_id + index,
            patient_id=patient_id,
            procedure_id=procedure_id,
            procedure_date=procedure_date,
            enrolled_at=enrolled_at,
            answers=rng.random() < adherence,
            sms=sms,
        )
        rows.instance.append(instance)
        if instance["invited_at"] is None:
            continue
        rows.message.append(_invitation(context, instance, plan, first_name, phone, sms))
        if instance["status"] == InstanceStatus.COMPLETED:
            answered.append(instance)
            _add_responses(context, rows, instance, plan, course, sms)
    if rng.random() < ALERT_SHARE:
        later = [i for i in answered if i["timepoint"] != context.plans[0].id]
        if later:
            rows.alert.append(_alert(context, rows, patient_id, later[-1], sms))
    if rng.random() < SAFETY_SHARE:
        rows.safety.append(_safety_event(context, patient_id, procedure_id, procedure_date))


def _instance(
    context: _Context,
    plan: TimepointPlan,
    *,
    instance_id: int,
    patient_id: int,
    procedure_id: int,
    procedure_date: date,
    enrolled_at: datetime,
    answers: bool,
    sms: bool,
) -> dict:
    """One survey instance as the scheduler would have left it at ``now``."""
    rng, now = context.rng, context.now
    if plan.is_baseline:  # sent at enrolment, open until the end of the procedure day
        opens_at = due_at = enrolled_at
        closes_at = _at(procedure_date + timedelta(days=1))
    else:
        due_day = procedure_date + timedelta(days=plan.offset_days)
        opens_at = _at(due_day - timedelta(days=plan.days_before))
        due_at = _at(due_day, SEND_HOUR)
        closes_at = _at(due_day + timedelta(days=plan.days_after + 1))
    row = {
        "id": instance_id,
        "procedure_id": procedure_id,
        "patient_id": patient_id,
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
    if due_at > now:
        return row
    invited_at = due_at + timedelta(seconds=rng.randint(1, 90))
    opened_at = completed_at = None
    if answers:
        remaining = (closes_at - invited_at).total_seconds() - 1800
        if rng.random() < 0.65 or remaining < 4 * 3600:
            delay = rng.uniform(120, min(4 * 3600, max(remaining, 180)))
        else:  # answered on a later day of the window
            delay = rng.uniform(4 * 3600, remaining)
        opened_at = invited_at + timedelta(seconds=delay)
        completed_at = min(
            opened_at + timedelta(seconds=rng.randint(120, 900)), closes_at - timedelta(minutes=1)
        )
        if completed_at > now:  # will answer, has not yet
            opened_at = completed_at = None
    if completed_at is not None:
        status, stopped = InstanceStatus.COMPLETED, completed_at
    elif closes_at <= now:
        status, stopped = InstanceStatus.EXPIRED, closes_at
    else:
        status, stopped = InstanceStatus.SENT, now
    reminders = [
        invited_at + timedelta(hours=h)
        for h in plan.reminder_hours
        if invited_at + timedelta(hours=h) < closes_at
    ]
    questions = _sms_question_count(plan.instruments) if sms else 0
    row.update(
        status=status.value,
        token_hash=token_hash_for(SECRET_KEY, instance_id, 0),
        invited_at=invited_at,
        reminders_sent=sum(1 for moment in reminders if moment <= stopped),
        next_reminder_at=(
            next((m for m in reminders if m > now), None) if status == InstanceStatus.SENT else None
        ),
        first_opened_at=opened_at,
        completed_at=completed_at,
        progress=(
            {"sms": {"position": questions if completed_at else 0, "retries": 0}} if sms else {}
        ),
        claimed_by=WORKER,
    )
    return row


def _invitation(
    context: _Context, instance: dict, plan: TimepointPlan, first_name: str, phone: str, sms: bool
) -> dict:
    """The invitation text of an instance, with the delivery outcome the provider reported."""
    rng = context.rng
    template = _invitation_template(sms, first_name, context.site_name, plan.instruments)
    sent_at = instance["invited_at"] + timedelta(seconds=rng.randint(1, 20))
    row = dict(template)
    row.update(
        patient_id=instance["patient_id"],
        instance_id=instance["id"],
        to_number=phone,
        idempotency_key=f"invite:{instance['id']}",
        created_at=instance["invited_at"],
        next_attempt_at=instance["invited_at"],
        provider_sid="SM" + hashlib.sha256(f"bench-sms:{instance['id']}".encode()).hexdigest()[:32],
        attempts=1,
        sent_at=sent_at,
        delivered_at=sent_at + timedelta(seconds=rng.randint(2, 60)),
    )
    if instance["status"] == InstanceStatus.EXPIRED and rng.random() < FAILED_SHARE:
        code, reason = rng.choice(FAILURES)
        row.update(
            status=MessageStatus.FAILED.value, delivered_at=None, error_code=code, last_error=reason
        )
    elif instance["status"] != InstanceStatus.COMPLETED and rng.random() < NO_RECEIPT_SHARE:
        row.update(status=MessageStatus.SENT.value, delivered_at=None)
    return row


@cache
def _invitation_template(
    sms: bool, first_name: str, site_name: str, instruments: tuple[str, ...]
) -> dict:
    """A first text's row as the outbox writes it, the link kept as a placeholder.

    Patient, instance, number, key and times are filled in per message.
    """
    if sms:
        kind = "question"
        body = first_question(
            SurveyInstance(instruments=list(instruments), progress={}),
            Patient(first_name=first_name),
            Site(name=site_name),
        )
    else:
        kind = "invitation"
        body = templates.invitation(first_name, site_name, LINK_PLACEHOLDER)
    return message_values(
        key="",
        kind=kind,
        to="",
        body=body,
        now=datetime.min.replace(tzinfo=UTC),
        patient_id=None,
        status=MessageStatus.DELIVERED,
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
    sms: bool,
) -> None:
    answers = _answers(plan, course, context.rng)
    channel = AnswerChannel.SMS if sms else AnswerChannel.WEB
    if sms:  # a text conversation asks only the items that have a text form
        by_text = {}
        for instrument_id, pairs in answers.items():
            asked = tuple(pair for pair in pairs if pair[0] in _sms_items(instrument_id))
            if asked:
                by_text[instrument_id] = asked
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
                "entered_by_user_id": None,
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
def _sms_question_count(instruments: tuple[str, ...]) -> int:
    """Texts in a conversation (the warning signs are one numbered list)."""
    return len(sms_questions(list(instruments)))


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
        "symptomatic": kind != SafetyEventKind.CEMENT_LEAKAGE or rng.random() < 0.2,
        "grade": rng.choice((1, 1, 1, 2, 2, 3)),
        "event_date": event_date,
        "notes": SAFETY_NOTES[kind],
        "recorded_by": context.nurse_id,
        "recorded_at": recorded_at,
    }


# Helpers


def _clip(value: float, low: int = 0, high: int = 10) -> int:
    return max(low, min(high, round(value)))


def _at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    now = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_sqlite_engine(Path(folder) / "cohort.sqlite3")
        try:
            started = time.perf_counter()
            seed_cohort(engine, patients=args.patients, now=now)
            seconds = time.perf_counter() - started
            for table, count in row_counts(engine).items():
                print(f"{table:15} {count:>9,}")
        finally:
            engine.dispose()
    print(f"seeded {args.patients:,} patients in {seconds:.1f} s")


if __name__ == "__main__":
    main()
