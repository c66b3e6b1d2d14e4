"""Enrolling a patient with their procedure, one at a time or from a CSV file."""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .clinical_dates import follow_up_over_problem, procedure_date_problem
from .languages import language_choices, language_code
from .local_time import local_today
from .messaging.opt_out import carry_number_opt_out
from .models import (
    Augmentation,
    ContactChannel,
    Electrode,
    FollowUpStatus,
    InstanceStatus,
    LesionType,
    Patient,
    PatientEvent,
    Procedure,
    Site,
    utcnow,
)
from .scheduling.plan import follow_up_ends_at, plan_follow_up
from .time_zones import canonical_zone

LEVEL = re.compile(r"^(C[1-7]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
CSV_COLUMNS = (
    "study_id",
    "first_name",
    "phone",
    "timezone",
    "language",
    "consent",
    "channel",
    "procedure_date",
    "augmentation",
    "levels",
    "lesion_type",
    "electrode",
    "record_only",
)
OPTIONAL_COLUMNS = {"timezone", "language", "channel", "record_only"}
REQUIRED = set(CSV_COLUMNS) - OPTIONAL_COLUMNS

# What to do about a value that is missing, or given but not understood, in plain words.
MISSING = {
    "study_id": "Give the patient’s study id.",
    "first_name": "Give the first name the patient uses.",
    "phone": "Give the patient’s mobile number.",
    "timezone": "Choose the patient’s time zone.",
    "language": "Choose the language the patient is asked in.",
    "consent": "Say whether the patient consents to follow-up by text (yes).",
    "channel": "Choose how to ask the patient: a text with a web link, or questions by text.",
    "procedure_date": "Give the procedure date.",
    "augmentation": "Choose the procedure: RFA with kyphoplasty or with vertebroplasty.",
    "levels": "Give the treated vertebral levels, such as T12 or T12, L1.",
    "lesion_type": "Choose the lesion type: lytic, blastic or mixed.",
    "electrode": "Choose the electrode: bipolar or monopolar.",
    "record_only": "Say yes to enrol for the record only, or leave it empty.",
}
NOT_UNDERSTOOD = {
    **MISSING,
    "consent": "Write yes if the patient consents to follow-up by text.",
    "channel": "Choose how to ask the patient: link (a text with a web link) or sms.",
    "procedure_date": "Give the procedure date as a real date, year-month-day (2027-02-01).",
}


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


class EnrolmentInput(BaseModel):
    """What a nurse gives to enrol a patient; validated before any row is written."""

    model_config = ConfigDict(str_strip_whitespace=True)

    study_id: str
    first_name: str
    phone: str
    timezone: str = "Europe/London"
    language: str = "en"
    consent: bool
    channel: ContactChannel = ContactChannel.LINK
    procedure_date: date
    augmentation: Augmentation
    levels: str
    lesion_type: LesionType
    electrode: Electrode
    record_only: bool = False
    phone_region: str = "GB"

    @field_validator("study_id")
    @classmethod
    def _study_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError(
                "A study id has letters, digits, “-”, “_” or “.” (starting with a letter or "
                "digit), up to 64 characters."
            )
        return value

    @field_validator("first_name")
    @classmethod
    def _first_name(cls, value: str) -> str:
        # Texts greet the patient by it: on one line, and something visible (joiners, which
        # some scripts need inside a name, are allowed).
        visible = any(ch.isprintable() and not ch.isspace() for ch in value)
        breaks = any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value)
        if not visible or breaks or len(value) > 100:
            raise ValueError(
                "Give the first name the patient uses, up to 100 characters on one line."
            )
        return value

    @field_validator("procedure_date", mode="before")
    @classmethod
    def _date_as_written(cls, value):
        return iso_date(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone = canonical_zone(value)
        if zone is None:
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise ValueError(
                f"“{shown}” is an unknown time zone: choose one from the list "
                "(in a file, a name such as Europe/London)."
            )
        return zone

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        code = language_code(value)
        if code is None:
            offered = " or ".join(name for _, name in language_choices())
            raise ValueError(f"The surveys are available in {offered} only.")
        return code

    @field_validator("consent", mode="before")
    @classmethod
    def _consent_word(cls, value) -> bool:
        # Only "yes" consents (a tick on the form): not "1", "true", "on" or "y".
        return value.strip().lower() == "yes" if isinstance(value, str) else value is True

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("The patient must consent to follow-up by text before enrolment.")
        return value

    @field_validator("channel", "augmentation", "lesion_type", "electrode", mode="before")
    @classmethod
    def _any_case(cls, value):
        return _lower(value)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: str) -> str:
        levels = [part.strip().upper() for part in re.split(r"[,;\s]+", value) if part.strip()]
        bad = [level for level in levels if not LEVEL.match(level)]
        if not levels or bad:
            raise ValueError(
                "Give the treated vertebral levels such as T12 or T12, L1 "
                "(C1–C7, T1–T12, L1–L5, S1–S5)."
            )
        return ",".join(dict.fromkeys(levels))

    def e164(self) -> str:
        """The mobile number in E.164, or ValueError with a reason a nurse can act on."""
        return normalise_mobile(self.phone, self.phone_region)


