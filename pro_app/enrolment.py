"""Enrolling a patient with their procedure, one at a time or from a CSV file."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlmodel import Session, select

from .clinical_dates import procedure_date_problem
from .models import (
    Augmentation,
    ContactChannel,
    Electrode,
    LesionType,
    Patient,
    PatientEvent,
    Procedure,
    Site,
    utcnow,
)
from .scheduling.plan import plan_follow_up

LEVEL = re.compile(r"^(C[1-7]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
LANGUAGES = ("en", "cy")
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
)
REQUIRED = set(CSV_COLUMNS) - {"timezone", "language", "channel"}


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
    phone_region: str = "GB"

    @field_validator("study_id")
    @classmethod
    def _study_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError("use letters, digits, '-', '_' or '.', up to 64 characters")
        return value

    @field_validator("first_name")
    @classmethod
    def _first_name(cls, value: str) -> str:
        if not value or len(value) > 100:
            raise ValueError("give the first name the patient uses (up to 100 characters)")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from None
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.lower()
        if value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("the patient must consent to follow-up before enrolment")
        return value

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: str) -> str:
        levels = [part.strip().upper() for part in re.split(r"[,;\s]+", value) if part.strip()]
        bad = [level for level in levels if not LEVEL.match(level)]
        if not levels or bad:
            raise ValueError("give vertebral levels such as 'T12' or 'T12, L1'")
        return ",".join(dict.fromkeys(levels))

    def e164(self) -> str:
        """The mobile number in E.164, or ValueError with a reason a nurse can act on."""
        return normalise_mobile(self.phone, self.phone_region)


def normalise_mobile(raw: str, region: str = "GB") -> str:
    """Parse ``raw`` as a mobile number and return it in E.164 form."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    kind = phonenumbers.number_type(number)
    mobile_kinds = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if kind not in mobile_kinds:
        raise ValueError(f"{raw!r} is not a mobile number: texts cannot reach it")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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


class EnrolmentError(ValueError):
    """One or more inputs are invalid; ``problems`` lists them as (row, field, message)."""

    def __init__(self, problems: list[tuple[int | None, str, str]]):
        self.problems = problems
        super().__init__("; ".join(_describe(p) for p in problems))


def _describe(problem: tuple[int | None, str, str]) -> str:
    row, field, message = problem
    where = f"row {row}: " if row is not None else ""
    return f"{where}{field}: {message}"


@dataclass
class Enrolled:
    patient: Patient
    procedure: Procedure


def validate(
    data: dict, site: Site, row: int | None = None, *, today: date | None = None
) -> tuple[EnrolmentInput, str]:
    """Validate one patient's data; return the input and the E.164 number.

    Every problem is reported at once, the phone number's included. The procedure date
    must lie in the accepted range (see ``clinical_dates``) as of ``today`` (default:
    today in UTC).
    """
    problems: list[tuple[int | None, str, str]] = []
    item = None
    try:
        item = EnrolmentInput.model_validate({**data, "phone_region": site.phone_region})
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "input"
            problems.append((row, field, _plain(error)))
    if item is not None:
        problem = procedure_date_problem(item.procedure_date, today or utcnow().date())
        if problem:
            problems.append((row, "procedure_date", problem))
    phone = ""
    raw_phone = data.get("phone")
    if isinstance(raw_phone, str) and raw_phone.strip():
        try:
            phone = normalise_mobile(raw_phone.strip(), site.phone_region)
        except ValueError as exc:
            problems.append((row, "phone", str(exc)))
    if problems or item is None:
        raise EnrolmentError(problems)
    return item, phone


def _plain(error: dict) -> str:
    message = error["msg"]
    return message.removeprefix("Value error, ")


