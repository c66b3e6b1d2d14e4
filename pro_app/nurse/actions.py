"""What a nurse can do to a patient's follow-up and alerts: act on alerts, resend a link,
switch channel, pause and resume, stop and restart, correct the mobile number, record a
safety event. Each writes a ``PatientEvent`` (or an ``AlertAction``) so the record shows
who changed what.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlmodel import Session, select

from notifications import templates

from ..clinical_dates import procedure_date_problem
from ..enrolment import normalise_mobile
from ..followup.conversation import (
    first_question,
    in_conversation,
    pending_question,
    question_again,
)
from ..local_time import local_today
from ..messaging.links import LINK_PLACEHOLDER, token_hash_for
from ..messaging.opt_out import carry_number_opt_out, drop_opt_out_of_old_number
from ..messaging.outbox import cancel_pending, enqueue
from ..models import (
    OPEN_STATUSES,
    Alert,
    AlertAction,
    Direction,
    FollowUpStatus,
    InstanceStatus,
    Message,
    MessageStatus,
    Patient,
    PatientEvent,
    Procedure,
    SafetyEvent,
    SafetyEventKind,
    Site,
    SurveyInstance,
)
from ..models.safety import ALERT_ACTION_LABELS, NOT_REACHED, SAFETY_EVENT_LABELS
from ..scheduling.invitations import web_estimate
from ..scheduling.plan import (
    DateChange,
    Reopened,
    change_procedure_date,
    reopen_follow_up,
    stop_follow_up,
)


class ActionRefused(ValueError):
    """The action cannot be taken; the message says why in words a nurse can act on."""


@dataclass(frozen=True)
class AlertActionKind:
    """Something a nurse can do about an alert. ``closes`` False keeps the alert open.

    Its words are ``ALERT_ACTION_LABELS`` (``models.safety``), which the audit reads too.
    """

    code: str
    needs_note: bool = False
    closes: bool = True

    @property
    def label(self) -> str:
        return ALERT_ACTION_LABELS[self.code]


#: What a nurse can record against an alert, in the order offered (codes are stored).
ALERT_ACTIONS: tuple[AlertActionKind, ...] = (
    AlertActionKind("called"),
    AlertActionKind("advised_999"),
    AlertActionKind("referred_mscc"),
    AlertActionKind("seen_in_clinic"),
    AlertActionKind("no_action", needs_note=True),
    AlertActionKind(NOT_REACHED, closes=False),
)
#: When to try again after failing to reach the patient, in hours from now.
RETRY_CHOICES: tuple[tuple[int, str], ...] = (
    (1, "In 1 hour"),
    (2, "In 2 hours"),
    (4, "In 4 hours"),
    (24, "Tomorrow, same time"),
)
FATAL_GRADE = 5  # CTCAE: death related to the adverse event (follow-up stops)
#: Why follow-up stops (codes are stored in the event; the label is the status reason).
STOP_REASONS: tuple[tuple[str, str], ...] = (
    ("died", "The patient has died"),
    ("withdrew", "The patient withdrew from follow-up"),
    ("other", "Other reason"),
)


def act_on_alerts(
    session: Session,
    patient: Patient,
    alert_ids: Sequence[int],
    *,
    action: str,
    note: str | None,
    retry_hours: int | None,
    user_id: int,
    now: datetime,
) -> "ActedOnAlerts":
    """Record one action on each of ``alert_ids`` (the patient's open alerts), each separately.

    A closing action acknowledges the alert; "could not reach" keeps it open with a time
    to try again. An alert acknowledged meanwhile (by a colleague) is left as it is, but
    a closing action on it is still added to its history, note and all: what this nurse
    did (a second call, 999 advised) is kept. ``ActedOnAlerts.added`` lists those.
    """
    kind = next((k for k in ALERT_ACTIONS if k.code == action), None)
    if kind is None:
        raise ActionRefused("Choose the action taken.")
    note = (note or "").strip()[:1000] or None
    if kind.needs_note and not note:
        raise ActionRefused("Say why no action is needed.")
    if not kind.closes and retry_hours not in {hours for hours, _ in RETRY_CHOICES}:
        raise ActionRefused("Choose when to try again.")
    if not alert_ids:
        raise ActionRefused("Tick the alerts this action answers.")
    alerts = session.exec(
        select(Alert)
        .where(Alert.id.in_(list(alert_ids)), Alert.patient_id == patient.id)
        .order_by(Alert.id)
        .with_for_update()
    ).all()
    if len(alerts) != len(set(alert_ids)):
        raise ActionRefused("An alert ticked is not one of this patient's.")
    next_try = now + timedelta(hours=retry_hours) if not kind.closes else None
    result = ActedOnAlerts(acted=[], added=[], repeated=[])
    repeats = _recent_repeats(session, alerts, kind.code, note, next_try, user_id, now)
    for alert in alerts:
        if alert.id in repeats:  # the same form sent twice (a double click, a reload)
            result.repeated.append(alert)
            continue
        if alert.acknowledged_at is not None and not kind.closes:
            continue  # closed meanwhile: no time to try again is kept for it
        session.add(
            AlertAction(
                alert_id=alert.id,
                action=kind.code,
                note=note,
                next_try_at=next_try,
                user_id=user_id,
                at=now,
            )
        )
        if alert.acknowledged_at is not None:
            result.added.append(alert)
        elif kind.closes:
            alert.acknowledged_at = now
            alert.acknowledged_by = user_id
            alert.action = kind.code
            alert.action_note = note
            alert.next_try_at = None
            result.acted.append(alert)
        else:
            alert.next_try_at = next_try
            result.acted.append(alert)
    session.flush()
    return result


@dataclass(frozen=True)
class ActedOnAlerts:
    """The alerts an action closed or kept open to try again, those a colleague had
    closed meanwhile to whose history it was added, and those that had just had it from
    this nurse (the form sent twice), left as they were."""

    acted: list[Alert]
    added: list[Alert]
    repeated: list[Alert]


# The same action, note and nurse on an alert again within this is the form sent twice.
REPEAT_WINDOW = timedelta(minutes=2)


def _recent_repeats(
    session: Session,
    alerts,
    action: str,
    note: str | None,
    next_try: datetime | None,
    user_id: int,
    now: datetime,
) -> set[int]:
    """The ids of ``alerts`` that had this very action from this nurse just now: the same
    note and, for "could not reach", the same time to try again after it (sent again to
    change "in 1 hour" to "tomorrow", it is a new choice, not a repeat)."""
    same_note = AlertAction.note.is_(None) if note is None else AlertAction.note == note
    wait = next_try - now if next_try is not None else None
    rows = session.exec(
        select(AlertAction.alert_id, AlertAction.at, AlertAction.next_try_at).where(
            AlertAction.alert_id.in_([alert.id for alert in alerts]),
            AlertAction.user_id == user_id,
            AlertAction.action == action,
            same_note,
            AlertAction.at >= now - REPEAT_WINDOW,
        )
    ).all()
    return {
        alert_id
        for alert_id, at, tried_next in rows
        if wait is None or (tried_next is not None and tried_next - at == wait)
    }


def _event(
    session: Session, patient: Patient, kind: str, detail: dict, user_id, now
) -> PatientEvent:
    event = PatientEvent(patient_id=patient.id, kind=kind, detail=detail, user_id=user_id, at=now)
    session.add(event)
    return event


# An invitation in the outbox that has not yet reached the provider, or may be reaching it.
NOT_YET_GONE = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.UNKNOWN)


def resend_link(
    session: Session,
    patient: Patient,
    instance: SurveyInstance,
    *,
    secret_key: str,
    user_id: int,
    now: datetime,
) -> None:
    """Text a fresh link to an open survey; the earlier link stops working."""
    if instance.status not in OPEN_STATUSES or instance.closes_at <= now:
        raise ActionRefused("Only a survey that is open now can be sent again.")
    if not patient.textable:
        raise ActionRefused(
            "Texts cannot reach this patient (opted out, no consent or a number problem)."
        )
    waiting = session.exec(
        select(Message.id).where(
            Message.instance_id == instance.id,
            Message.kind == "invitation",
            Message.status.in_(NOT_YET_GONE),
        )
    ).first()
    if waiting is not None:  # a double click, or a text held by quiet hours or a retry
        raise ActionRefused(
            f"A text with the link for {instance.timepoint} is already waiting to go "
            "(it carries the newest link): nothing more was queued."
        )
    in_flight = session.exec(
        select(Message.id).where(
            Message.instance_id == instance.id,
            Message.status.in_((MessageStatus.SENDING, MessageStatus.UNKNOWN)),
            Message.body.contains(LINK_PLACEHOLDER, autoescape=True),
        )
    ).first()
    if in_flight is not None:  # it is looked for at the provider by the link it carried
        raise ActionRefused(
            f"A text with the link for {instance.timepoint} is being sent or checked with "
            "the provider: nothing more was queued. Try again in a few minutes."
        )
    _send_fresh_link(session, patient, instance, secret_key=secret_key, now=now)
    _event(
        session,
        patient,
        "link_resent",
        {"timepoint": instance.timepoint, "link_version": instance.link_version},
        user_id,
        now,
    )


def _send_fresh_link(
    session: Session, patient: Patient, instance: SurveyInstance, *, secret_key: str, now
) -> None:
    """Queue a text with a new link (its own outbox key); earlier links stop working."""
    site = session.get(Site, patient.site_id)
    body = templates.invitation(
        patient.first_name,
        site.name,
        LINK_PLACEHOLDER,
        web_estimate(session.get(Procedure, instance.procedure_id), instance),
    )
    _queue_again(session, patient, instance, "invitation", body, secret_key=secret_key, now=now)


def _queue_again(
    session: Session,
    patient: Patient,
    instance: SurveyInstance,
    kind: str,
    body: str,
    *,
    secret_key: str,
    now,
) -> None:
    """Queue a survey's first text again under an outbox key of its own: the link's next
    version (earlier links stop working) names it."""
    instance.link_version += 1
    instance.token_hash = token_hash_for(secret_key, instance.id, instance.link_version)
    enqueue(
        session,
        key=f"invite:{instance.id}:v{instance.link_version}",
        kind=kind,
        to=patient.phone_e164,
        body=body,
        now=now,
        patient_id=patient.id,
        instance_id=instance.id,
    )


def switch_channel(
    session: Session, patient: Patient, channel: str, *, user_id: int, now: datetime
) -> bool:
    """Ask by web link or by text conversation from the next survey on; False when the
    patient is already asked that way (nothing changed)."""
    if channel == patient.channel:
        return False
    _event(
        session, patient, "channel_changed", {"from": patient.channel, "to": channel}, user_id, now
    )
    patient.channel = channel
    return True


class MobileCorrection(NamedTuple):
    changed: bool  # False: the number given is the one kept, with no delivery problem
    opted_out_with_number: bool  # the new number had texted STOP, so the record is opted out
    opt_out_lifted: bool = False  # the opt-out came only with the number replaced
    relinked: tuple[str, ...] = ()  # timepoints whose waiting text now goes to the new number


def correct_mobile(
    session: Session, patient: Patient, raw: str, *, secret_key: str, user_id: int, now: datetime
) -> MobileCorrection:
    """Replace the mobile number; texts still waiting for the old number are cancelled,
    and an open survey none of whose texts left gets a fresh link to the new one."""
    site = session.get(Site, patient.site_id)
    try:
        number = normalise_mobile(raw, site.phone_region)
    except ValueError as exc:
        raise ActionRefused(str(exc)) from None
    if number == patient.phone_e164 and not patient.phone_problem:
        return MobileCorrection(changed=False, opted_out_with_number=False)
    cancelled = cancel_pending(
        session,
        "mobile number corrected",
        Message.patient_id == patient.id,
        Message.to_number != number,
    )
    event = _event(
        session,
        patient,
        "mobile_corrected",
        {"cleared_problem": patient.phone_problem, "cancelled_texts": cancelled},
        user_id,
        now,
    )
    replaced = number != patient.phone_e164
    patient.phone_e164 = number
    patient.phone_problem = None
    lifted = replaced and drop_opt_out_of_old_number(session, patient, user_id=user_id, now=now)
    carried = carry_number_opt_out(session, patient, user_id=user_id, now=now)
    relinked = []
    if cancelled and patient.status == FollowUpStatus.ACTIVE:
        still_open = session.exec(
            select(SurveyInstance)
            .where(
                SurveyInstance.patient_id == patient.id,
                SurveyInstance.status.in_(OPEN_STATUSES),
                SurveyInstance.closes_at > now,
            )
            .order_by(SurveyInstance.due_at)
        ).all()
        relinked = _relink_unsent(session, patient, still_open, secret_key=secret_key, now=now)
        event.detail = {**event.detail, "new_links": relinked}
    return MobileCorrection(
        changed=True,
        opted_out_with_number=carried,
        opt_out_lifted=lifted,
        relinked=tuple(relinked),
    )


def pause(session: Session, patient: Patient, reason: str, *, user_id: int, now: datetime) -> int:
    """Stop texting for now: open and planned surveys are cancelled until resumed."""
    if patient.status != FollowUpStatus.ACTIVE:
        raise ActionRefused("Only active follow-up can be paused.")
    return stop_follow_up(
        session, patient, status=FollowUpStatus.PAUSED, reason=reason, user_id=user_id, now=now
    )


def resume(
    session: Session, patient: Patient, *, secret_key: str, user_id: int, now: datetime
) -> Reopened:
    """Restart paused follow-up: surveys whose window has not closed are planned again;
    those whose window closed during the pause stay cancelled (``Reopened.closed``). A
    survey whose first text was still waiting when the pause cancelled it gets a fresh
    link, as after a restart."""
    if patient.status != FollowUpStatus.PAUSED:
        raise ActionRefused("Only paused follow-up can be resumed.")
    result = reopen_follow_up(session, patient, cancelled_reason=patient.status_reason, now=now)
    relinked = _relink_unsent(session, patient, result.reopened, secret_key=secret_key, now=now)
    _event(
        session,
        patient,
        "follow_up_resumed",
        {"replanned": len(result.reopened), "new_links": relinked},
        user_id,
        now,
    )
    return result


def stop(
    session: Session, patient: Patient, reason: str, note: str | None, *, user_id: int, now
) -> int:
    """Stop follow-up for good (until restarted): open and planned surveys are cancelled and
    texts still waiting are not sent. ``reason`` is a code of ``STOP_REASONS``."""
    labels = dict(STOP_REASONS)
    if reason not in labels:
        raise ActionRefused("Choose why follow-up stops.")
    note = (note or "").strip()
    if reason == "other" and not note:
        raise ActionRefused("Say why follow-up stops (a note is needed for another reason).")
    if patient.status == FollowUpStatus.STOPPED:
        raise ActionRefused("Follow-up is already stopped.")
    text = f"{labels[reason]}: {note}"[:200] if note else labels[reason]
    held = []
    if patient.status == FollowUpStatus.PAUSED:  # what the pause holds, a restart brings back
        held = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == patient.id,
                SurveyInstance.status == InstanceStatus.CANCELLED,
                SurveyInstance.status_reason == patient.status_reason,
                SurveyInstance.completed_at.is_(None),
            )
        ).all()
        for instance in held:
            instance.status_reason = text
    return len(held) + stop_follow_up(
        session, patient, status=FollowUpStatus.STOPPED, reason=text, user_id=user_id, now=now
    )


def restart(
    session: Session,
    patient: Patient,
    reason: str,
    *,
    secret_key: str,
    user_id: int,
    now: datetime,
) -> Reopened:
    """Undo a stop: timepoints whose window is still open are planned again.

    A timepoint already sent keeps its link; if its first text never left (cancelled by the
    stop) a fresh link goes under a new outbox key, so nothing sent is sent again. Texts go
    only to a patient who can be texted (an opt-out stays in force).
    """
    if patient.status != FollowUpStatus.STOPPED:
        raise ActionRefused("Only stopped follow-up can be restarted.")
    reason = reason.strip()[:200]
    if not reason:
        raise ActionRefused("Say why follow-up restarts.")
    stopped_for = patient.status_reason
    result = reopen_follow_up(session, patient, cancelled_reason=stopped_for, now=now)
    relinked = _relink_unsent(session, patient, result.reopened, secret_key=secret_key, now=now)
    _event(
        session,
        patient,
        "follow_up_restarted",
        {
            "reason": reason,
            "stopped_for": stopped_for,
            "replanned": [i.timepoint for i in result.reopened],
            "window_closed": [i.timepoint for i in result.closed],
            "new_links": relinked,
        },
        user_id,
        now,
    )
    return result


def _relink_unsent(
    session: Session,
    patient: Patient,
    reopened: list[SurveyInstance],
    *,
    secret_key: str,
    now: datetime,
) -> list[str]:
    """Send again, under a new outbox key, what each open survey invited but whose every
    text was cancelled before it left (by a stop, a pause or a corrected number) would
    have sent: a fresh link, or for a survey answered by text the question it waits on.
    Their timepoints."""
    relinked = []
    for instance in reopened:
        if (
            instance.invited_at is not None
            and patient.textable
            and not _first_text_left(session, instance)
        ):
            if in_conversation(instance):
                _ask_again(session, patient, instance, secret_key=secret_key, now=now)
            else:
                _send_fresh_link(session, patient, instance, secret_key=secret_key, now=now)
            relinked.append(instance.timepoint)
    return relinked


def _ask_again(
    session: Session, patient: Patient, instance: SurveyInstance, *, secret_key: str, now
) -> None:
    """Queue the text a survey answered by text waits on: its opening text if nothing was
    answered yet (greeting, question 1 and how to stop), else the question it is on."""
    waiting = pending_question(session, instance)
    if waiting is None:  # every question answered: nothing to ask
        return
    site = session.get(Site, patient.site_id)
    first = waiting[0] == 1
    body = first_question(instance, patient, site) if first else question_again(session, instance)
    _queue_again(session, patient, instance, "question", body, secret_key=secret_key, now=now)


def _first_text_left(session: Session, instance: SurveyInstance) -> bool:
    """Whether any text of this survey went out or may still go (not all cancelled)."""
    return (
        session.exec(
            select(Message.id).where(
                Message.instance_id == instance.id,
                Message.direction == Direction.OUT,
                Message.status != MessageStatus.CANCELLED,
            )
        ).first()
        is not None
    )


def record_safety_event(
    session: Session,
    patient: Patient,
    procedure: Procedure,
    *,
    kind: str,
    grade: int,
    event_date: date,
    symptomatic: bool | None,
    notes: str | None,
    user_id: int,
    now: datetime,
) -> SafetyEvent:
    """Record a clinician-reported complication of the procedure.

    Grade 5 is a death related to the event: follow-up stops ("The patient has died"),
    so no survey is texted to the patient's phone; a restart undoes it if it was wrong.
    """
    if event_date < procedure.procedure_date:
        raise ActionRefused("A complication cannot come before the procedure date.")
    site = session.get(Site, patient.site_id)
    if event_date > local_today(now, site.timezone if site else None):
        raise ActionRefused("The event date is in the future.")
    if symptomatic is not None and kind != SafetyEventKind.CEMENT_LEAKAGE:
        raise ActionRefused("Symptomatic or not is recorded for cement leakage only.")
    if symptomatic is None and kind == SafetyEventKind.CEMENT_LEAKAGE:
        raise ActionRefused("Say whether the cement leakage was symptomatic.")
    # Two sends of one form at once queue here, so the second finds the first's event.
    session.exec(select(Procedure.id).where(Procedure.id == procedure.id).with_for_update())
    notes = (notes or "").strip()[:2000] or None
    if _recorded_twin(session, procedure.id, kind, grade, event_date, symptomatic, notes):
        raise ActionRefused(
            "This event is already recorded (the same event, grade and date"
            f"{', and the same notes' if kind == SafetyEventKind.OTHER else ''}): "
            "it was not recorded again."
        )
    event = SafetyEvent(
        patient_id=patient.id,
        procedure_id=procedure.id,
        kind=kind,
        symptomatic=symptomatic,
        grade=grade,
        event_date=event_date,
        notes=notes,
        recorded_by=user_id,
        recorded_at=now,
    )
    session.add(event)
    session.flush()
    if grade == FATAL_GRADE and patient.status != FollowUpStatus.STOPPED:
        stop(session, patient, "died", None, user_id=user_id, now=now)
    return event


def _recorded_twin(
    session: Session,
    procedure_id: int,
    kind: str,
    grade: int,
    event_date: date,
    symptomatic: bool | None,
    notes: str | None,
) -> bool:
    """Whether this very event is already recorded and not withdrawn (a form sent twice).
    An "other" event is told apart by its notes too: they say what it was."""
    same = [
        SafetyEvent.procedure_id == procedure_id,
        SafetyEvent.kind == kind,
        SafetyEvent.grade == grade,
        SafetyEvent.event_date == event_date,
        SafetyEvent.symptomatic.is_(None)
        if symptomatic is None
        else SafetyEvent.symptomatic == symptomatic,
        SafetyEvent.withdrawn_at.is_(None),
    ]
    if kind == SafetyEventKind.OTHER:
        same.append(SafetyEvent.notes.is_(None) if notes is None else SafetyEvent.notes == notes)
    return session.exec(select(SafetyEvent.id).where(*same)).first() is not None


def withdraw_safety_event(
    session: Session, patient: Patient, event_id: int, reason: str, *, user_id: int, now: datetime
) -> SafetyEvent:
    """Mark a safety event recorded in error: it stays on the record with the reason, and
    leaves the audit and the register's files. Follow-up a grade 5 stopped is not restarted
    here: the nurse restarts it, saying why, as after any stop."""
    event = session.exec(
        select(SafetyEvent)
        .where(SafetyEvent.id == event_id, SafetyEvent.patient_id == patient.id)
        .with_for_update()
    ).first()
    if event is None:
        raise ActionRefused("No such safety event for this patient.")
    if event.withdrawn_at is not None:
        raise ActionRefused("This event was already marked as recorded in error.")
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise ActionRefused("Say why the event was recorded in error.")
    event.withdrawn_at, event.withdrawn_by, event.withdrawn_reason = now, user_id, reason
    _event(
        session,
        patient,
        "safety_event_withdrawn",
        {"event_id": event.id, "kind": event.kind, "grade": event.grade, "reason": reason},
        user_id,
        now,
    )
    session.flush()
    return event


def move_procedure_date(
    session: Session, procedure: Procedure, new_date: date, *, user_id: int, now: datetime
) -> DateChange:
    """Correct the procedure date (within the accepted range, judged by the site's date)
    and re-plan unsent surveys."""
    patient = session.get(Patient, procedure.patient_id)
    site = session.get(Site, patient.site_id) if patient else None
    problem = procedure_date_problem(new_date, local_today(now, site.timezone if site else None))
    if problem:
        raise ActionRefused(problem[0].upper() + problem[1:] + ".")
    earlier = session.exec(
        select(SafetyEvent)
        .where(
            SafetyEvent.procedure_id == procedure.id,
            SafetyEvent.withdrawn_at.is_(None),
            SafetyEvent.event_date < new_date,
        )
        .order_by(SafetyEvent.event_date)
    ).first()
    if earlier is not None:  # a complication cannot come before its procedure
        raise ActionRefused(
            f"A safety event ({SAFETY_EVENT_LABELS.get(earlier.kind, earlier.kind).lower()}) "
            f"is recorded on {earlier.event_date:%d %b %Y}, before a procedure on "
            f"{new_date:%d %b %Y}: the date was not changed. If the event is wrong, mark it "
            "recorded in error and record it again."
        )
    return change_procedure_date(session, procedure, new_date, user_id=user_id, now=now)
