"""Exports for audit and registries: the aggregated tables (CSV, XLSX), a de-identified
patient-level long table (CSV, XLSX) and FHIR R4 QuestionnaireResponses, as one Bundle or
as bulk-data NDJSON (one resource a line, one file per resource type, zipped).

De-identified: no names, phone numbers or contact details; dates only as days (or
hours) relative to the procedure or the due time; study ids only; free text left out.
Every text cell that spreadsheet software could read as a formula is neutralised.
Everything is produced as an iterator of chunks, patient by patient, so memory stays
flat as the cohort grows (XLSX goes through a temporary file in XlsxWriter's
constant-memory mode, ``audit.workbooks``). The patient-level exports count the answers
they read in an optional ``Progress`` (a background job shows it).
"""

import csv
import hashlib
import hmac
import io
import json
import random
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from itertools import groupby, islice
from operator import itemgetter

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlmodel import Session, select

from surveys import get_instrument
from surveys.fhir import (
    DEFAULT_BASE,
    canonical_url,
    to_questionnaire,
    to_questionnaire_response,
)
from surveys.fhir_structure import check_questionnaire_response
from surveys.scoring.response import thresholds as response_settings

from ..models import InstanceStatus, Patient, Procedure, Response, SurveyInstance
from . import omed_blank
from .answer_stream import KeyFigures, TimepointContext, current_answers
from .definitions import DEFINITIONS, omed_table_definitions, report_definitions
from .outcomes import BASELINE, AuditReport
from .progress import Progress, counted
from .report import build_report, minimum_cell_count
from .response_class import classify_response
from .safety_rows import SAFETY_COLUMN_DEFINITIONS, SAFETY_COLUMNS, safety_rows
from .tables import Cell, Count, Section, plain, sections
from .timelines import (
    AuditFilters,
    apply_filters,
)
from .workbooks import EXCEL_MAX_ROWS, WorkbookInfo, WorkbookWriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
    "omed_table",  # the conversion table of an OMED figure, and its version
    "omed_table_version",
    "omed_blank_reason",  # not asked by text, needs review, not answered
    "channel",
    "window_adherence",
    "sent_hours_from_due",
    "delivered_hours_from_due",
    "answered_hours_from_due",
)
AGGREGATE_COLUMNS = ("section", "row", "column", "value")
XLSX_SHEET_ROWS = EXCEL_MAX_ROWS - 1  # Excel's rows per sheet, less the header
DAYS_EXTENSION = f"{DEFAULT_BASE}/StructureDefinition/days-since-procedure"
TIMEPOINT_EXTENSION = f"{DEFAULT_BASE}/StructureDefinition/timepoint"
OMED_EXTENSION = f"{DEFAULT_BASE}/StructureDefinition/oral-morphine-equivalent"
OMED_TABLES = f"{DEFAULT_BASE}/CodeSystem/omed-conversion-tables"
# A survey's status as FHIR's: answers still being given, or given in full; any other
# (expired, cancelled: the window closed or follow-up stopped) was left part-way.
FHIR_STATUS = {
    InstanceStatus.COMPLETED: "completed",
    InstanceStatus.SENT: "in-progress",
    InstanceStatus.IN_PROGRESS: "in-progress",
}


