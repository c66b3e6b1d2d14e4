"""The enrolment form: every field a plain container for what was typed.

All checking is done once, by ``enrolment``, so every problem is reported in one round;
this module only lays out the choices (none clinical preselected, the site's time zone
first) and puts each problem next to its field.
"""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField

from ..clinical_dates import EARLIEST_PROCEDURE_DATE, latest_procedure_date
from ..languages import language_choices
from ..models import Augmentation, ContactChannel, Electrode, LesionType, Site
from ..time_zones import is_time_zone, zone_choices, zone_label
from .forms import options

CHOOSE = ("", "Choose…")
AUGMENTATIONS = (
    (Augmentation.KYPHOPLASTY.value, "RFA with balloon kyphoplasty"),
    (Augmentation.VERTEBROPLASTY.value, "RFA with vertebroplasty"),
)
LESION_TYPES = (
    (LesionType.LYTIC.value, "Lytic"),
    (LesionType.BLASTIC.value, "Blastic (sclerotic)"),
    (LesionType.MIXED.value, "Mixed"),
)
ELECTRODES = ((Electrode.BIPOLAR.value, "Bipolar"), (Electrode.MONOPOLAR.value, "Monopolar"))
CHANNELS = (
    (ContactChannel.LINK.value, "Texts with a web link to the questions"),
    (ContactChannel.SMS.value, "Questions by text, answered by reply"),
)


def _required_choice(label: str, pairs) -> SelectField:
    """A choice with no default: a blank "Choose…" comes first and is refused."""
    return SelectField(label, choices=options((CHOOSE, *pairs)), validate_choice=False)


class EnrolForm(FlaskForm):
    study_id = StringField("Study id")
    first_name = StringField("First name", description="The name the patient is greeted by.")
    phone = StringField("Mobile number", render_kw={"type": "tel", "autocomplete": "off"})
    timezone = SelectField(
        "Time zone",
        validate_choice=False,
        description="Where the patient lives: texts go out at their local time.",
    )
    language = SelectField(
        "Language",
        choices=options(language_choices()),
        validate_choice=False,
        description="The language the surveys are asked in.",
    )
    channel = SelectField("How to ask", choices=options(CHANNELS), validate_choice=False)
    consent = BooleanField("The patient consents to follow-up by text")
    procedure_date = StringField("Procedure date", render_kw={"type": "date"})
    augmentation = _required_choice("Procedure", AUGMENTATIONS)
    levels = StringField("Vertebral levels", description="For example T12, or T12, L1.")
    lesion_type = _required_choice("Lesion type", LESION_TYPES)
    electrode = _required_choice("Electrode", ELECTRODES)
    record_only = BooleanField(
        "Enrol for the record only",
        description=(
            "Only for a procedure whose every survey has already closed: the patient and "
            "the procedure are recorded, and no survey is sent."
        ),
    )

    def values(self) -> dict:
        """What was typed, by field name, for ``enrolment.enrol``."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}

    def show(self, problems: list[tuple[int | None, str, str]]) -> list[dict]:
        """Put each problem next to its field; return them for the summary, in form order."""
        shown = []
        for _row, name, message in problems:
            field = self._fields.get(name)
            if field is not None:
                field.errors = [*field.errors, message]
            shown.append({"message": message, "anchor": field.id if field is not None else None})
        order = list(self._fields)
        return sorted(shown, key=lambda p: order.index(p["anchor"]) if p["anchor"] else -1)


def enrol_form(site: Site, today) -> EnrolForm:
    """The form for ``site``: its time zone first and chosen, dates bounded as accepted."""
    form = EnrolForm()
    choices = zone_choices(site.timezone)
    if not form.is_submitted():
        form.timezone.data = site.timezone
    elif is_time_zone(form.timezone.data or "") and form.timezone.data not in dict(choices):
        choices.insert(1, (form.timezone.data, zone_label(form.timezone.data)))
    form.timezone.choices = options(choices)
    form.procedure_date.render_kw = {
        "type": "date",
        "min": EARLIEST_PROCEDURE_DATE.isoformat(),
        "max": latest_procedure_date(today).isoformat(),
    }
    return form


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose the CSV file to import.")])