def normalise_mobile(raw: str, region: str = "GB") -> str:
    """Parse ``raw`` as a mobile number and return it in E.164 form."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"“{_short(raw)}” is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"“{_short(raw)}” is not a valid phone number: check the digits.")
    kind = phonenumbers.number_type(number)
    mobile_kinds = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if kind not in mobile_kinds:
        raise ValueError(f"“{_short(raw)}” is not a mobile number, so texts cannot reach it.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def normalise_on_call_phone(raw: str | None, region: str = "GB") -> str | None:
    """A site's on-call mobile in E.164 form, None if not given, or ValueError saying why not.

    Urgent-alert texts go to this number, so it must be a valid mobile number.
    """
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_mobile(raw.strip(), region)
    except ValueError as exc:
        raise ValueError(f"On-call phone: {exc}") from None


# Digits, spaces, brackets and hyphens ("(0113) 496 0123", "+44 (0)113 496 0123"), and
# an extension ("ext 4", "x4").
TEAM_PHONE_CHARACTERS = re.compile(
    r"\+?[(0-9][0-9 ()-]{4,30}(\s*(ext\.?|x)\s*[0-9]{1,6})?", re.IGNORECASE
)


def check_team_phone(raw: str | None, region: str = "GB") -> str:
    """The team's number as written (it is shown to patients and put in texts), or
    ValueError saying why it cannot be: it must be a valid number, landline or mobile."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if not TEAM_PHONE_CHARACTERS.fullmatch(text) or not (
        number and phonenumbers.is_valid_number(number)
    ):
        raise ValueError(
            "Team phone: give the number patients should call, e.g. 0113 496 0123, "
            "in digits, spaces and brackets (an extension as ext 4)."
        )
    return text


