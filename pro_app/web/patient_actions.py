"""Nurse actions on one patient: resend a link, switch channel, pause or resume, correct
the mobile number, record a safety event, enter answers taken by phone.

Every route finds the patient through ``patient_for`` (404 outside the nurse's site) and
the survey through the patient, so nothing of another site can be touched.
"""

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional

from ..accounts.access import patient_for, roles_required
from ..followup.answer_saving import current_responses
from ..followup.survey_pages import display_value, survey_pages, timepoint_place
from ..models import (
    SAFETY_EVENT_LABELS,
    ContactChannel,
    Procedure,
    Role,
    SafetyEventKind,
    SurveyInstance,
    utcnow,
)
from ..nurse.actions import (
    ActionRefused,
    correct_mobile,
    pause,
    record_safety_event,
    resend_link,
    resume,
    switch_channel,
)
from ..nurse.phone_entry import (
    can_enter,
    entry_medicine_rows,
    prefixed,
    read_entry,
    save_entry,
)
from ..storage import database
from .forms import options

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
    mobile = StringField("Mobile number", validators=[DataRequired()])


class PauseForm(FlaskForm):
    reason = StringField("Why pause", validators=[DataRequired()])


class SafetyEventForm(FlaskForm):
    kind = SelectField(
        "Event",
        choices=options((kind.value, SAFETY_EVENT_LABELS[kind]) for kind in SafetyEventKind),
    )
    symptomatic = SelectField(
        "Symptomatic (cement leakage)",
        choices=options([("", "Not applicable"), ("yes", "Symptomatic"), ("no", "Asymptomatic")]),
        validators=[Optional()],
    )
    grade = SelectField("Grade (CTCAE)", choices=options(GRADES))
    event_date = DateField("Date of the event", validators=[InputRequired()])
    notes = TextAreaField("Notes (kept in the record, never exported)")


class ConfirmForm(FlaskForm):
    """A button that needs only the CSRF token."""


def action_forms(patient) -> dict:
    """The empty forms the patient page renders."""
    return {
        "channel_form": ChannelForm(channel=patient.channel),
        "mobile_form": MobileForm(),
        "pause_form": PauseForm(),
        "safety_form": SafetyEventForm(),
        "confirm_form": ConfirmForm(),
    }


def _back(patient_id: int):
    return redirect(url_for("patients.detail", patient_id=patient_id))


def _instance(session, patient, instance_id: int) -> SurveyInstance:
    instance = session.get(SurveyInstance, instance_id)
    if instance is None or instance.patient_id != patient.id:
        abort(404)
    return instance


def perform(patient, form: FlaskForm, act: Callable[[], object], done: Callable[[object], str]):
    """Validate ``form``, run ``act``, commit and flash ``done(result)``; a refusal or an
    invalid form is flashed instead and nothing is kept. Back to the patient page."""
    session = database.session()
    if not form.validate_on_submit():
        flash("Check the form: " + _form_errors(form), "error")
        return _back(patient.id)
    try:
        result = act()
    except ActionRefused as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash(done(result), "info")
    return _back(patient.id)


def _form_errors(form: FlaskForm) -> str:
    return "; ".join(f"{form[name].label.text}: {', '.join(e)}" for name, e in form.errors.items())


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
        lambda _: "Channel changed; it applies from the next survey.",
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
            session, patient, form.mobile.data, user_id=current_user.id, now=utcnow()
        ),
        lambda _: "Mobile number updated.",
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
    )


@bp.post("/<int:patient_id>/resume")
@roles_required(Role.NURSE)
def resume_follow_up(patient_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    return perform(
        patient,
        ConfirmForm(),
        lambda: resume(session, patient, user_id=current_user.id, now=utcnow()),
        lambda count: f"Follow-up resumed; {count} surveys still open or to come are planned.",
    )


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
        lambda _: "Safety event recorded.",
    )


@bp.route("/<int:patient_id>/surveys/<int:instance_id>/enter", methods=["GET", "POST"])
@roles_required(Role.NURSE)
def enter_answers(patient_id: int, instance_id: int):
    session = database.session()
    patient = patient_for(session, current_user, patient_id)
    instance = _instance(session, patient, instance_id)
    now = utcnow()
    if not can_enter(instance, now):
        flash(f"{instance.timepoint} is {instance.status}: answers cannot be entered.", "error")
        return _back(patient.id)
    saved = {k: r.answers for k, r in current_responses(session, instance.id).items()}
    errors: dict[str, str] = {}
    values = saved
    form = ConfirmForm()
    procedure = session.get(Procedure, instance.procedure_id)
    baseline = timepoint_place(procedure.protocol_id, instance.timepoint).is_baseline
    pages = survey_pages(instance.instruments, baseline=baseline)
    typed = None
    if request.method == "POST" and form.validate_on_submit():
        typed = request.form.to_dict(flat=False)
        answers, errors = read_entry(instance, typed, saved, pages=pages)
        if not errors:
            skipped = save_entry(session, instance, answers, user_id=current_user.id, now=now)
            session.commit()
            flash(
                f"Answers for {instance.timepoint} saved as taken by phone"
                + (f"; not asked: {', '.join(skipped)}." if skipped else "."),
                "info",
            )
            return _back(patient.id)
        values = {k: {**saved.get(k, {}), **v} for k, v in answers.items()}
    status = 422 if errors else 200
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
        ),
        status,
    )
