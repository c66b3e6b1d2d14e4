"""Exports for audit and registries: the aggregated tables (CSV, XLSX), a de-identified
patient-level long table (CSV, XLSX) and a FHIR R4 Bundle of QuestionnaireResponses.

De-identified: no names, phone numbers or contact details; dates only as days (or
hours) relative to the procedure or the due time; study ids only; free text left out.
Every text cell that spreadsheet software could read as a formula is neutralised.
Everything is produced as an iterator of chunks, patient by patient, so memory stays
flat as the cohort grows (XLSX goes through a temporary file in write-only mode).
"""

import csv
import io
import json
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from openpyxl import Workbook
from sqlalchemy import and_, exists
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from surveys import get_instrument
from surveys.fhir import DEFAULT_BASE, to_questionnaire, to_questionnaire_response

from ..models import Patient, Procedure, Response, SurveyInstance
from .definitions import DEFINITIONS
from .outcomes import AuditReport
from .report import build_report, minimum_cell_count
from .tables import Section, plain, sections
from .timelines import AuditFilters, InstanceFacts, PatientTimeline, apply_filters, timelines

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_PATIENTS = 500
PATIENT_COLUMNS = (
    "study_id",
    "site",
    "procedure_type",
    "electrode",
    "lesion_type",
    "timepoint",
    "days_since_procedure",
    "instrument",
    "instrument_version",
    "score",
    "value",
    "channel",
    "window_adherence",
    "sent_hours_from_due",
    "delivered_hours_from_due",
    "answered_hours_from_due",
)
AGGREGATE_COLUMNS = ("section", "row", "column", "value")
DAYS_EXTENSION = f"{DEFAULT_BASE}/StructureDefinition/days-since-procedure"
TIMEPOINT_EXTENSION = f"{DEFAULT_BASE}/StructureDefinition/timepoint"
UUID_NAMESPACE = uuid.UUID("3f4b1d2c-8a57-4b8e-9a37-5d8f0c6e2b11")


def neutralise(value):
    """A text cell that could start a formula gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for number, row in enumerate(rows, 1):
        writer.writerow([neutralise(value) for value in row])
        if number % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# Aggregated tables


def aggregate_rows(report: AuditReport, min_count: int) -> Iterator[tuple]:
    """The tables in long form: section, row label, column, value."""
    for section in sections(report):
        keys = _key_columns(section)
        for row in section.rows:
            label = " | ".join(str(plain(cell)) for cell in row[:keys])
            for column, cell in zip(section.columns[keys:], row[keys:], strict=True):
                yield section.key, label, column, plain(cell, min_count)


def _key_columns(section: Section) -> int:
    """How many leading columns name the row (timepoint and day, measure, or event)."""
    return {"pain": 3, "safety": 1}.get(section.key, 2)


def aggregate_csv(report: AuditReport, min_count: int) -> Iterator[str]:
    return _csv_lines(AGGREGATE_COLUMNS, aggregate_rows(report, min_count))


def definitions(report: AuditReport, filters: AuditFilters, min_count: int) -> list[tuple]:
    """What the workbook's figures mean, as rows of (term, definition)."""
    lines = [
        ("Generated (UTC)", report.generated_at.strftime("%Y-%m-%d %H:%M")),
        ("Procedures covered", f"{report.procedures}: {filters.describe()}"),
        (
            "Small cells",
            f"Counts, and figures computed from, fewer than {min_count} patients are "
            f'shown as "<{min_count}".'
            if min_count > 1
            else "No suppression set for these sites.",
        ),
    ]
    return lines + list(DEFINITIONS)


def aggregate_xlsx(report: AuditReport, filters: AuditFilters, min_count: int) -> Iterator[bytes]:
    """A workbook with a sheet per section and a Definitions sheet."""
    workbook = Workbook(write_only=True)
    for section in sections(report):
        sheet = workbook.create_sheet(section.key[:31])
        sheet.append([section.title])
        sheet.append(list(section.columns))
        for row in section.rows:
            sheet.append([neutralise(plain(cell, min_count)) for cell in row])
    sheet = workbook.create_sheet("definitions")
    sheet.append(["term", "definition"])
    for term, meaning in definitions(report, filters, min_count):
        sheet.append([neutralise(term), neutralise(meaning)])
    return _saved(workbook)


def _saved(workbook: Workbook) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(256 * 1024):
            yield chunk


# Patient-level long table


def _hours(moment: datetime | None, due: datetime) -> float | None:
    return None if moment is None else round((moment - due).total_seconds() / 3600, 1)


def adherence(facts: InstanceFacts) -> str:
    """Whether the answer came inside the window: on_time, early, late or missed."""
    if facts.completed_at is None:
        return "missed" if facts.status == "expired" else facts.status
    if facts.completed_at > facts.closes_at:
        return "late"
    if facts.completed_at < facts.opens_at:
        return "early"
    return "on_time"


def _flatten(scores: dict) -> Iterator[tuple[str, float | int | str | None]]:
    for name, value in scores.items():
        if isinstance(value, dict):
            for key in ("omed_mg_per_day", "known_mg_per_day", "any_opioid", "needs_review"):
                if key in value:
                    yield f"{name}.{key}", _number(value[key])
            if "who_step" in value:
                yield f"{name}.who_step", _number(value["who_step"])
        elif not isinstance(value, list):
            yield name, _number(value)


