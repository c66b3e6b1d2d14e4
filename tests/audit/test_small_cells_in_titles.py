"""Counts in section titles and definitions follow the small-cell rule of the cells: a
site with a minimum of 5 and three patients, one opted out of texts, on both databases."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from pro_app.audit import exports
from pro_app.audit.exports import export_chunks
from pro_app.audit.report import build_report
from pro_app.audit.tables import sections
from pro_app.audit.timelines import AuditFilters
from pro_app.models import Patient
from pro_app.storage.engine import session_scope

from .answering import ENROLLED, NOW, PROCEDURE, answer

SMALL_COUNT = re.compile(r"\b[1-4] (procedures|patients)\b")


@pytest.fixture(autouse=True)
def _audit_day(clock):
    clock.move_to(NOW)


@pytest.fixture
def small_site(gen):
    """Three procedures, each answered at baseline; the second patient opted out of texts."""
    site = gen.site(min_cell_count=5)
    patients = [
        gen.patient(site, now=ENROLLED, study_id=f"S{n}", procedure_date=PROCEDURE).patient
        for n in range(3)
    ]
    for patient in patients:
        answer(gen.engine, patient.id, "baseline", 6, 2)
    with session_scope(gen.engine) as session:
        session.get(Patient, patients[1].id).sms_opted_out = True
    return site


def _workbook(data: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def _texts(rows) -> list[str]:
    return [value for row in rows for value in row if isinstance(value, str)]


def test_the_aggregate_workbook_suppresses_counts_in_titles_and_definitions(gen, small_site):
    filters = AuditFilters(site_id=small_site.id)
    with Session(gen.engine) as session:
        sheets = _workbook(
            b"".join(
                export_chunks(session, "aggregate", "xlsx", filters, NOW, secret_key="test-secret")
            )
        )
    meaning = dict(sheets["definitions"][1:])
    assert meaning["Sheet follow_up"] == "Follow-up quality (<5 patients opted out of texts)"
    assert meaning["Sheet safety"] == "Safety events (clinician-reported) in <5 procedures"
    assert meaning["Procedures covered"] == "<5: all procedures"
    assert not [
        text for rows in sheets.values() for text in _texts(rows) if SMALL_COUNT.search(text)
    ]


def test_without_suppression_the_titles_carry_the_exact_counts(gen, small_site):
    """The counts are in the titles (not dropped): suppression is what hides them."""
    filters = AuditFilters(site_id=small_site.id)
    with Session(gen.engine) as session:
        report = build_report(session, filters, NOW)
    titles = {section.key: section.title() for section in sections(report)}
    assert titles["follow_up"] == "Follow-up quality (1 patients opted out of texts)"
    assert titles["safety"] == "Safety events (clinician-reported) in 3 procedures"
    sheets = _workbook(b"".join(exports.aggregate_xlsx(report, filters, 0)))
    meaning = dict(sheets["definitions"][1:])
    assert meaning["Sheet follow_up"] == titles["follow_up"]
    assert meaning["Procedures covered"] == "3: all procedures"
    suppressed = dict(exports.definitions(report, filters, 5))
    assert suppressed["Procedures covered"] == "<5: all procedures"


def test_the_aggregate_csv_and_the_patient_level_definitions_hold_no_small_count(gen, small_site):
    filters = AuditFilters(site_id=small_site.id)
    with Session(gen.engine) as session:
        content = "".join(
            export_chunks(session, "aggregate", "csv", filters, NOW, secret_key="test-secret")
        )
        patient_sheets = _workbook(
            b"".join(
                export_chunks(session, "patients", "xlsx", filters, NOW, secret_key="test-secret")
            )
        )
    rows = list(csv.reader(io.StringIO(content)))
    assert ["response", "baseline | 0", "due", "<5"] in rows
    assert not [text for text in _texts(rows) if SMALL_COUNT.search(text)]
    meaning = dict(patient_sheets["definitions"][1:])
    assert meaning["Procedures covered"] == "all procedures"  # the filters, no count
    assert not [t for t in _texts(patient_sheets["definitions"]) if SMALL_COUNT.search(t)]


def test_the_page_for_the_sites_auditors_shows_the_exact_counts(client, auth, gen, small_site):
    auth.login(gen.user(small_site, role="auditor").email)
    page = client.get("/audit/").text
    assert "Follow-up quality (1 patients opted out of texts)" in page
    assert "Safety events (clinician-reported) in 3 procedures" in page


def test_in_a_cohort_smaller_than_the_minimum_no_figure_is_exact_not_even_zero(gen, small_site):
    """Three procedures under a minimum of 5: a 0 beside a "<5" would say what the hidden
    cell holds (every patient in it), so every figure of the aggregate files is "<5"."""
    filters = AuditFilters(site_id=small_site.id)
    with session_scope(gen.engine) as session:  # no one opted out: a 0 in a title
        for patient in session.exec(select(Patient)):
            patient.sms_opted_out = False
    with Session(gen.engine) as session:
        content = "".join(
            export_chunks(session, "aggregate", "csv", filters, NOW, secret_key="test-secret")
        )
        sheets = _workbook(
            b"".join(
                export_chunks(session, "aggregate", "xlsx", filters, NOW, secret_key="test-secret")
            )
        )
        report = build_report(session, filters, NOW)
    meaning = dict(sheets["definitions"][1:])
    assert meaning["Sheet follow_up"] == "Follow-up quality (<5 patients opted out of texts)"
    opioids = sheets["opioids"]
    tables = opioids[0].index("OMED conversion tables")
    assert {row[tables] for row in opioids[1:]} <= {"<5", None}
    rows = list(csv.reader(io.StringIO(content)))[1:]
    values = {value for *_, value in rows}
    assert "<5" in values
    assert not [value for value in values if re.fullmatch(r"-?[0-9.]+", value)]
    safety = sheets["safety"][1:]
    assert safety and all(row[1:] and set(row[1:]) <= {"<5", None} for row in safety)
    exact = list(exports.aggregate_rows(report, 0))  # without suppression, zeros are there
    assert any(value == 0 for *_, value in exact)