def check_phone_region(region: str) -> str:
    """A region code phone numbers without ``+`` are read in (GB, IE...), or ValueError."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"Phone region: {region!r} is not a region code such as GB or IE.")
    return region


class EnrolmentError(ValueError):
    """One or more inputs are invalid; ``problems`` lists them as (row, field, message).

    ``field`` is the form field or CSV column the problem belongs to (``row`` and
    ``file`` for the shape of a CSV file); ``message`` is a sentence a nurse can act on.
    """

    def __init__(self, problems: list[tuple[int | None, str, str]]):
        self.problems = problems
        super().__init__(" ".join(_describe(p) for p in problems))


def _describe(problem: tuple[int | None, str, str]) -> str:
    row, field, message = problem
    where = f"Row {row}, column {field}: " if row is not None else ""
    return f"{where}{message}"


@dataclass
class Enrolled:
    patient: Patient
    procedure: Procedure
    planned: int = 0  # surveys to be sent; those whose window had closed are not counted
    record_only: bool = False
    number_opted_out: bool = False  # the number had texted STOP (see ``messaging.opt_out``)


RECORD_ONLY_REASON = "enrolled for the record only: every survey had closed, none is sent"
Problems = list[tuple[int | None, str, str]]
AS_BOOL = TypeAdapter(bool)


def validate(
    data: dict, site: Site, row: int | None = None, *, now: datetime | None = None
) -> tuple[EnrolmentInput, str]:
    """Validate one patient's data; return the input and the E.164 number.

    Every problem is reported at once, the phone number's and the procedure date's
    included. The procedure date must lie in the accepted range (see ``clinical_dates``)
    as of ``now`` (default: the current time), and its follow-up must not be over unless
    ``record_only`` is set. A missing time zone is the site's.
    """
    item, phone, problems = _check(data, site, row, now or utcnow())
    if problems or item is None:
        raise EnrolmentError(problems)
    return item, phone


def _check(
    data: dict, site: Site, row: int | None, now: datetime
) -> tuple[EnrolmentInput | None, str, Problems]:
    given = {key: value for key, value in data.items() if not _blank(value)}
    given.setdefault("timezone", site.timezone)
    problems: Problems = []
    item = None
    try:
        item = EnrolmentInput.model_validate({**given, "phone_region": site.phone_region})
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "input"
            problems.append((row, field, _plain(field, error)))
    problems += [(row, "procedure_date", p) for p in _date_problems(given, site, now)]
    phone = ""
    raw_phone = given.get("phone")
    if isinstance(raw_phone, str):
        try:
            phone = normalise_mobile(raw_phone.strip(), site.phone_region)
        except ValueError as exc:
            problems.append((row, "phone", str(exc)))
    return item, phone, problems


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plain(field: str, error: dict) -> str:
    """A sentence saying what to do about one pydantic error."""
    if error["type"] == "missing":
        return MISSING.get(field, "Give this value.")
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return NOT_UNDERSTOOD.get(field, "This value is not understood.")


def iso_date(value) -> date:
    """A procedure date as written: a date, or text year-month-day (a bare number, which
    pydantic would read as a Unix time, is not a date)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(NOT_UNDERSTOOD["procedure_date"])


def _date_problems(given: dict, site: Site, now: datetime) -> list[str]:
    """The procedure date's range and follow-up problems, judged even when other fields fail."""
    try:
        procedure_date = iso_date(given.get("procedure_date"))
        record_only = AS_BOOL.validate_python(given.get("record_only", False))
    except (ValueError, ValidationError):
        return []  # reported by the model's own validation
    zone = canonical_zone(str(given["timezone"])) or site.timezone
    problem = procedure_date_problem(procedure_date, local_today(now, site.timezone))
    if problem:
        return [problem[0].upper() + problem[1:] + "."]
    ends_at = follow_up_ends_at(site.protocol_id, procedure_date, zone)
    problem = follow_up_over_problem(procedure_date, ends_at, now, record_only=record_only)
    return [problem] if problem else []


def enrol(
    session: Session,
    site: Site,
    data: dict,
    *,
    user_id: int | None,
    now: datetime | None = None,
) -> Enrolled:
    """Enrol one patient and plan their follow-up, in the caller's transaction.

    Every problem is reported at once, a study id already enrolled at the site included.
    """
    now = now or utcnow()
    item, phone, problems = _check(data, site, None, now)
    study_id = item.study_id if item else _valid_study_id(data, problems)
    if study_id:
        problems += _existing(session, site, [study_id], [None])
    if problems or item is None:
        raise EnrolmentError(problems)
    return _create(session, site, item, phone, user_id=user_id, now=now)


