"""Saving a patient's answers: versioned rows, scores, red-flag alerts, completion.

The web form, the SMS conversation, nurse entry and the demo all save through here.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from ..alerts import raise_alert
from ..local_time import local_time
from ..messaging.outbox import cancel_pending, enqueue
from ..models import (
    OPEN_STATUSES,
    AlertKind,
    InstanceStatus,
    Message,
    Patient,
    Response,
    Site,
    SurveyInstance,
)
from .cohort_counts import counted_values, update_counts
from .instruments import instrument, red_flags, scores_for
from .key_outcomes import record_key_outcomes
from .worsening import evaluate_worsening

# Per session: {instance id: its status before the lock and its current answers}, for the
# instances locked in the open transaction (cleared when it ends, which releases the locks).
_LOCKED = "pro_locked_instances"

# How a survey is locked for saving, wherever it is locked (the saves, the web form's
# look-up, the expiry pass): FOR NO KEY UPDATE on PostgreSQL. Saves of one survey still
# queue on it, but it does not wait for the key-share locks that rows pointing at the
# survey take as they are written. With FOR UPDATE, two replies texted at once each kept
# their text (a row pointing at the survey) and then waited for the other's lock to go:
# PostgreSQL ended one as a deadlock, and its text was lost. SQLite locks the database.
SURVEY_LOCK = {"key_share": True}

_CURRENT = select(Response).where(
    Response.instance_id == bindparam("instance_id"), Response.is_current
)


@dataclass
class _Locked:
    seen: str  # the status the caller decided on (read before the lock, or with it)
    current: dict[str, Response] | None = None  # read once, after the lock


class SurveyClosed(Exception):
    """The instance no longer takes answers (completed, expired or cancelled)."""


def current_responses(session: Session, instance_id: int) -> dict[str, Response]:
    """The current answer row of each instrument at an instance."""
    rows = session.exec(_CURRENT, params={"instance_id": instance_id}).all()
    return {row.instrument_id: row for row in rows}


def lock_answers(session: Session, instance: SurveyInstance) -> dict[str, Response]:
    """Lock ``instance`` until the transaction ends, reload it and read its current answers.

    Saves for one instance (a double tap, a text reply and the web form at once) queue
    here, then each sees the answers and status the one before it committed. Within one
    transaction the instance is locked and read once: later calls return the same answers,
    kept up to date by ``save_answers``.
    """
    locked = session.info.setdefault(_LOCKED, {})
    held = locked.get(instance.id)
    if held is None:
        seen = instance.status
        session.flush()
        session.refresh(instance, with_for_update=SURVEY_LOCK)
        held = locked[instance.id] = _Locked(seen)
    if held.current is None:
        # Read after the lock is granted, in a statement of its own: on PostgreSQL a
        # statement that waited for a lock still reads other tables as they were when it
        # began, so answers joined into the locking statement could miss the save it
        # waited for.
        held.current = current_responses(session, instance.id)
    return held.current


def read_locked(session: Session, instance: SurveyInstance) -> None:
    """Note that ``instance`` was just read ``FOR UPDATE`` in the open transaction.

    For a caller whose look-up took the lock itself (the web form's POST): ``lock_answers``
    then reads the answers without locking and reloading the instance a second time. The
    note ends with the transaction, as the lock does.
    """
    session.info.setdefault(_LOCKED, {})[instance.id] = _Locked(instance.status)


def _status_seen(session: Session, instance: SurveyInstance) -> str:
    """The status the caller read before the instance was locked (the one it decided on)."""
    locked = session.info.get(_LOCKED, {}).get(instance.id)
    return instance.status if locked is None else locked.seen


@event.listens_for(OrmSession, "after_transaction_end")
def _locks_released(session: OrmSession, transaction) -> None:
    # The transaction itself or a savepoint (whose rollback may release locks taken in
    # it); not the inner transactions each flush opens and closes.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_LOCKED, None)


def save_answers(
    session: Session,
    instance: SurveyInstance,
    instrument_id: str,
    answers: dict,
    *,
    channel: str,
    now: datetime,
    user_id: int | None = None,
) -> Response:
    """Store one instrument's answers as a new row (a change supersedes, never overwrites).

    Answers must already be validated. Red flags raise alerts at once.
    """
    if _status_seen(session, instance) not in OPEN_STATUSES and channel != "nurse":
        raise SurveyClosed(instance.status)
    definition = instrument(instrument_id)
    patient = session.get(Patient, instance.patient_id)
    site = session.get(Site, patient.site_id)
    # Concurrent saves queue on the lock and supersede rather than collide.
    current = lock_answers(session, instance)
    counted = counted_values(instance)  # a correction after completion moves its counts
    previous = current.get(instrument_id)
    merged = {**(previous.answers if previous else {}), **answers}
    if previous is not None:  # one current answer per questionnaire: the flush below
        previous.is_current = False  # updates a table's rows before it inserts new ones
    row = Response(
        instance_id=instance.id,
        instrument_id=instrument_id,
        instrument_version=str(definition.version),
        channel=channel,
        answers=merged,
        scores=scores_for(definition, merged, omed_table=site.omed_table),
        entered_by_user_id=user_id,
        supersedes_id=previous.id if previous else None,
        created_at=now,
    )
    session.add(row)
    channels = {kind: answer.channel for kind, answer in current.items()}
    current[instrument_id] = row
    record_key_outcomes(instance, instrument_id, row.scores, {**channels, instrument_id: channel})
    update_counts(session, site.id, counted, counted_values(instance))
    if instance.status == InstanceStatus.SENT:
        instance.status = InstanceStatus.IN_PROGRESS
    session.flush()
    raised = []
    for flag in red_flags(definition, merged):
        alert_id = raise_alert(
            session,
            site=site,
            patient_id=patient.id,
            kind=AlertKind.RED_FLAG,
            urgency=flag.urgency,
            summary=f"Red flag at {instance.timepoint}: {flag.summary}",
            dedupe_key=f"red_flag:{instance.id}:{flag.item_id}",
            now=now,
            instance_id=instance.id,
        )
        if alert_id is not None:
            raised.append(alert_id)
    if raised and site.on_call_phone:  # one text a save, however many flags it raised
        notify_on_call(session, site, patient, raised[0], now=now)
    return row


def notify_on_call(session: Session, site: Site, patient: Patient, alert_id: int, *, now) -> None:
    """Text the site's on-call contact at once, through the outbox, with no clinical detail."""
    enqueue(
        session,
        key=f"on_call:{alert_id}",
        kind="alert_notify",
        to=site.on_call_phone,
        body=(
            f"pro-app: an urgent alert needs review for patient {patient.study_id} "
            f"({site.code}), raised {local_time(now, site.timezone)}. "
            "Please check the dashboard."
        ),
        now=now,
        patient_id=None,  # addressed to the site: its failures are the site's, not the patient's
        site_id=site.id,
    )


def complete(session: Session, instance: SurveyInstance, *, now: datetime) -> None:
    """Close the instance as answered, cancel its waiting reminders, check for worsening.

    The instance is locked first, so two submissions at once count its answers in the
    expected course once.
    """
    lock_answers(session, instance)
    counted = counted_values(instance)
    instance.status = InstanceStatus.COMPLETED
    instance.completed_at = now
    instance.next_reminder_at = None
    site_id = session.get(Patient, instance.patient_id).site_id
    update_counts(session, site_id, counted, counted_values(instance))
    cancel_pending(session, "survey already answered", Message.instance_id == instance.id)
    session.flush()
    evaluate_worsening(session, instance, now=now)
