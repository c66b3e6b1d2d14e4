"""Admins manage sites and staff accounts."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange

from surveys import all_instruments

from ..accounts.access import roles_required
from ..accounts.passwords import MIN_LENGTH
from ..accounts.users import UserError, create_user
from ..enrolment import normalise_on_call_phone
from ..models import Role, Site, User
from ..storage import database
from .forms import options

bp = Blueprint("admin", __name__, url_prefix="/admin")


class SiteForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)])
    name = StringField("Team name, as patients know it", validators=[DataRequired()])
    team_phone = StringField("Team phone number shown to patients", validators=[DataRequired()])
    on_call_phone = StringField("On-call mobile for urgent alerts (optional)")
    timezone = StringField("Time zone", default="Europe/London", validators=[DataRequired()])
    omed_table = SelectField(
        "Opioid conversion table",
        choices=options([("opioids_aware", "Opioids Aware (UK)"), ("cdc_2022", "CDC 2022")]),
    )
    alert_target_hours = IntegerField(
        "Hours to act on an alert", default=72, validators=[NumberRange(1, 720)]
    )
    min_cell_count = IntegerField(
        "Smallest count shown in exports", default=5, validators=[NumberRange(1, 100)]
    )


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    name = StringField("Name", validators=[DataRequired()])
    role = SelectField("Role", choices=options((r.value, r.value.capitalize()) for r in Role))
    site_code = SelectField("Site (none: registry-wide, for auditors and admins)")
    password = PasswordField(
        f"Initial password (at least {MIN_LENGTH} characters)",
        validators=[DataRequired(), Length(min=MIN_LENGTH)],
    )


def _site_choices() -> list:
    sites = database.session().exec(select(Site).order_by(Site.code)).all()
    return options([("", "None")] + [(site.code, f"{site.code}: {site.name}") for site in sites])


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    session = database.session()
    sites = session.exec(select(Site).order_by(Site.code)).all()
    users = session.exec(select(User).order_by(User.email)).all()
    codes = {site.id: site.code for site in sites}
    user_form = UserForm()
    user_form.site_code.choices = _site_choices()
    return render_template(
        "admin/index.html",
        sites=sites,
        users=users,
        codes=codes,
        site_form=SiteForm(),
        user_form=user_form,
        instruments=list(all_instruments().values()),
    )


@bp.post("/sites")
@roles_required(Role.ADMIN)
def add_site():
    form = SiteForm()
    session = database.session()
    if form.validate_on_submit():
        try:
            on_call = normalise_on_call_phone(form.on_call_phone.data)
        except ValueError as exc:
            flash(str(exc), "error")
            return redirect(url_for("admin.index"))
        if session.exec(select(Site).where(Site.code == form.code.data.strip())).first():
            flash(f"A site with code {form.code.data} already exists.", "error")
        else:
            session.add(
                Site(
                    code=form.code.data.strip(),
                    name=form.name.data.strip(),
                    team_phone=form.team_phone.data.strip(),
                    on_call_phone=on_call,
                    timezone=form.timezone.data.strip(),
                    omed_table=form.omed_table.data,
                    alert_target_hours=form.alert_target_hours.data,
                    min_cell_count=form.min_cell_count.data,
                )
            )
            session.commit()
            flash(f"Added site {form.code.data}.", "info")
    else:
        flash(_errors(form), "error")
    return redirect(url_for("admin.index"))


@bp.post("/users")
@roles_required(Role.ADMIN)
def add_user():
    form = UserForm()
    form.site_code.choices = _site_choices()
    session = database.session()
    if form.validate_on_submit():
        try:
            create_user(
                session,
                email=form.email.data,
                name=form.name.data.strip(),
                password=form.password.data,
                role=form.role.data,
                site_code=form.site_code.data or None,
            )
        except (UserError, ValueError) as exc:
            session.rollback()
            flash(str(exc), "error")
        else:
            session.commit()
            flash(f"Added {form.role.data} {form.email.data}.", "info")
    else:
        flash(_errors(form), "error")
    return redirect(url_for("admin.index"))


@bp.post("/users/<int:user_id>/active")
@roles_required(Role.ADMIN)
def set_active(user_id: int):
    session = database.session()
    user = session.get(User, user_id)
    if user is None:
        return redirect(url_for("admin.index"))
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.index"))
    user.active = request.form.get("active") == "1"
    session.commit()
    flash(f"{user.email} is now {'active' if user.active else 'deactivated'}.", "info")
    return redirect(url_for("admin.index"))


def _errors(form: FlaskForm) -> str:
    parts = [f"{form[name].label.text}: {'; '.join(errs)}" for name, errs in form.errors.items()]
    return "Nothing was saved. " + " ".join(parts)