def enrol(
    session: Session,
    site: Site,
    data: dict,
    *,
    user_id: int | None,
    now: datetime | None = None,
) -> Enrolled:
    """Enrol one patient and plan their follow-up, in the caller's transaction."""
    now = now or utcnow()
    item, phone = validate(data, site, today=now.date())
    _refuse_existing(session, site, [item.study_id])
    return _create(session, site, item, phone, user_id=user_id, now=now)


def _refuse_existing(session: Session, site: Site, study_ids: list[str], rows=None) -> None:
    taken = set(
        session.exec(
            select(Patient.study_id).where(
                Patient.site_id == site.id, Patient.study_id.in_(study_ids)
            )
        )
    )
    if taken:
        rows = rows or [None] * len(study_ids)
        raise EnrolmentError(
            [
                (row, "study_id", f"{sid} is already enrolled at this site")
                for row, sid in zip(rows, study_ids, strict=True)
                if sid in taken
            ]
        )


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
    session.add(patient)
    session.flush()
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
    session.add(PatientEvent(patient_id=patient.id, kind="enrolled", user_id=user_id, at=now))
    plan_follow_up(session, patient, procedure, now=now)
    return Enrolled(patient, procedure)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LOOKUP_CHUNK = 1000


def import_csv(
    session: Session, site: Site, text: str, *, user_id: int | None, now: datetime | None = None
) -> list[Enrolled]:
    """Enrol every row of a CSV file, or none: any bad row raises EnrolmentError listing all."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise EnrolmentError([(1, "file", f"not a readable CSV file ({exc})")]) from None
    missing = [column for column in CSV_COLUMNS if column not in header and column in REQUIRED]
    if missing:
        raise EnrolmentError([(1, "header", f"missing column(s): {', '.join(missing)}")])
    problems: list[tuple[int | None, str, str]] = []
    valid: list[tuple[int, EnrolmentInput, str]] = []
    seen: dict[str, int] = {}
    rows = enumerate(reader, start=2)
    while True:
        try:
            number, raw = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append((reader.line_num, "file", f"not readable as CSV ({exc})"))
            break
        data, shape_problems = _row_cells(number, raw)
        if shape_problems:
            problems.extend(shape_problems)
            continue
        try:
            item, phone = validate(data, site, row=number)
        except EnrolmentError as exc:
            problems.extend(exc.problems)
            continue
        if item.study_id in seen:
            problems.append(
                (number, "study_id", f"{item.study_id} repeats row {seen[item.study_id]}")
            )
            continue
        seen[item.study_id] = number
        valid.append((number, item, phone))
    if not valid and not problems:
        raise EnrolmentError([(None, "file", "the file has no patient rows")])
    for start in range(0, len(valid), LOOKUP_CHUNK):
        chunk = valid[start : start + LOOKUP_CHUNK]
        try:
            _refuse_existing(
                session, site, [item.study_id for _, item, _ in chunk], [n for n, _, _ in chunk]
            )
        except EnrolmentError as exc:
            problems.extend(exc.problems)
    if problems:
        raise EnrolmentError(sorted(problems, key=lambda p: (p[0] or 0, p[1])))
    now = now or utcnow()
    return [
        _create(session, site, item, phone, user_id=user_id, now=now) for _, item, phone in valid
    ]


def _row_cells(number: int, raw: dict) -> tuple[dict, list[tuple[int | None, str, str]]]:
    """One CSV row as column -> text, or the problems with its shape and characters."""
    problems: list[tuple[int | None, str, str]] = []
    extra = raw.pop(None, None)
    if extra:
        problems.append((number, "row", f"{len(extra)} more field(s) than the header has"))
    data = {}
    for key, value in raw.items():
        column = (key or "").strip()
        if value is None:
            continue  # a short row: the missing cells are treated as empty
        cell = value.strip()
        if column not in CSV_COLUMNS or cell == "":
            continue
        if CONTROL_CHARACTERS.search(cell):
            problems.append((number, column, "contains a control character; retype the cell"))
            continue
        data[column] = cell
    return data, problems
