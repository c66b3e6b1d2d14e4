"""Answers a nurse takes by phone and enters for the patient, marked as nurse-entered.

The form holds every question of the timepoint at once; field names carry the
instrument id as a prefix (``pain_nrs.worst``) because item ids repeat across
instruments. A questionnaire left wholly blank is skipped (a call may cover only the
core questions); one that is started must be complete and valid, and nothing is saved
unless every page validates. Saving completes the survey: the call was the answer.

A completed survey can be corrected the same way (the patient rang to say a score was
wrong): only the questionnaires whose answers change get a new, nurse-entered version
superseding the old; the survey stays completed at its time and keeps the channel it was
answered by; the worsening checks run again on the corrected figures, and the record
gets an ``answers_corrected`` event.

The form carries the answers it was opened on (``answers_version``: the survey's status
and its current answer rows). A save that finds others (the patient answered on the web
or by text meanwhile, or another nurse corrected them) saves nothing: the nurse is shown
what was saved meanwhile (``saved_meanwhile``) beside what she entered, and saves again
once she has seen it. So nobody's answers are overwritten by a form opened before them.

Blank medicine rows cannot say "takes none" here, as they do on the patient's page, since
blank means "not asked". The nurse ticks ``<item>-none`` (``analgesic_use.medicines-none``)
instead; it starts unticked unless "none" is already the saved answer. The list is then
read with no rows and stored as the web link stores it (``[]``); a tick beside a
filled-in medicine is refused.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from surveys import ItemType

from ..followup.answer_saving import complete, current_responses, save_answers
from ..followup.survey_pages import (
    MEDICATION_ROWS,
    SurveyPage,
    blank_row,
    medicine_rows,
    page_answers,
    read_page,
    rows_from_answer,
    survey_pages,
)
from ..followup.worsening import evaluate_worsening
from ..models import (
    AnswerChannel,
    FollowUpStatus,
    InstanceStatus,
    Patient,
    PatientEvent,
    Response,
    SurveyInstance,
)

ENTERABLE = (InstanceStatus.SENT, InstanceStatus.IN_PROGRESS, InstanceStatus.EXPIRED)
NONE_TAKEN = "none"  # ``<medicines item>-none``: the nurse's "takes no pain medicines" tick
NONE_CONFLICT = (
    "You ticked “Takes no pain medicines” and filled in a medicine: "
    "untick the box or clear the medicine."
)


def can_enter(instance: SurveyInstance, now: datetime) -> bool:
    """Answers may be entered once a survey has opened, and corrected once it is answered;
    not while it is planned or once it is cancelled."""
    if instance.status in ENTERABLE or is_correction(instance):
        return True
    return instance.status == InstanceStatus.SCHEDULED and instance.opens_at <= now


def is_correction(instance: SurveyInstance) -> bool:
    """Whether entering answers now corrects a completed survey."""
    return instance.status == InstanceStatus.COMPLETED


def prefixed(instrument_id: str) -> str:
    return f"{instrument_id}."


def _subform(form: dict[str, list[str]], instrument_id: str) -> dict[str, list[str]]:
    prefix = prefixed(instrument_id)
    return {k[len(prefix) :]: v for k, v in form.items() if k.startswith(prefix)}


def _started(subform: dict[str, list[str]]) -> bool:
    """Whether any question was answered (a medicine's unit and pattern always have values)."""
    return any(
        value.strip()
        for name, values in subform.items()
        if not name.endswith(("-unit", "-pattern"))
        for value in values
    )


def none_field(item_id: str) -> str:
    """The name (within its questionnaire) of a medicines list's "takes none" tick."""
    return f"{item_id}-{NONE_TAKEN}"


def _ticked(subform: dict[str, list[str]], item_id: str) -> bool:
    return any(value.strip() for value in subform.get(none_field(item_id), []))


def _none_conflicts(page: SurveyPage, subform: dict[str, list[str]]) -> dict[str, str]:
    """A message per medicines list ticked "takes none" with a medicine filled in too."""
    errors = {}
    for item in page.items:
        if item.type != ItemType.MEDICATION_LIST or not _ticked(subform, item.id):
            continue
        if any(not blank_row(row) for row in medicine_rows(item, subform)):
            errors[none_field(item.id)] = NONE_CONFLICT
    return errors


def _unasked_medicines_left_out(page: SurveyPage, subform, found: dict[str, Any]) -> None:
    """Blank medicine rows without the "takes none" tick were not asked: unlike the
    patient's own form, where a blank list is their answer "none", they record nothing,
    even when another question of the questionnaire was answered."""
    for item in page.items:
        blank = item.type == ItemType.MEDICATION_LIST and found.get(item.id) == []
        if blank and not _ticked(subform, item.id):
            del found[item.id]


def read_entry(
    instance: SurveyInstance,
    form: dict[str, list[str]],
    saved: dict[str, dict],
    *,
    pages: list[SurveyPage] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Validated answers by instrument, and errors keyed by prefixed field name.

    No answers at all is an error too: there is nothing to save.
    """
    answers: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for page in pages if pages is not None else survey_pages(instance.instruments):
        instrument_id = page.instrument.id
        subform = _subform(form, instrument_id)
        if not _started(subform):  # a "takes none" tick counts as started
            continue
        known = {**saved.get(instrument_id, {}), **answers.get(instrument_id, {})}
        found, problems = read_page(page, subform, known)
        problems.update(_none_conflicts(page, subform))
        _unasked_medicines_left_out(page, subform, found)
        answers.setdefault(instrument_id, {}).update(found)
        errors.update({prefixed(instrument_id) + k: v for k, v in problems.items()})
    if not any(answers.values()) and not errors:
        errors[""] = "Enter the answers the patient gave before saving."
    return answers, errors


def entry_medicine_rows(
    pages: list[SurveyPage], values: dict[str, dict], form: dict[str, list[str]] | None
) -> dict[str, list[dict[str, str]]]:
    """The medicine rows of the form: as typed after an error, else as saved, padded."""
    rows: dict[str, list[dict[str, str]]] = {}
    for page in pages:
        for item in page.items:
            if item.type != "medication_list":
                continue
            key = prefixed(page.instrument.id) + item.id
            typed = medicine_rows(item, _subform(form, page.instrument.id)) if form else []
            found = typed or rows_from_answer(values.get(page.instrument.id, {}).get(item.id))
            rows[key] = found + [{}] * max(MEDICATION_ROWS - len(found), 0)
    return rows


def entry_none_ticks(
    pages: list[SurveyPage], values: dict[str, dict], form: dict[str, list[str]] | None
) -> dict[str, bool]:
    """Each medicines list's "takes none" tick: as sent after an error, else whether "none"
    is the saved answer (never ticked for a list not yet answered)."""
    ticks: dict[str, bool] = {}
    for page in pages:
        for item in page.items:
            if item.type != ItemType.MEDICATION_LIST:
                continue
            instrument_id = page.instrument.id
            if form is not None:
                ticked = _ticked(_subform(form, instrument_id), item.id)
            else:
                ticked = values.get(instrument_id, {}).get(item.id) == []
            ticks[prefixed(instrument_id) + item.id] = ticked
    return ticks


SEEN_FIELD = "answers_seen"  # the form's hidden field holding ``answers_version``
STALE_FORM = (
    "Answers for this timepoint were saved while this form was open (shown above the form). "
    "Nothing you entered has been saved: check them against what the patient told you, "
    "then save again."
)
COMPLETED_MEANWHILE = (
    "The patient finished this survey while this form was open. Nothing you entered has "
    "been saved: check the answers shown against what the patient told you, then save again."
)


def stale_form_message(instance: SurveyInstance, meanwhile: list) -> str:
    """Why a save from a form opened on other answers was refused: what was saved
    meanwhile is shown above the form, or the patient finished with nothing new to show."""
    finished = not meanwhile and instance.status == InstanceStatus.COMPLETED
    return COMPLETED_MEANWHILE if finished else STALE_FORM


def closed_meanwhile_message(instance: SurveyInstance, patient: Patient) -> str:
    """Why answers posted from an entry form were not saved: the survey can no longer
    take them (follow-up paused or stopped, the survey cancelled or planned again)."""
    kept = "Nothing was saved; your answers are kept below."
    if instance.status == InstanceStatus.CANCELLED and patient.status != FollowUpStatus.ACTIVE:
        return (
            f"Follow-up was {patient.status} while this form was open, so "
            f"{instance.timepoint} is cancelled. {kept} To save them, resume or restart "
            "follow-up (in another tab), then save this form again."
        )
    return f"{instance.timepoint} is {instance.status}: answers cannot be entered. {kept}"


SAVED_BY = {
    AnswerChannel.WEB: "by the patient, on the web",
    AnswerChannel.SMS: "by the patient, by text",
    AnswerChannel.NURSE: "by a nurse",
}


def answers_version(instance: SurveyInstance, current: dict[str, Response]) -> str:
    """What an entry form is opened on, carried in the form: whether the survey is
    completed and its current answer rows (a save anywhere makes a new row). Its window
    closing meanwhile changes nothing a nurse enters."""
    rows = ",".join(str(current[instrument_id].id) for instrument_id in sorted(current))
    completed = instance.status == InstanceStatus.COMPLETED
    return f"{'completed' if completed else 'open'}:{rows}"


@dataclass(frozen=True)
class SavedMeanwhile:
    """A questionnaire answered or changed after the entry form was opened."""

    title: str
    saved_by: str
    at: datetime
    lines: list


def saved_meanwhile(
    pages: list[SurveyPage], current: dict[str, Response], seen: str
) -> list[SavedMeanwhile]:
    """The questionnaires saved since the form showing ``seen`` was opened, in words."""
    known = set(seen.partition(":")[2].split(","))
    found = []
    for instrument_id, row in current.items():
        if str(row.id) in known:
            continue
        lines = [
            line
            for page in pages
            if page.instrument.id == instrument_id
            for line in page_answers(page, row.answers)
        ]
        title = next(p.instrument.title for p in pages if p.instrument.id == instrument_id)
        saved_by = SAVED_BY.get(row.channel, row.channel)
        found.append(SavedMeanwhile(title, saved_by, row.created_at, lines))
    return found


def save_entry(
    session: Session,
    instance: SurveyInstance,
    answers: dict[str, dict[str, Any]],
    *,
    user_id: int,
    now: datetime,
) -> list[str]:
    """Save validated answers as nurse-entered and complete the survey (or, for a completed
    one, correct it: see the module's docstring).

    Returns the questionnaires left unanswered, or for a correction those changed.
    """
    if is_correction(instance):
        return _correct(session, instance, answers, user_id=user_id, now=now)
    if instance.status == InstanceStatus.SCHEDULED:
        instance.status = InstanceStatus.SENT  # opened by the nurse's call
    # What the patient already answered, unchanged, stays theirs (web or text).
    changes = _new_or_changed(current_responses(session, instance.id), answers)
    _save_as_nurse(session, instance, changes, user_id=user_id, now=now)
    session.flush()
    answered = current_responses(session, instance.id)
    complete(session, instance, now=now)
    return [i for i in instance.instruments if i not in answered]


def _new_or_changed(saved: dict, answers: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """The questionnaires whose answers are new or differ from those saved."""
    return {
        instrument_id: values
        for instrument_id, values in answers.items()
        if instrument_id not in saved
        or {**saved[instrument_id].answers, **values} != saved[instrument_id].answers
    }


def _save_as_nurse(
    session: Session,
    instance: SurveyInstance,
    answers: dict[str, dict[str, Any]],
    *,
    user_id: int,
    now: datetime,
) -> list[str]:
    """Save each questionnaire given answers as nurse-entered; return those saved."""
    given = [instrument_id for instrument_id, values in answers.items() if values]
    for instrument_id in given:
        save_answers(
            session,
            instance,
            instrument_id,
            answers[instrument_id],
            channel=AnswerChannel.NURSE,
            now=now,
            user_id=user_id,
        )
    return given


def _correct(
    session: Session,
    instance: SurveyInstance,
    answers: dict[str, dict[str, Any]],
    *,
    user_id: int,
    now: datetime,
) -> list[str]:
    answered_by = instance.answer_channel
    changes = _new_or_changed(current_responses(session, instance.id), answers)
    changed = _save_as_nurse(session, instance, changes, user_id=user_id, now=now)
    if changed:
        instance.answer_channel = answered_by  # who answered the survey; the rows say who corrected
        session.add(
            PatientEvent(
                patient_id=instance.patient_id,
                kind="answers_corrected",
                detail={"timepoint": instance.timepoint, "questionnaires": changed},
                user_id=user_id,
                at=now,
            )
        )
        session.flush()
        evaluate_worsening(session, instance, now=now)
    return changed
