"""Nurse actions on one patient: act on alerts, resend a link, switch channel, pause or
resume, stop or restart, correct the mobile number, record a safety event, enter answers
taken by phone.

Every route finds the patient through ``patient_for`` (404 outside the nurse's site) and
the survey through the patient, so nothing of another site can be touched.
"""

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from surveys import get_instrument

from ..accounts.access import log_access, patient_for, roles_required
from ..enrolment import shared_number_note
from ..followup.answer_saving import current_responses, lock_answers
from ..followup.survey_pages import display_value, survey_pages, timepoint_place
from ..local_time import in_zone
from ..messaging import opt_out
from ..models import (
    SAFETY_EVENT_LABELS,
    Alert,
    ContactChannel,
    FollowUpStatus,
    Procedure,
    Role,
    SafetyEventKind,
    SurveyInstance,
    utcnow,
)
from ..nurse.actions import (
    ALERT_ACTION_LABELS,
    ALERT_ACTIONS,
    FATAL_GRADE,
    NOT_REACHED,
    RETRY_CHOICES,
    STOP_REASONS,
    ActionRefused,
    act_on_alerts,
    correct_mobile,
    pause,
    record_safety_event,
    resend_link,
    restart,
    resume,
    stop,
    switch_channel,
)
from ..nurse.actions import withdraw_safety_event as withdraw_event
from ..nurse.patient_record import gather
from ..nurse.phone_entry import (
    SEEN_FIELD,
    answers_version,
    can_enter,
    closed_meanwhile_message,
    entry_medicine_rows,
    entry_none_ticks,
    is_correction,
    none_field,
    prefixed,
    read_entry,
    save_entry,
    saved_meanwhile,
    stale_form_message,
)
from ..storage import database
from .forms import options, required_options
from .local_time import staff_zone

bp = Blueprint("patient_actions", __name__, url_prefix="/patients")

CHANNELS = (
    (ContactChannel.LINK.value, "Text with a web link"),
    (ContactChannel.SMS.value, "Questions by text, answered by reply"),
)
GRADES = (
    ("1", "1: mild, no intervention"),
    ("2", "2: moderate, minimal intervention"),
    ("3", "3: severe, needs hospital care"),
    ("4", "4: life-threatening"),
    ("5", "5: death"),
)


class ChannelForm(FlaskForm):
    channel = SelectField("Ask by", choices=options(CHANNELS))


class MobileForm(FlaskForm):
    mobile = StringField("Mobile number", validators=[DataRequired(), Length(max=40)])


class PauseForm(FlaskForm):
    reason = StringField("Why pause", validators=[DataRequired(), Length(max=200)])


class SafetyEventForm(FlaskForm):
    kind = SelectField(
        "Event",
        choices=required_options(
            (kind.value, SAFETY_EVENT_LABELS[kind]) for kind in SafetyEventKind
        ),
        validators=[InputRequired("Choose the event.")],
    )
    symptomatic = SelectField(
        "Symptomatic (cement leakage)",
        choices=options([("", "Not applicable"), ("yes", "Symptomatic"), ("no", "Asymptomatic")]),
        validators=[Optional()],
    )
    grade = SelectField(
        "Grade (CTCAE)",
        choices=required_options(GRADES),
        validators=[InputRequired("Choose the grade.")],
    )
    event_date = DateField("Date of the event", validators=[InputRequired()])
    notes = TextAreaField(
        "Notes (kept in the record, never exported)", validators=[Length(max=2000)]
    )


class ConfirmForm(FlaskForm):
    """A button that needs only the CSRF token."""


class WithdrawSafetyEventForm(FlaskForm):
    reason = StringField(
        "Why it was recorded in error",
        validators=[DataRequired("Say why the event was recorded in error."), Length(max=200)],
    )


class ProcedureDateForm(FlaskForm):
    procedure_date = DateField("New procedure date", validators=[InputRequired()])


class StopForm(FlaskForm):
    reason = SelectField(
        "Why",
        id="stop-reason",
        choices=required_options(STOP_REASONS),
        validators=[InputRequired("Choose why follow-up stops.")],
    )
    note = StringField(
        "Note (needed for another reason)", id="stop-note", validators=[Length(max=150)]
    )
    confirm = BooleanField(
        "Stop follow-up now: the surveys still to come are cancelled and no more texts are sent",
        id="stop-confirm",
        validators=[DataRequired("Tick the box to confirm that follow-up stops.")],
    )

    def validate_note(self, field) -> None:
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError("Say why follow-up stops.")