def neutralise(value):
    """A text cell that could start a formula gets a leading apostrophe; numbers pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised(row: Iterable) -> tuple:
    return tuple(neutralise(value) for value in row)


def _csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text in chunks, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    safe = map(neutralised, rows)
    while batch := list(islice(safe, 2000)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# Aggregated tables


def shown(report: AuditReport, min_count: int) -> Callable[[Cell], object]:
    """How a figure of ``report`` is written in an outcome export.

    Counts and figures from fewer than ``min_count`` patients show as ``<5``. When the
    whole cohort is that small (a filter down to one procedure day, say), every figure
    does, zeros and the names of conversion tables included: beside a suppressed cell, a
    zero says what the cell holds.
    """
    if _whole_cohort_small(report, min_count):
        hidden = f"<{min_count}"
        return lambda cell: None if plain(cell) is None else hidden
    return lambda cell: plain(cell, min_count)


def _whole_cohort_small(report: AuditReport, min_count: int) -> bool:
    return min_count > 1 and 0 < report.procedures < min_count


def aggregate_rows(report: AuditReport, min_count: int) -> Iterator[tuple]:
    """The tables in long form: section, row label, column, value."""
    figure = shown(report, min_count)
    for section in sections(report):
        keys = _key_columns(section)
        for row in section.rows:
            label = " | ".join(str(plain(cell)) for cell in row[:keys] if cell is not None)
            for column, cell in zip(section.columns[keys:], row[keys:], strict=True):
                yield section.key, label, column, figure(cell)


def _key_columns(section: Section) -> int:
    """How many leading columns name the row (timepoint and day, measure, or event)."""
    return {"pain": 3, "safety": 1, "alert_handling": 3}.get(section.key, 2)


def aggregate_csv(report: AuditReport, min_count: int) -> Iterator[str]:
    return _csv_lines(AGGREGATE_COLUMNS, aggregate_rows(report, min_count))


def definitions(report: AuditReport, filters: AuditFilters, min_count: int) -> list[tuple]:
    """What the workbook's figures mean, as rows of (term, definition); the number of
    procedures is suppressed as a cell would be."""
    procedures = plain(Count(report.procedures), min_count)
    lines = [
        ("Generated (UTC)", report.generated_at.strftime("%Y-%m-%d %H:%M")),
        ("Procedures covered", f"{procedures}: {filters.describe()}"),
        (
            "Small cells",
            f"Counts, and figures computed from, fewer than {min_count} patients are "
            f'shown as "<{min_count}", in the tables, the sheet titles and these definitions.'
            if min_count > 1
            else "No suppression set for these sites.",
        ),
    ]
    return lines + report_definitions(report)


def aggregate_xlsx(report: AuditReport, filters: AuditFilters, min_count: int) -> Iterator[bytes]:
    """A workbook with a sheet per section (its header in row 1, its title in the
    definitions, counts in it suppressed as cells are) and a definitions sheet."""
    workbook = WorkbookWriter(
        WorkbookInfo("Audit of outcomes", filters.describe(), report.generated_at)
    )
    titles = []
    figure = shown(report, min_count)
    small = _whole_cohort_small(report, min_count)
    for section in sections(report):
        sheet = workbook.sheet(section.key, section.columns)
        titles.append((f"Sheet {section.key[:31]}", section.title(min_count, every_count=small)))
        keys = _key_columns(section)
        for row in section.rows:
            sheet.append(
                [neutralise(plain(cell)) for cell in row[:keys]]
                + [neutralise(figure(cell)) for cell in row[keys:]]
            )
    lines = definitions(report, filters, min_count)
    workbook.definitions(neutralised(line) for line in [*lines[:3], *titles, *lines[3:]])
    return workbook.chunks()


# Patient-level long table


NESTED_SCORES = (
    "omed_mg_per_day",
    "known_mg_per_day",
    "any_opioid",
    "needs_review",
    "implausible",
    "who_step",
)


@lru_cache(maxsize=4096)
def _safe_name(name: str) -> str:
    return neutralise(name)


def _flatten(scores: dict, instrument_id: str, channel: str) -> Iterator[tuple]:
    """Each score as (name, value, table, version, why an OMED is blank), nested ones as
    ``omed.omed_mg_per_day`` with the conversion table that produced them; safe cells."""
    for name, value in scores.items():
        if isinstance(value, dict):
            table = _cell(value.get("table") or None)
            version = _cell(value.get("table_version") or None)
            for key in NESTED_SCORES:
                if key in value:
                    blank = (
                        omed_blank.blank_figure_reason(value)
                        if key == "omed_mg_per_day" and value[key] is None
                        else None
                    )
                    yield _safe_name(f"{name}.{key}"), _cell(value[key]), table, version, blank
        elif not isinstance(value, list):
            blank = (
                None
                if value is not None
                else omed_blank.blank_score_reason(instrument_id, name, channel)
            )
            yield _safe_name(name), _cell(value), None, None, blank


def _cell(value):
    if value.__class__ is bool:
        return int(value)
    return neutralise(value) if value.__class__ is str else value


RESPONSE_INSTRUMENT = "pain_response"


class _PainResponses:
    """Each completed follow-up timepoint's pain response, as derived score rows after its
    answers (``pain_response`` / ``category``, and ``basis`` when classified), by the
    audit's own rule (``response_class``): against the completed baseline only. The stream
    is in patient order with the baseline first, so each patient's baseline is seen
    before their follow-up."""

    def __init__(self):
        self.patient_id: int | None = None
        self.baseline: KeyFigures | None = None

    def cells(self, context: TimepointContext) -> list[tuple]:
        """Rows of (instrument, version, score, value, omed_table, omed_table_version):
        none for a baseline or a timepoint not completed (the audit leaves those out)."""
        figures = context.figures
        if figures is None:
            return []
        if figures.patient_id != self.patient_id:
            self.patient_id, self.baseline = figures.patient_id, None
        completed = context.status == InstanceStatus.COMPLETED
        if context.timepoint == BASELINE:
            self.baseline = figures if completed else None
            return []
        if not completed:
            return []
        classified = classify_response(figures, self.baseline)
        version = str(response_settings()["version"])
        table = (
            (None, None)
            if classified.from_proxy
            else (figures.omed_table, figures.omed_table_version)
        )
        rows = [(RESPONSE_INSTRUMENT, version, "category", classified.describe(), *table)]
        if classified.basis:
            rows.append((RESPONSE_INSTRUMENT, version, "basis", classified.basis, None, None))
        return rows


def _response_rows(context: TimepointContext, cells: list[tuple]) -> list[tuple]:
    return [neutralised((*context.leading(), *row, None, "", *context.trailing())) for row in cells]


MEMO_LIMIT = 20_000  # distinct values a memo keeps before it starts afresh


def _remembered(memo: dict, key, make):
    """``memo[key]``, made by ``make()`` the first time; the memo is cleared when full, so
    memory stays flat however large the cohort (values repeat a lot: texts, scores)."""
    found = memo.get(key)
    if found is None:
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        found = memo[key] = make()
    return found


class _ScoreCells:
    """Each distinct scores JSON flattened once into its safe (score, value, table,
    version, blank reason) cells."""

    def __init__(self):
        self.found: dict[tuple[str, str, bool], list[tuple]] = {}

    def of(self, answer) -> list[tuple]:
        """The cells of ``answer``'s scores (a blank OMED's reason depends on texting)."""
        return _remembered(
            self.found,
            (answer.scores_json, answer.instrument_id, answer.channel == "sms"),
            lambda: list(_flatten(answer.scores, answer.instrument_id, answer.channel)),
        )


def patient_rows(
    session: Session, filters: AuditFilters, progress: Progress | None = None
) -> Iterator[tuple]:
    """One row per patient, timepoint and score, in ``PATIENT_COLUMNS`` order; each
    completed follow-up timepoint ends with its pain response rows."""
    responses, scores = _PainResponses(), _ScoreCells()
    context = head = tail = None
    pending: list[tuple] = []
    for answer in counted(current_answers(session, filters), progress):
        if answer.context is not context:
            yield from pending
            context = answer.context
            head, tail = neutralised(context.leading()), neutralised(context.trailing())
            pending = _response_rows(context, responses.cells(context))
        leading = (*head, neutralise(answer.instrument_id), neutralise(answer.instrument_version))
        trailing = (neutralise(answer.channel), *tail)
        for cells in scores.of(answer):
            yield (*leading, *cells, *trailing)
    yield from pending


class _CsvCells:
    """CSV text for cells, each distinct text neutralised and quoted once; and each
    distinct scores JSON flattened once into its "score,value" pairs (both bounded: see
    ``_remembered``)."""

    def __init__(self):
        self.text: dict[str, str] = {}
        self.scores: dict[tuple[str, str, bool], list[str]] = {}

    def cell(self, value) -> str:
        if value.__class__ is not str:
            return _csv_value(value)
        return _remembered(self.text, value, lambda: _quoted(neutralise(value)))

    def score_pairs(self, scores_json: str, instrument_id: str, channel: str) -> list[str]:
        """Each score's "score,value,omed_table,omed_table_version,omed_blank_reason"
        cells (a blank OMED's reason depends on the questionnaire and on texting)."""

        def pairs() -> list[str]:
            scored = _flatten(json.loads(scores_json), instrument_id, channel)
            return [",".join(map(_csv_value, (name, *rest))) for name, *rest in scored]

        return _remembered(self.scores, (scores_json, instrument_id, channel == "sms"), pairs)


def patient_csv(
    session: Session, filters: AuditFilters, progress: Progress | None = None
) -> Iterator[str]:
    """The long table as CSV: a timepoint's shared columns are formatted once, then each
    answer's lines are joined around its score pairs."""
    cells = _CsvCells()
    cell = cells.cell
    responses = _PainResponses()
    lines = [",".join(map(_quoted, PATIENT_COLUMNS)) + "\r\n"]
    context = head = tail = None
    pending = ""
    for answer in counted(current_answers(session, filters), progress):
        if answer.context is not context:
            if pending:
                lines.append(pending)
            context = answer.context
            head = ",".join(map(cell, context.leading()))
            tail = ",".join(map(cell, context.trailing()))
            pending = "".join(
                f"{head},{','.join(map(cell, derived))},,,{tail}\r\n"
                for derived in responses.cells(context)
            )
        pairs = cells.score_pairs(answer.scores_json, answer.instrument_id, answer.channel)
        if not pairs:
            continue
        prefix = f"{head},{cell(answer.instrument_id)},{cell(answer.instrument_version)},"
        suffix = f",{cell(answer.channel)},{tail}\r\n"
        lines.append(prefix + (suffix + prefix).join(pairs) + suffix)
        if len(lines) >= 2000:
            yield "".join(lines)
            lines = []
    if pending:
        lines.append(pending)
    yield "".join(lines)


def _csv_value(value) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        return _quoted(value)
    return repr(value) if value.__class__ is float else str(value)


def _quoted(text: str) -> str:
    if any(mark in text for mark in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


PATIENT_COLUMN_DEFINITIONS = {
    "study_id": "The site's study id of the patient (no names or contact details).",
    "site": "The site's code.",
    "procedure_type": "Augmentation: kyphoplasty, vertebroplasty or none.",
    "electrode": "The radiofrequency electrode used.",
    "lesion_type": "Lytic, blastic or mixed.",
    "timepoint": "The protocol's timepoint (baseline, day1, week1 ...).",
    "days_since_procedure": "Days from the procedure to the answer (to the due date if "
    "never completed).",
    "instrument": "The questionnaire; pain_response rows are derived, for completed "
    "follow-up timepoints only, by the audit's rule: category is the consensus category "
    "against the completed baseline, or the reason it is not evaluable; basis says whether "
    "it came from the OMED or from the change in pain medicine (proxy). See the "
    "definitions below.",
    "instrument_version": "The questionnaire's version.",
    "score": "The score's name; omed.* are the oral morphine equivalent figures.",
    "value": "The score's value; 1/0 for yes/no flags.",
    "omed_table": "The OMED conversion table that produced an OMED figure.",
    "omed_table_version": "That table's version.",
    "omed_blank_reason": "Why an OMED figure is blank: not asked by text, needs review, or "
    "not answered.",
    "channel": "How the answer came: web, sms (text conversation) or nurse (phone entry).",
    "window_adherence": "on_time, early, late, or missed (window closed unanswered).",
    "sent_hours_from_due": "Hours from the due time to the invitation (UTC-independent).",
    "delivered_hours_from_due": "Hours from the due time to the delivery receipt.",
    "answered_hours_from_due": "Hours from the due time to completion.",
}


def patient_definitions(filters: AuditFilters, now: datetime) -> list[tuple[str, str]]:
    """The patient-level workbook's definitions: what it covers, each column, then the
    audit's definitions and the conversion tables shipped."""
    lines = [
        ("Generated (UTC)", now.strftime("%Y-%m-%d %H:%M")),
        ("Procedures covered", filters.describe()),
        ("Rows", "One row per patient, timepoint and score, in patient order."),
    ]
    lines += [
        (f"Column {name}", PATIENT_COLUMN_DEFINITIONS[name])
        for name in PATIENT_COLUMNS
        if name in PATIENT_COLUMN_DEFINITIONS
    ]
    lines.append(
        (
            "Sheet safety events",
            "One row per clinician-reported safety event of the procedures covered "
            "(the nurse's notes are left out).",
        )
    )
    lines += [
        (f"Safety column {name}", meaning) for name, meaning in SAFETY_COLUMN_DEFINITIONS.items()
    ]
    return lines + list(DEFINITIONS) + omed_table_definitions(())


def patient_xlsx(
    session: Session,
    filters: AuditFilters,
    now: datetime,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The long table as a workbook; past a sheet's row limit it goes on in "patients 2",
    "patients 3"..., each with the header row; then the definitions sheet."""
    workbook = WorkbookWriter(
        WorkbookInfo("Audit: de-identified patient-level answers", filters.describe(), now)
    )
    sheets, sheet = 0, None
    for row in patient_rows(session, filters, progress):  # already neutralised
        if sheet is None or sheet.rows > XLSX_SHEET_ROWS:
            sheets += 1
            sheet = workbook.sheet(
                "patients" if sheets == 1 else f"patients {sheets}", PATIENT_COLUMNS
            )
        sheet.append(row)
    if sheet is None:
        workbook.sheet("patients", PATIENT_COLUMNS)
    events = workbook.sheet("safety events", SAFETY_COLUMNS)
    for row in safety_rows(session, filters):
        events.append(neutralised(row))
    workbook.definitions(neutralised(line) for line in patient_definitions(filters, now))
    return workbook.chunks()


# FHIR


FHIR_SAMPLE_EVERY = 500  # one QuestionnaireResponse in this many gets full validation


class ResourceChecks:
    """The run-time checks of a bulk export's QuestionnaireResponses: the structural
    check on every one, full ``fhir.resources`` validation on the first of each
    questionnaire and on a random one in ``FHIR_SAMPLE_EVERY`` (seeded, so a run is
    repeatable). A resource that fails either stops the export with the reason."""

    def __init__(self, sample_every: int = FHIR_SAMPLE_EVERY, seed: int = 0):
        self.sample_every = sample_every
        self.random = random.Random(seed)
        self.seen: set[str] = set()
        self.validated = 0

    def check(self, resource: dict, instrument_id: str) -> None:
        check_questionnaire_response(resource)
        if instrument_id not in self.seen or self.random.randrange(self.sample_every) == 0:
            self.seen.add(instrument_id)
            QuestionnaireResponse.model_validate(resource)
            self.validated += 1


def response_ids(secret_key: str) -> Callable[[int], str]:
    """A QuestionnaireResponse's id from its row's, keyed with the app's secret: the same
    in every export of one installation (a register can match resubmissions), but without
    the key no one can tell the row, nor so the order and number of answers, from it."""
    digest = hmac.new(secret_key.encode(), b"pro-app FHIR response ids", hashlib.sha256)
    namespace = uuid.UUID(bytes=digest.digest()[:16])
    return lambda response_id: str(uuid.uuid5(namespace, f"response:{response_id}"))


def fhir_resources(
    session: Session,
    filters: AuditFilters,
    progress: Progress | None = None,
    checks: ResourceChecks | None = None,
    *,
    secret_key: str,
) -> Iterator[dict]:
    """The Questionnaires answered in the cohort, then one QuestionnaireResponse per
    answered questionnaire, de-identified, each with a stable id, each checked."""
    checks = checks or ResourceChecks()
    response_id = response_ids(secret_key)
    for instrument_id in _used_instruments(session, filters):
        yield to_questionnaire(get_instrument(instrument_id))  # validated in full
    for answer in counted(current_answers(session, filters, with_answers=True), progress):
        instrument, context = get_instrument(answer.instrument_id), answer.context
        resource = to_questionnaire_response(
            instrument,
            answer.answers,
            authored=None,
            status=FHIR_STATUS.get(context.status, "stopped"),
            include_free_text=False,
            validate=False,
            extra={
                "id": response_id(answer.response_id),
                # the version the patient answered, which a later one may have replaced
                "questionnaire": f"{canonical_url(instrument)}|{answer.instrument_version}",
                "subject": {
                    "identifier": {
                        "system": f"{DEFAULT_BASE}/sites/{context.site_code}/study-id",
                        "value": context.study_id,
                    }
                },
                "extension": [
                    {
                        "url": DAYS_EXTENSION,
                        "valueInteger": context.days_since_procedure,
                    },
                    {"url": TIMEPOINT_EXTENSION, "valueCode": context.timepoint},
                    *_omed_extensions(answer.scores),
                ],
            },
        )
        checks.check(resource, answer.instrument_id)
        yield resource


def _entry(resource: dict) -> dict:
    """A Bundle entry: a response is named by its id (a UUID), a Questionnaire by its url."""
    if resource["resourceType"] == "QuestionnaireResponse":
        return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
    return {"resource": resource}


def fhir_bundle(
    session: Session,
    filters: AuditFilters,
    now: datetime,
    progress: Progress | None = None,
    *,
    secret_key: str,
) -> Iterator[str]:
    """A FHIR R4 collection Bundle: the Questionnaires, then the QuestionnaireResponses."""
    header = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now.isoformat(),
    }
    opening = json.dumps(header)[:-1] + ', "entry": ['
    yield opening
    separator = ""
    lines = []
    for resource in fhir_resources(session, filters, progress, secret_key=secret_key):
        lines.append(separator + json.dumps(_entry(resource), separators=(",", ":")))
        separator = ","
        if len(lines) >= 500:
            yield "".join(lines)
            lines = []
    yield "".join(lines) + "]}"


def fhir_ndjson(
    session: Session,
    filters: AuditFilters,
    progress: Progress | None = None,
    *,
    secret_key: str,
) -> Iterator[bytes]:
    """FHIR bulk-data NDJSON: one resource a line, one file per resource type
    (Questionnaire.ndjson, QuestionnaireResponse.ndjson), in a zip."""
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            resources = fhir_resources(session, filters, progress, secret_key=secret_key)
            for kind, group in groupby(resources, key=itemgetter("resourceType")):
                with archive.open(f"{kind}.ndjson", "w", force_zip64=True) as target:
                    lines: list[str] = []
                    for resource in group:
                        lines.append(json.dumps(resource, separators=(",", ":")))
                        if len(lines) >= 500:
                            _write_lines(target, lines)
                    _write_lines(target, lines)
        handle.seek(0)
        while chunk := handle.read(256 * 1024):
            yield chunk


def _write_lines(target, lines: list[str]) -> None:
    if lines:
        target.write(("\n".join(lines) + "\n").encode("utf-8"))
        lines.clear()


def _omed_extensions(scores: dict) -> list[dict]:
    """The OMED of an answer with the id and version of the table that produced it."""
    extensions = []
    for value in scores.values():
        if not isinstance(value, dict) or not value.get("table"):
            continue
        coding = {"system": OMED_TABLES, "code": value["table"]}
        if value.get("table_version"):
            coding["version"] = value["table_version"]
        parts: list[dict] = [
            {"url": "table", "valueCoding": coding},
            {"url": "needsReview", "valueBoolean": bool(value.get("needs_review"))},
        ]
        if value.get("omed_mg_per_day") is not None:
            parts.insert(
                0,
                {
                    "url": "dailyDose",
                    "valueQuantity": {
                        "value": value["omed_mg_per_day"],
                        "unit": "mg/day",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg/d",
                    },
                },
            )
        extensions.append({"url": OMED_EXTENSION, "extension": parts})
    return extensions


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
    "patients": ("csv", "xlsx", "fhir", "ndjson"),
}


def export_chunks(
    session: Session,
    level: str,
    fmt: str,
    filters: AuditFilters,
    now: datetime,
    progress: Progress | None = None,
    *,
    secret_key: str,
) -> Iterator[str | bytes]:
    """The chunks of one export; aggregated tables have small cells suppressed, since
    exports leave the site. ``progress`` counts the answers a patient-level export reads;
    ``secret_key`` (the app's) keys the FHIR response ids (see ``response_ids``)."""
    if fmt not in FORMATS.get(level, ()):
        raise ValueError(f"no {fmt} export of {level}")
    if level == "aggregate":
        report = build_report(session, filters, now)
        min_count = minimum_cell_count(session, filters)
        if fmt == "csv":
            return aggregate_csv(report, min_count)
        return aggregate_xlsx(report, filters, min_count)
    if fmt == "csv":
        return patient_csv(session, filters, progress)
    if fmt == "xlsx":
        return patient_xlsx(session, filters, now, progress)
    if fmt == "ndjson":
        return fhir_ndjson(session, filters, progress, secret_key=secret_key)
    return fhir_bundle(session, filters, now, progress, secret_key=secret_key)
