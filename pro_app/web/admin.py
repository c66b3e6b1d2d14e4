"""Admins manage sites and staff accounts, within their scope (see ``access``).

A registry admin (no site) adds sites, changes any site's settings and manages every
account, including other registry admins. A site admin changes its own site's settings
and manages the accounts at its site; every other site and account answers 404.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    ValidationError,
)

from surveys import all_instruments, available_protocols

from ..accounts.access import is_registry_admin, managed_site, managed_user, roles_required
from ..accounts.passwords import MIN_LENGTH
from ..accounts.site_codes import check_site_code, site_with_code
from ..accounts.users import UserError, create_user, reset_password, set_active
from ..enrolment import check_team_phone, normalise_on_call_phone
from ..models import Role, Site, SiteAlert, User
from ..storage import database
from ..time_zones import is_time_zone, zone_choices, zone_label
from .forms import options

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _site_code(_form, field) -> None:
    try:
        check_site_code(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _known_timezone(_form, field) -> None:
    if not is_time_zone(field.data):
        raise ValidationError("Give a time zone such as Europe/London.")


def _team_phone(form, field) -> None:
    try:
        check_team_phone(field.data, form.phone_region)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _on_call_mobile(form, field) -> None:
    try:
        normalise_on_call_phone(field.data, form.phone_region)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class SiteSettingsForm(FlaskForm):
    """What a site's own admin may change."""

    phone_region = "GB"  # numbers without + are read in the site's region (``offer_choices``)

    name = StringField(
        "Team name, as patients know it", validators=[DataRequired(), Length(max=200)]
    )
    team_phone = StringField(
        "Team phone number shown to patients",
        validators=[DataRequired(), Length(max=32), _team_phone],
    )
    on_call_phone = StringField(
        "On-call mobile for urgent alerts (optional)",
        validators=[Length(max=32), _on_call_mobile],
    )
    timezone = SelectField(
        "Time zone",
        default="Europe/London",
        validate_choice=False,
        validators=[DataRequired(), _known_timezone],
        description="The zone of the team's patients: offered first when enrolling.",
    )
    protocol_id = SelectField(
        "Follow-up protocol",
        default="default",
        description="Patients enrolled from now on follow it; those enrolled keep theirs.",
    )
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

    def apply_to(self, site: Site) -> None:
        site.name = self.name.data.strip()
        site.team_phone = self.team_phone.data.strip()
        site.on_call_phone = normalise_on_call_phone(self.on_call_phone.data, self.phone_region)
        site.timezone = self.timezone.data.strip()
        site.protocol_id = self.protocol_id.data
        site.omed_table = self.omed_table.data
        site.alert_target_hours = self.alert_target_hours.data
        site.min_cell_count = self.min_cell_count.data

    def offer_choices(self, site: Site | None = None) -> "SiteSettingsForm":
        """The zones (the site's first) and the protocols that load, the site's kept."""
        if site is not None:
            self.phone_region = site.phone_region
        zone = self.timezone.data if self.is_submitted() else None
        zones = zone_choices(site.timezone if site else "Europe/London")
        if zone and is_time_zone(zone) and zone not in dict(zones):
            zones.insert(1, (zone, zone_label(zone)))
        self.timezone.choices = options(zones)
        protocols = available_protocols()
        if site is not None and site.protocol_id not in protocols:
            protocols[site.protocol_id] = "(its file is missing or does not validate)"
        self.protocol_id.choices = options(
            (name, f"{title} ({name})") for name, title in sorted(protocols.items())
        )
        return self


class SiteForm(SiteSettingsForm):
    """A new site (registry admins only)."""

    code = StringField(
        "Code",
        validators=[
            DataRequired(),
            Length(max=32),
            _site_code,
        ],
    )


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=options((r.value, r.value.capitalize()) for r in Role))
    site_code = SelectField("Site (none: registry-wide, for auditors and admins)")
    password = PasswordField(
        f"Initial password (at least {MIN_LENGTH} characters; they choose their own at first "
        "sign-in)",
        validators=[DataRequired(), Length(min=MIN_LENGTH, max=200)],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        f"Temporary password (at least {MIN_LENGTH} characters)",
        validators=[DataRequired(), Length(min=MIN_LENGTH, max=200)],
    )


def _sites() -> list[Site]:
    """The sites the signed-in admin manages."""
    statement = select(Site).order_by(Site.code)
    if not is_registry_admin(current_user):
        statement = statement.where(Site.id == current_user.site_id)
    return list(database.session().exec(statement).all())


def _user_form(**kwargs) -> UserForm:
    form = UserForm(**kwargs)
    sites = [(site.code, f"{site.code}: {site.name}") for site in _sites()]
    registry_wide = [("", "None")] if is_registry_admin(current_user) else []
    form.site_code.choices = options(registry_wide + sites)
    return form


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    return _admin_page()