def _valid_study_id(data: dict, problems: Problems) -> str | None:
    """The row's study id when it is well formed, to check it is not enrolled already."""
    if any(field == "study_id" for _, field, _ in problems):
        return None
    value = data.get("study_id")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _existing(
    session: Session, site: Site, study_ids: list[str], rows: list[int | None]
) -> Problems:
    """A problem for each study id already enrolled at the site, in any mix of capitals
    ("abc-001" is "ABC-001": one patient must not have two records)."""
    taken = {
        folded_study_id(sid): sid
        for sid in session.exec(
            select(Patient.study_id).where(
                Patient.site_id == site.id,
                func.lower(Patient.study_id).in_([folded_study_id(s) for s in study_ids]),
            )
        )
    }
    return [
        (row, "study_id", _taken_message(sid, taken[folded_study_id(sid)]))
        for row, sid in zip(rows, study_ids, strict=True)
        if folded_study_id(sid) in taken
    ]


def folded_study_id(study_id: str) -> str:
    """A study id as compared: capitals do not make a second patient (the database's
    unique index on the site and ``lower(study_id)`` says the same)."""
    return study_id.lower()


def _taken_message(study_id: str, enrolled_as: str) -> str:
    if enrolled_as == study_id:
        return f"{study_id} is already enrolled at this site."
    return f"{study_id} is already enrolled at this site, as {enrolled_as}."


def _create(
    session: Session, site: Site, item: EnrolmentInput, phone: str, *, user_id, now
) -> Enrolled:
    patient = Patient(
        site_id=site.id,
        study_id=item.study_id,
        first_name=item.first_name,
        phone_e164=phone,
        timezone=item.timezone,
        language=item.language,
        consent=True,
        consent_at=now,
        channel=item.channel,
    )
    if item.record_only:
        patient.status = FollowUpStatus.STOPPED
        patient.status_reason = RECORD_ONLY_REASON
    session.add(patient)
    try:
        session.flush()
    except IntegrityError as exc:
        # Checked above, so another enrolment of this study id committed in between.
        if not _study_id_taken(exc):
            raise
        taken = f"{item.study_id} was enrolled at this site a moment ago, by someone else."
        raise EnrolmentError([(None, "study_id", taken)]) from None
    procedure = Procedure(
        patient_id=patient.id,
        procedure_date=item.procedure_date,
        augmentation=item.augmentation,
        levels=item.levels,
        lesion_type=item.lesion_type,
        electrode=item.electrode,
        protocol_id=site.protocol_id,
    )
    session.add(procedure)
    session.flush()
    detail = {"record_only": True} if item.record_only else {}
    session.add(
        PatientEvent(patient_id=patient.id, kind="enrolled", detail=detail, user_id=user_id, at=now)
    )
    planned = plan_follow_up(session, patient, procedure, now=now)
    to_send = sum(instance.status != InstanceStatus.CANCELLED for instance in planned)
    opted_out = carry_number_opt_out(session, patient, user_id=user_id, now=now)
    return Enrolled(patient, procedure, to_send, item.record_only, opted_out)


def _study_id_taken(exc: IntegrityError) -> bool:
    """Whether the refused row broke a study id's uniqueness at its site (either index)."""
    return "study_id" in str(exc.orig)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LOOKUP_CHUNK = 1000