class RestartForm(FlaskForm):
    reason = StringField(
        "Why restart",
        id="restart-reason",
        validators=[DataRequired("Say why follow-up restarts."), Length(max=200)],
    )


class AcknowledgeForm(FlaskForm):
    """One action recorded on each ticked open alert of the patient."""

    alert_ids = SelectMultipleField(
        "Alerts", coerce=int, validators=[DataRequired("Tick the alerts this action answers.")]
    )
    action = SelectField(
        "Action taken",
        id="ack-action",
        choices=required_options(
            (kind.code, f"{kind.label} (give the reason)" if kind.needs_note else kind.label)
            for kind in ALERT_ACTIONS
        ),
        validators=[InputRequired("Choose the action taken.")],
    )
    note = StringField(
        "Note (the reason, if no action is needed)", id="ack-note", validators=[Length(max=1000)]
    )
    retry_hours = SelectField(
        "If not reached, try again",
        id="ack-retry",
        choices=required_options((str(hours), label) for hours, label in RETRY_CHOICES),
        validate_choice=False,  # checked below: needed only when the patient was not reached
    )

    def validate_note(self, field) -> None:
        needs_note = {kind.code for kind in ALERT_ACTIONS if kind.needs_note}
        if self.action.data in needs_note and not (field.data or "").strip():
            raise ValidationError("Say why no action is needed.")

    def validate_retry_hours(self, field) -> None:
        if field.data and field.data not in {str(hours) for hours, _ in RETRY_CHOICES}:
            raise ValidationError("Choose when to try again from the list.")
        if self.action.data == NOT_REACHED and not field.data:
            raise ValidationError("Choose when to try again.")


def acknowledge_form(session, patient, formdata=None) -> AcknowledgeForm:
    """The acknowledgement form offering the patient's open alerts (none ticked); empty
    unless ``formdata`` is given. A form sent back may tick any of the patient's alerts: one
    a colleague acknowledged since the page was drawn is left as it is and the nurse told
    (``act_on_alerts``), not refused as an unknown choice."""
    form = AcknowledgeForm(formdata=formdata)
    offered = select(Alert).where(Alert.patient_id == patient.id)
    if formdata is None:
        offered = offered.where(Alert.acknowledged_at.is_(None))
    form.alert_ids.choices = [(alert.id, alert.summary) for alert in session.exec(offered)]
    return form


def action_forms(session, patient, procedure) -> dict:
    """The empty forms the patient page renders (never filled from a refused request's
    fields, which another form may share by name)."""
    return {
        "channel_form": ChannelForm(formdata=None, channel=patient.channel),
        "mobile_form": MobileForm(formdata=None),
        "pause_form": PauseForm(formdata=None),
        "safety_form": SafetyEventForm(formdata=None),
        "withdraw_form": WithdrawSafetyEventForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        "date_form": ProcedureDateForm(
            formdata=None, procedure_date=procedure.procedure_date if procedure else None
        ),
        "stop_form": StopForm(formdata=None),
        "restart_form": RestartForm(formdata=None),
        "ack_form": acknowledge_form(session, patient),
    }


def record_page(patient, *, status: int = 200, **forms: FlaskForm):
    """The nurse's patient page; ``forms`` replace the empty ones (a refused form is shown
    again with what was typed and its errors next to the fields)."""
    session = database.session()
    procedure = session.exec(select(Procedure).where(Procedure.patient_id == patient.id)).first()
    now = utcnow()
    return (
        render_template(
            "patients/detail.html",
            patient=patient,
            procedure=procedure,
            record=gather(session, patient, procedure, now=now, zone=staff_zone()),
            now=now,
            today=in_zone(now, staff_zone()).date(),
            actions=ALERT_ACTION_LABELS,
            safety_labels=SAFETY_EVENT_LABELS,
            can_enter=can_enter,
            **{**action_forms(session, patient, procedure), **forms},
        ),
        status,
    )


def _back(patient_id: int):
    return redirect(url_for("patients.detail", patient_id=patient_id))


def _instance(session, patient, instance_id: int) -> SurveyInstance:
    instance = session.get(SurveyInstance, instance_id)
    if instance is None or instance.patient_id != patient.id:
        abort(404)
    return instance