def _number(value):
    return int(value) if isinstance(value, bool) else value


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _current_responses(session: Session, instance_ids: list[int]) -> list[Response]:
    newer = aliased(Response)
    return session.exec(
        select(Response)
        .where(
            Response.instance_id.in_(instance_ids),
            ~exists().where(and_(newer.supersedes_id == Response.id)),
        )
        .order_by(Response.instance_id, Response.id)
    ).all()


def _with_responses(
    session: Session, filters: AuditFilters
) -> Iterator[tuple[PatientTimeline, InstanceFacts, Response]]:
    """Every current answer of the cohort with its patient and instance, chunk by chunk."""
    for chunk in _chunks(timelines(session, filters), CHUNK_PATIENTS):
        facts = {i.instance_id: (t, i) for t in chunk for i in t.instances}
        for response in _current_responses(session, list(facts)):
            timeline, instance = facts[response.instance_id]
            yield timeline, instance, response
        session.expunge_all()


def patient_rows(session: Session, filters: AuditFilters) -> Iterator[tuple]:
    """One row per patient, timepoint and score, in ``PATIENT_COLUMNS`` order."""
    for timeline, facts, response in _with_responses(session, filters):
        answered = facts.completed_at or response.created_at
        common = (
            timeline.study_id,
            timeline.site_code,
            timeline.augmentation,
            timeline.electrode,
            timeline.lesion_type,
            facts.timepoint,
            (answered.date() - timeline.procedure_date).days,
            response.instrument_id,
            response.instrument_version,
        )
        timing = (
            response.channel,
            adherence(facts),
            _hours(facts.invited_at, facts.due_at),
            _hours(facts.delivered_at, facts.due_at),
            _hours(facts.completed_at, facts.due_at),
        )
        for score, value in _flatten(response.scores):
            yield (*common, score, value, *timing)


def patient_csv(session: Session, filters: AuditFilters) -> Iterator[str]:
    return _csv_lines(PATIENT_COLUMNS, patient_rows(session, filters))


def patient_xlsx(session: Session, filters: AuditFilters) -> Iterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("patients")
    sheet.append(list(PATIENT_COLUMNS))
    for row in patient_rows(session, filters):
        sheet.append([neutralise(value) for value in row])
    return _saved(workbook)


# FHIR


def fhir_bundle(session: Session, filters: AuditFilters, now: datetime) -> Iterator[str]:
    """A FHIR R4 collection Bundle: the Questionnaires, then one QuestionnaireResponse per
    answered questionnaire, de-identified, each validated against the R4 models."""
    header = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.isoformat(),
    }
    opening = json.dumps(header)[:-1] + ', "entry": ['
    yield opening
    first = True
    for instrument_id in _used_instruments(session, filters):
        resource = to_questionnaire(get_instrument(instrument_id))
        yield ("" if first else ",") + json.dumps({"resource": resource})
        first = False
    for timeline, facts, response in _with_responses(session, filters):
        instrument = get_instrument(response.instrument_id)
        answered = facts.completed_at or response.created_at
        resource = to_questionnaire_response(
            instrument,
            response.answers,
            authored=None,
            status="completed" if facts.status == "completed" else "in-progress",
            include_free_text=False,
            extra={
                "subject": {
                    "identifier": {
                        "system": f"{DEFAULT_BASE}/sites/{timeline.site_code}/study-id",
                        "value": timeline.study_id,
                    }
                },
                "extension": [
                    {
                        "url": DAYS_EXTENSION,
                        "valueInteger": (answered.date() - timeline.procedure_date).days,
                    },
                    {"url": TIMEPOINT_EXTENSION, "valueCode": facts.timepoint},
                ],
            },
        )
        entry = {
            "fullUrl": f"urn:uuid:{uuid.uuid5(UUID_NAMESPACE, f'response:{response.id}')}",
            "resource": resource,
        }
        yield ("" if first else ",") + json.dumps(entry)
        first = False
    yield "]}"


def _used_instruments(session: Session, filters: AuditFilters) -> list[str]:
    """The questionnaires answered by anyone in the cohort."""
    statement = (
        select(Response.instrument_id)
        .join(SurveyInstance, SurveyInstance.id == Response.instance_id)
        .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
        .join(Patient, Patient.id == Procedure.patient_id)
        .distinct()
    )
    return sorted(session.exec(apply_filters(statement, filters)).all())


FORMATS = {
    "aggregate": ("csv", "xlsx"),
    "patients": ("csv", "xlsx", "fhir"),
}


def export_chunks(
    session: Session, level: str, fmt: str, filters: AuditFilters, now: datetime
) -> Iterator[str | bytes]:
    """The chunks of one export; aggregated tables have small cells suppressed, since
    exports leave the site."""
    if fmt not in FORMATS.get(level, ()):
        raise ValueError(f"no {fmt} export of {level}")
    if level == "aggregate":
        report = build_report(session, filters, now)
        min_count = minimum_cell_count(session, filters)
        if fmt == "csv":
            return aggregate_csv(report, min_count)
        return aggregate_xlsx(report, filters, min_count)
    if fmt == "csv":
        return patient_csv(session, filters)
    if fmt == "xlsx":
        return patient_xlsx(session, filters)
    return fhir_bundle(session, filters, now)