def import_csv(
    session: Session, site: Site, text: str, *, user_id: int | None, now: datetime | None = None
) -> list[Enrolled]:
    """Enrol every row of a CSV file, or none: any bad row raises EnrolmentError listing all.

    Every row is checked by the rules of the enrolment form; every problem of every row
    is listed, a study id repeated in the file or already enrolled included.
    """
    now = now or utcnow()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise EnrolmentError([(1, "file", f"The file is not readable as CSV ({exc}).")]) from None
    repeated = sorted({name for name in header if name in CSV_COLUMNS and header.count(name) > 1})
    if repeated:  # only one of the cells would be read
        raise EnrolmentError(
            [(1, "header", f"The header row repeats the column(s) {', '.join(repeated)}.")]
        )
    missing = [column for column in CSV_COLUMNS if column not in header and column in REQUIRED]
    if missing:
        raise EnrolmentError(
            [(1, "header", f"The header row lacks the column(s) {', '.join(missing)}.")]
        )
    problems: Problems = []
    valid: list[tuple[int, EnrolmentInput, str]] = []
    ids: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    rows = enumerate(reader, start=2)
    while True:
        try:
            number, raw = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((reader.line_num, "file", f"Not readable as CSV ({exc})."))
            break
        if _empty_row(raw):  # ",,,,,": spreadsheets save the rows below the data like this
            continue
        data, shape_problems = _row_cells(number, raw)
        item, phone, row_problems = _check(data, site, number, now)
        row_problems = shape_problems + [
            p for p in row_problems if p[1] not in _fields(shape_problems)
        ]
        problems.extend(row_problems)
        study_id = item.study_id if item else _valid_study_id(data, row_problems)
        if study_id and folded_study_id(study_id) in seen:
            first = seen[folded_study_id(study_id)]
            problems.append((number, "study_id", f"{study_id} repeats row {first}."))
            continue
        if study_id:
            seen[folded_study_id(study_id)] = number
            ids.append((number, study_id))
        if item is not None and not row_problems:
            valid.append((number, item, phone))
    if not ids and not problems:
        raise EnrolmentError([(None, "file", "The file has no patient rows.")])
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        problems += _existing(session, site, [sid for _, sid in chunk], [n for n, _ in chunk])
    if problems:
        raise EnrolmentError(sorted(problems, key=lambda p: (p[0] or 0, _column_order(p[1]))))
    return [
        _create(session, site, item, phone, user_id=user_id, now=now) for _, item, phone in valid
    ]


def _fields(problems: Problems) -> set[str]:
    return {field for _, field, _ in problems}


def _column_order(field: str) -> int:
    return CSV_COLUMNS.index(field) if field in CSV_COLUMNS else -1


def _empty_row(raw: dict) -> bool:
    """Whether every cell of a CSV row is empty (however many commas it has)."""
    cells = [v for k, v in raw.items() if k is not None] + list(raw.get(None) or [])
    return all(not (cell or "").strip() for cell in cells)


def _row_cells(number: int, raw: dict) -> tuple[dict, list[tuple[int | None, str, str]]]:
    """One CSV row as column -> text, or the problems with its shape and characters."""
    problems: list[tuple[int | None, str, str]] = []
    extra = raw.pop(None, None)
    if extra:
        problems.append((number, "row", f"The row has {len(extra)} more cell(s) than the header."))
    data = {}
    for key, value in raw.items():
        column = (key or "").strip()
        if value is None:
            continue  # a short row: the missing cells are treated as empty
        cell = value.strip()
        if column not in CSV_COLUMNS or cell == "":
            continue
        if CONTROL_CHARACTERS.search(cell):
            problems.append((number, column, "The cell holds a control character: retype it."))
            continue
        data[column] = cell
    return data, problems


def shared_number_note(session: Session, patient: Patient) -> str | None:
    """What a nurse should know when another of the site's patients in follow-up uses this
    mobile too (a couple with one phone): replies sent while both have a survey open cannot
    be told apart, so they are not saved and the team is alerted.

    Patients of other sites are not mentioned, not even counted: a nurse could otherwise
    type any number to learn whether its owner is followed up at another hospital. A reply
    that cannot be placed still alerts each site about its own patient."""
    if not patient.phone_e164:
        return None
    here = sorted(
        session.exec(
            select(Patient.study_id).where(
                Patient.phone_e164 == patient.phone_e164,
                Patient.id != patient.id,
                Patient.site_id == patient.site_id,
                Patient.status == FollowUpStatus.ACTIVE,
            )
        )
    )
    if not here:
        return None
    who = ", ".join(here)
    return (
        f"This mobile number is also used by {who}. Texted replies that arrive while both "
        "have a survey open cannot be told apart: they are not saved, and you will get an "
        "alert to call."
    )