def perform(
    patient,
    form: FlaskForm,
    act: Callable[[], object],
    done: Callable[[object], str],
    *,
    slot: str | None = None,
):
    """Validate ``form``, run ``act``, commit and flash ``done(result)``, back to the page.

    An invalid form, or one the action refuses, gets a 422: the page again, with the form
    (as ``slot`` of the page's forms) showing what was typed, and the reason. Without a
    ``slot`` the reason is flashed on the page. Either way nothing is kept.
    """
    session = database.session()
    if not form.validate_on_submit():
        session.rollback()
        flash("Check the form: " + _form_errors(form), "error")
        if slot is None:
            return _back(patient.id)
        return record_page(patient, status=422, **{slot: form})
    try:
        result = act()
    except ActionRefused as exc:
        session.rollback()
        flash(str(exc), "error")
        if slot is not None:
            form.form_errors.append(str(exc))  # keeps the form's section open
            return record_page(patient, status=422, **{slot: form})
    else:
        session.commit()
        flash(done(result), "info")
    return _back(patient.id)


def _form_errors(form: FlaskForm) -> str:
    return "; ".join(
        f"{form[name].label.text}: {', '.join(map(str, e))}" for name, e in form.errors.items()
    )


@bp.post("/<int:patient_id>/surveys/<int:instance_id>/resend")
@roles_required(Role.NURSE)
def resend(patient_id: int, instance_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    instance = _instance(session, patient, instance_id)
    return perform(
        patient,
        ConfirmForm(),
        lambda: resend_link(
            session,
            patient,
            instance,
            secret_key=current_app.config["SECRET_KEY"],
            user_id=current_user.id,
            now=utcnow(),
        ),
        lambda _: (
            f"A new link for {instance.timepoint} is on its way; the old one no longer works."
        ),
    )


@bp.post("/<int:patient_id>/channel")
@roles_required(Role.NURSE)
def change_channel(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = ChannelForm()
    return perform(
        patient,
        form,
        lambda: switch_channel(
            session, patient, form.channel.data, user_id=current_user.id, now=utcnow()
        ),
        lambda changed: (
            "Channel changed; it applies from the next survey."
            if changed
            else "Nothing changed: the patient is already asked this way."
        ),
        slot="channel_form",
    )


@bp.post("/<int:patient_id>/mobile")
@roles_required(Role.NURSE)
def change_mobile(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = MobileForm()
    return perform(
        patient,
        form,
        lambda: correct_mobile(
            session,
            patient,
            form.mobile.data,
            secret_key=current_app.config["SECRET_KEY"],
            user_id=current_user.id,
            now=utcnow(),
        ),
        lambda correction: " ".join(
            filter(
                None,
                [
                    "Mobile number updated."
                    if correction.changed
                    else "Nothing changed: this is the mobile number already kept.",
                    f"A fresh link for {', '.join(correction.relinked)} goes to it."
                    if correction.relinked
                    else None,
                    opt_out.mobile_note(
                        patient, correction.opted_out_with_number, correction.opt_out_lifted
                    ),
                    shared_number_note(session, patient),
                ],
            )
        ),
        slot="mobile_form",
    )


@bp.post("/<int:patient_id>/pause")
@roles_required(Role.NURSE)
def pause_follow_up(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = PauseForm()
    return perform(
        patient,
        form,
        lambda: pause(
            session, patient, form.reason.data.strip()[:200], user_id=current_user.id, now=utcnow()
        ),
        lambda _: "Follow-up paused: no texts until you resume it.",
        slot="pause_form",
    )


@bp.post("/<int:patient_id>/resume")
@roles_required(Role.NURSE)
def resume_follow_up(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    return perform(
        patient,
        ConfirmForm(),
        lambda: resume(
            session,
            patient,
            secret_key=current_app.config["SECRET_KEY"],
            user_id=current_user.id,
            now=utcnow(),
        ),
        lambda result: (
            f"Follow-up resumed; {len(result.reopened)} surveys still open or to come are "
            f"planned.{_closed_meanwhile(result)}"
        ),
    )


def _closed_meanwhile(result) -> str:
    """The timepoints a pause or stop cancelled whose window has closed since, by name."""
    if not result.closed:
        return ""
    names = ", ".join(i.timepoint.replace("_", " ") for i in result.closed)
    return f" Their window has closed, so these stay cancelled: {names}."


@bp.post("/<int:patient_id>/safety-events")
@roles_required(Role.NURSE)
def add_safety_event(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    procedure = session.exec(select(Procedure).where(Procedure.patient_id == patient.id)).one()
    form = SafetyEventForm()
    return perform(
        patient,
        form,
        lambda: record_safety_event(
            session,
            patient,
            procedure,
            kind=form.kind.data,
            grade=int(form.grade.data),
            event_date=form.event_date.data,
            symptomatic={"yes": True, "no": False}.get(form.symptomatic.data or ""),
            notes=form.notes.data,
            user_id=current_user.id,
            now=utcnow(),
        ),
        lambda event: (
            "Safety event recorded."
            + (
                " Follow-up has stopped (the patient has died), so nothing more is texted; "
                "if the grade was recorded in error, mark the event so and restart follow-up "
                "from this page."
                if event.grade == FATAL_GRADE
                else ""
            )
        ),
        slot="safety_form",
    )


@bp.post("/<int:patient_id>/safety-events/<int:event_id>/withdraw")
@roles_required(Role.NURSE)
def withdraw_safety_event(patient_id: int, event_id: int):
    """Mark a safety event recorded in error (kept, struck through, out of the audit)."""
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = WithdrawSafetyEventForm()
    return perform(
        patient,
        form,
        lambda: withdraw_event(
            session, patient, event_id, form.reason.data, user_id=current_user.id, now=utcnow()
        ),
        lambda event: (
            "Safety event marked as recorded in error; it is left out of the audit."
            + (
                " Follow-up stopped when it was recorded: restart it from this page if the "
                "patient is alive."
                if event.grade == FATAL_GRADE and patient.status == FollowUpStatus.STOPPED
                else ""
            )
        ),
    )


@bp.route("/<int:patient_id>/surveys/<int:instance_id>/enter", methods=["GET", "POST"])
@roles_required(Role.NURSE)
def enter_answers(patient_id: int, instance_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    instance = _instance(session, patient, instance_id)
    now = utcnow()
    closed = not can_enter(instance, now)
    if closed and request.method != "POST":
        flash(f"{instance.timepoint} is {instance.status}: answers cannot be entered.", "error")
        return _back(patient.id)
    errors: dict[str, str] = {}
    meanwhile: list = []
    stale = False  # saved meanwhile (the patient, another nurse): never overwritten
    form = ConfirmForm()
    procedure = session.get(Procedure, instance.procedure_id)
    baseline = timepoint_place(procedure.protocol_id, instance.timepoint).is_baseline
    pages = survey_pages(instance.instruments, baseline=baseline)
    typed = None
    posted = request.method == "POST" and form.validate_on_submit()
    # A save locks the survey first (saves by web, text and phone queue there), so what it
    # compares with the form below is what it would change.
    current = lock_answers(session, instance) if posted else current_responses(session, instance.id)
    if posted:  # judged again under the lock: a pause or stop may have gone in meanwhile
        closed = not can_enter(instance, now)
        if closed:
            session.refresh(patient)  # to say why
    saved = values = {k: r.answers for k, r in current.items()}
    version = answers_version(instance, current)
    if posted:
        typed = request.form.to_dict(flat=False)
        answers, errors = read_entry(instance, typed, saved, pages=pages)
        seen = request.form.get(SEEN_FIELD, "")
        stale = seen != version
        if stale:
            meanwhile = saved_meanwhile(pages, current, seen)
            errors[""] = stale_form_message(instance, meanwhile)
        if closed:  # paused or stopped while the form was open: what was typed is kept
            errors[""] = closed_meanwhile_message(instance, patient)
        if not errors:
            correcting = is_correction(instance)
            listed = save_entry(session, instance, answers, user_id=current_user.id, now=now)
            session.commit()
            flash(_entry_saved(instance.timepoint, listed, correcting=correcting), "info")
            return _back(patient.id)
        session.rollback()  # nothing saved; the lock goes
        values = {k: {**saved.get(k, {}), **v} for k, v in answers.items()}
    status = 409 if stale or closed else 422 if errors else 200
    return (
        render_template(
            "patients/enter.html",
            patient=patient,
            instance=instance,
            pages=pages,
            values=values,
            errors=errors,
            prefixed=prefixed,
            form=form,
            display=display_value,
            medicines=entry_medicine_rows(pages, values, typed),
            none_ticks=entry_none_ticks(pages, values, typed),
            none_field=none_field,
            seen_field=SEEN_FIELD,
            version=version,
            meanwhile=meanwhile,
        ),
        status,
    )


def _entry_saved(timepoint: str, listed: list[str], *, correcting: bool) -> str:
    names = ", ".join(get_instrument(instrument_id).title for instrument_id in listed)
    if correcting:
        if not listed:
            return f"No answer for {timepoint} changed: nothing was saved."
        return f"Answers for {timepoint} corrected ({names}); it stays completed."
    return f"Answers for {timepoint} saved as taken by phone" + (
        f"; not asked: {names}." if listed else "."
    )


@bp.post("/<int:patient_id>/alerts/acknowledge")
@roles_required(Role.NURSE)
def acknowledge(patient_id: int):
    """One action on each ticked open alert of the patient, each recorded separately."""
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    return _acknowledge(session, patient, acknowledge_form(session, patient, request.form))


@bp.post("/<int:patient_id>/alerts/<int:alert_id>/acknowledge")
@roles_required(Role.NURSE)
def acknowledge_one(patient_id: int, alert_id: int):
    """One alert named in the address (the form needs no ticks)."""
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    alert = session.get(Alert, alert_id)
    if alert is None or alert.patient_id != patient.id:
        abort(404)
    form = acknowledge_form(session, patient, request.form)
    form.alert_ids.data = [alert.id]
    return _acknowledge(session, patient, form)


def _acknowledge(session, patient, form: AcknowledgeForm):
    def act():
        return act_on_alerts(
            session,
            patient,
            form.alert_ids.data,
            action=form.action.data,
            note=form.note.data,
            retry_hours=int(form.retry_hours.data) if form.retry_hours.data else None,
            user_id=current_user.id,
            now=utcnow(),
        )

    def done(result) -> str:
        label = ALERT_ACTION_LABELS[form.action.data]
        acted = result.acted
        meanwhile = len(set(form.alert_ids.data)) - len(acted) - len(result.repeated)
        kept = "your action and note are added to their history" if result.added else ""
        left = (
            f" {meanwhile} ticked had been acknowledged meanwhile by a colleague: "
            f"{kept or 'left as they were'}."
            if meanwhile
            else ""
        )
        if result.repeated:
            left += (
                f" {len(result.repeated)} had just had this action and note from you "
                "(the form sent twice): not recorded again."
            )
        if form.action.data == NOT_REACHED:
            return f"{label}: {len(acted)} alert(s) stay open with a time to try again.{left}"
        return f"{len(acted)} alert(s) acknowledged: {label}.{left}"

    return perform(patient, form, act, done, slot="ack_form")


@bp.post("/<int:patient_id>/stop")
@roles_required(Role.NURSE)
def stop_follow_up(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = StopForm()

    def act() -> int:
        cancelled = stop(
            session,
            patient,
            form.reason.data,
            form.note.data,
            user_id=current_user.id,
            now=utcnow(),
        )
        log_access(session, current_user, "stop_follow_up", patient.id, patient.status_reason)
        return cancelled

    return perform(
        patient,
        form,
        act,
        lambda cancelled: (
            f"Follow-up stopped; {cancelled} surveys cancelled and no more texts will be sent. "
            "Restart follow-up below if this was a mistake."
        ),
        slot="stop_form",
    )


@bp.post("/<int:patient_id>/restart")
@roles_required(Role.NURSE)
def restart_follow_up(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    form = RestartForm()

    def act():
        result = restart(
            session,
            patient,
            form.reason.data,
            secret_key=current_app.config["SECRET_KEY"],
            user_id=current_user.id,
            now=utcnow(),
        )
        log_access(session, current_user, "restart_follow_up", patient.id, form.reason.data[:500])
        return result

    def done(result) -> str:
        text = (
            f"Follow-up restarted; {len(result.reopened)} surveys whose window is still open "
            "are planned again."
        )
        text += _closed_meanwhile(result)
        if not patient.textable:
            text += " Texts cannot reach this patient (opted out or a number problem): call."
        return text

    return perform(patient, form, act, done, slot="restart_form")