def _admin_page(*, site_form: "SiteForm | None" = None, user_form: UserForm | None = None) -> str:
    """The sites, staff and site alerts the admin manages, with the two "add" forms (one
    refused comes back open, as typed, with what to fix)."""
    session = database.session()
    sites = _sites()
    statement = select(User).order_by(User.email)
    if not is_registry_admin(current_user):
        statement = statement.where(User.site_id == current_user.site_id)
    users = session.exec(statement).all()
    site_alerts = session.exec(
        select(SiteAlert)
        .where(
            SiteAlert.site_id.in_([site.id for site in sites]),
            SiteAlert.acknowledged_at.is_(None),
        )
        .order_by(SiteAlert.created_at)
    ).all()
    return render_template(
        "admin/index.html",
        sites=sites,
        users=users,
        site_alerts=site_alerts,
        codes={site.id: site.code for site in sites},
        zones={site.id: site.timezone for site in sites},
        registry=is_registry_admin(current_user),
        site_form=site_form or SiteForm(formdata=None).offer_choices(),
        user_form=user_form or _user_form(formdata=None),
        open_form="site" if site_form else "user" if user_form else None,
        reset_form=ResetPasswordForm(),
        instruments=list(all_instruments().values()),
    )


@bp.post("/sites")
@roles_required(Role.ADMIN)
def add_site():
    if not is_registry_admin(current_user):
        abort(403)
    form = SiteForm().offer_choices()
    session = database.session()
    if not form.validate_on_submit():
        flash(_errors(form), "error")
        return _admin_page(site_form=form), 422
    code = form.code.data.strip()
    taken = site_with_code(session, code)
    if taken is not None:  # codes name files and rows: "rfa9" and "RFA9" would be confused
        flash(f"A site with code {taken.code} already exists.", "error")
        return _admin_page(site_form=form), 409
    site = Site(code=code, name="", team_phone="")
    form.apply_to(site)
    session.add(site)
    session.commit()
    flash(f"Added site {site.code}.", "info")
    return redirect(url_for("admin.index"))


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_site(site_id: int):
    session = database.session()
    site = managed_site(session, current_user, site_id)
    form = SiteSettingsForm(obj=site).offer_choices(site)
    if form.validate_on_submit():
        form.apply_to(site)
        session.commit()
        flash(f"Saved the settings of site {site.code}.", "info")
        return redirect(url_for("admin.index"))
    status = 200 if request.method == "GET" else 400
    return render_template("admin/site.html", site=site, form=form), status


@bp.post("/users")
@roles_required(Role.ADMIN)
def add_user():
    form = _user_form()
    session = database.session()
    if not is_registry_admin(current_user):
        own = session.get(Site, current_user.site_id)
        if form.site_code.data not in ("", None, own.code):
            abort(404)
        form.site_code.data = own.code  # a site admin adds staff to its own site only
    if form.validate_on_submit():
        try:
            create_user(
                session,
                email=form.email.data,
                name=form.name.data.strip(),
                password=form.password.data,
                role=form.role.data,
                site_code=form.site_code.data or None,
                must_change_password=True,
            )
        except (UserError, ValueError) as exc:
            session.rollback()
            flash(str(exc), "error")
            return _admin_page(user_form=form), 422
        session.commit()
        flash(f"Added {form.role.data} {form.email.data}.", "info")
        return redirect(url_for("admin.index"))
    flash(_errors(form), "error")
    return _admin_page(user_form=form), 422


@bp.post("/users/<int:user_id>/active", endpoint="set_active")
@roles_required(Role.ADMIN)
def change_active(user_id: int):
    session = database.session()
    user = managed_user(session, current_user, user_id)
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.index"))
    set_active(user, request.form.get("active") == "1")
    session.commit()
    flash(f"{user.email} is now {'active' if user.active else 'deactivated'}.", "info")
    return redirect(url_for("admin.index"))


@bp.post("/users/<int:user_id>/password")
@roles_required(Role.ADMIN)
def reset_user_password(user_id: int):
    """Set a temporary password: the user is signed out everywhere and must choose a new one."""
    session = database.session()
    user = managed_user(session, current_user, user_id)
    if user.id == current_user.id:
        flash("Change your own password from your account page.", "error")
        return redirect(url_for("admin.index"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        reset_password(user, form.password.data)
        session.commit()
        flash(
            f"{user.email} is signed out everywhere and must choose a new password when they "
            "next sign in with the temporary one.",
            "info",
        )
    else:
        flash(_errors(form), "error")
    return redirect(url_for("admin.index"))


def _errors(form: FlaskForm) -> str:
    parts = [f"{form[name].label.text}: {'; '.join(errs)}" for name, errs in form.errors.items()]
    return "Nothing was saved. " + " ".join(parts)
