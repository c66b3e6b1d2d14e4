"""The audit read from the database, its page and its exports, on both databases."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from openpyxl import load_workbook
from sqlmodel import Session, select

from pro_app.audit import exports
from pro_app.audit.exports import PATIENT_COLUMNS, export_chunks, neutralise, patient_csv
from pro_app.audit.report import build_report
from pro_app.audit.safety_rows import SAFETY_COLUMNS
from pro_app.audit.timelines import AuditFilters, timelines
from pro_app.followup.answer_saving import save_answers
from pro_app.models import AccessLog, Patient, Procedure, SafetyEvent, SurveyInstance
from pro_app.storage.engine import session_scope
from surveys import NotEvaluable

from .answering import ENROLLED, NOW, PROCEDURE, answer


@pytest.fixture(autouse=True)
def _audit_day(clock):
    """The web views read the clock: they run on the audit day too."""
    clock.move_to(NOW)


@pytest.fixture
def cohort(gen):
    """Site A: three patients (one without baseline); site B: one patient."""
    site_a, site_b = gen.site(min_cell_count=5), gen.site()
    a = [
        gen.patient(
            site_a, now=ENROLLED, first_name="Zebedee", study_id=f"A{n}", procedure_date=PROCEDURE
        ).patient
        for n in range(3)
    ]
    b = gen.patient(site_b, now=ENROLLED, study_id="B0", procedure_date=PROCEDURE).patient
    answer(gen.engine, a[0].id, "baseline", 8, 6, other=True)
    answer(gen.engine, a[0].id, "week4", 3, 2)
    answer(gen.engine, a[1].id, "baseline", 6, 0)
    answer(gen.engine, a[1].id, "week4", 6, 0, channel="nurse")
    answer(gen.engine, a[2].id, "week4", 5, 0)  # no baseline
    answer(gen.engine, b.id, "baseline", 9, 0)
    with session_scope(gen.engine) as session:
        session.exec(select(Patient).where(Patient.id == a[1].id)).one().study_id = "=cmd|calc"
        missed = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == a[2].id, SurveyInstance.timepoint == "baseline"
            )
        ).one()
        missed.status = "expired"
    return site_a, site_b, a, b


def test_timelines_read_the_current_answers(gen, cohort):
    site_a, _, a, _ = cohort
    answer(gen.engine, a[0].id, "week4", 2, 2)  # a correction supersedes the first answer
    with Session(gen.engine) as session:
        found = list(timelines(session, AuditFilters(site_id=site_a.id), NOW))
    assert [t.patient_id for t in found] == [p.id for p in a]
    first = found[0]
    assert [i.timepoint for i in first.instances][:2] == ["baseline", "day1"]
    baseline = first.at("baseline")  # "other" medicine: the OMED needs review
    assert (baseline.worst, baseline.omed, baseline.omed_needs_review) == (8, None, True)
    assert (first.at("week4").worst, first.at("week4").omed, first.at("week4").qol) == (2, 20, 8)
    assert first.at("week4").omed_provenance == ("opioids_aware", "2020")
    assert first.at("week4").channel == "web" and found[1].at("week4").channel == "nurse"


def test_the_report_counts_change_only_with_a_baseline(gen, cohort):
    site_a, *_ = cohort
    with Session(gen.engine) as session:
        report = build_report(session, AuditFilters(site_id=site_a.id), NOW)
    week4 = next(o for o in report.timepoints if o.timepoint == "week4")
    assert (week4.due, week4.answered, week4.change_n, week4.no_baseline) == (3, 3, 2, 1)
    assert sorted([week4.worst_change.median, week4.worst_change.mean]) == [-2.5, -2.5]
    assert week4.improved_2_points == 1
    assert (dict(week4.response), week4.response_not_evaluable) == ({"indeterminate": 1}, 2)
    baseline = next(o for o in report.timepoints if o.timepoint == "baseline")
    assert (baseline.due, baseline.answered) == (3, 2)


def text_of(chunks) -> str:
    return "".join(c if isinstance(c, str) else c.decode() for c in chunks)


def test_the_patient_level_table_is_de_identified_and_safe(gen, cohort):
    site_a, *_ = cohort
    with Session(gen.engine) as session:
        content = text_of(
            export_chunks(
                session,
                "patients",
                "csv",
                AuditFilters(site_id=site_a.id),
                NOW,
                secret_key="test-secret",
            )
        )
    rows = list(csv.reader(io.StringIO(content)))
    assert tuple(rows[0]) == PATIENT_COLUMNS
    assert "Zebedee" not in content and "+44" not in content and "HYPERLINK" not in content
    assert not re.search(r"\d{4}-\d\d-\d\d", content)  # no dates: relative days and hours
    by_score = {(r[0], r[5], r[9]): r for r in rows[1:]}
    worst = by_score[("A0", "week4", "worst")]
    assert worst[6:] == [
        "28",
        "pain_nrs",
        "1.0",
        "worst",
        "3.0",
        "",
        "",
        "",
        "web",
        "on_time",
        "0.0",
        "",
        "1.0",
    ]
    assert by_score[("A0", "baseline", "omed.needs_review")][10] == "1"
    blank = by_score[("A0", "baseline", "omed.omed_mg_per_day")]  # "other" medicine
    assert (blank[10], blank[13]) == ("", "needs review")
    omed = by_score[("A0", "week4", "omed.omed_mg_per_day")]
    assert omed[10:14] == ["20.0", "opioids_aware", "2020", ""]  # the figure with its table
    assert by_score[("A0", "week4", "omed.implausible")][10:13] == ["0", "opioids_aware", "2020"]
    assert ("'=cmd|calc", "week4", "worst") in by_score  # formula neutralised
    responses = {(r[0], r[5], r[9]): r[7:13] for r in rows[1:] if r[7] == "pain_response"}
    assert responses == {
        ("A0", "week4", "category"): [
            "pain_response",
            "2",
            "category",
            "not evaluable: OMED missing or needs review",  # baseline's "other" medicine
            "opioids_aware",
            "2020",
        ],
        ("'=cmd|calc", "week4", "category"): [
            "pain_response",
            "2",
            "category",
            "indeterminate",
            "opioids_aware",
            "2020",
        ],
        ("'=cmd|calc", "week4", "basis"): ["pain_response", "2", "basis", "OMED", "", ""],
        ("A2", "week4", "category"): [
            "pain_response",
            "2",
            "category",
            "not evaluable: no baseline pain score",
            "opioids_aware",
            "2020",
        ],
    }


def test_the_patient_level_workbook_matches_the_csv_and_splits_at_the_row_limit(
    gen, cohort, monkeypatch
):
    site_a, *_ = cohort
    filters = AuditFilters(site_id=site_a.id)
    with Session(gen.engine) as session:
        lines = list(csv.reader(io.StringIO(text_of(patient_csv(session, filters)))))
        monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 10)
        data = b"".join(
            export_chunks(session, "patients", "xlsx", filters, NOW, secret_key="test-secret")
        )
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets[:-2]]
    expected_sheets = -(-(len(lines) - 1) // 10)  # 10 data rows a sheet
    assert workbook.sheetnames == ["patients"] + [
        f"patients {n}" for n in range(2, expected_sheets + 1)
    ] + ["safety events", "definitions"]
    assert all(rows[0] == PATIENT_COLUMNS and len(rows) <= 11 for rows in sheets)
    assert workbook.properties.title == "Audit: de-identified patient-level answers"
    definitions = list(workbook["definitions"].iter_rows(values_only=True))
    assert definitions[0] == ("term", "definition")
    terms = {term for term, _meaning in definitions}
    assert {f"Column {name}" for name in PATIENT_COLUMNS} <= terms  # every column explained
    assert {"Generated (UTC)", "Pain response", "De-identification"} <= terms

    def same(value):  # a spreadsheet reads 8.0 back as 8
        try:
            return float(value)
        except (TypeError, ValueError):
            return "" if value is None else value

    cells = [[same(value) for value in row] for rows in sheets for row in rows[1:]]
    assert cells == [[same(value) for value in line] for line in lines[1:]]  # same order
    assert any(row[0] == "'=cmd|calc" for row in cells)  # neutralised in the workbook too


def test_the_patient_level_workbook_lists_each_safety_event_without_the_notes(gen, cohort):
    """What the register asks for beside the answers: the safety outcomes, one row each,
    the covered site's only, with days from the procedure and never the nurse's notes."""
    site_a, _, a, b = cohort
    nurse = gen.user(site_a).id
    with session_scope(gen.engine) as session:
        for patient, kind, symptomatic, grade, day in (
            (a[0], "cement_leakage", False, 1, 0),
            (a[0], "infection", True, 2, 9),
            (b, "thermal_injury", True, 3, 1),
        ):
            procedure = session.exec(
                select(Procedure).where(Procedure.patient_id == patient.id)
            ).one()
            session.add(
                SafetyEvent(
                    patient_id=patient.id,
                    procedure_id=procedure.id,
                    kind=kind,
                    symptomatic=symptomatic,
                    grade=grade,
                    event_date=PROCEDURE + timedelta(days=day),
                    notes="Mrs Zebedee rang",
                    recorded_by=nurse,
                )
            )
    with Session(gen.engine) as session:
        data = b"".join(
            export_chunks(
                session,
                "patients",
                "xlsx",
                AuditFilters(site_id=site_a.id),
                NOW,
                secret_key="test-secret",
            )
        )
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(workbook["safety events"].iter_rows(values_only=True))
    assert rows[0] == SAFETY_COLUMNS
    assert [row[:1] + row[5:] for row in rows[1:]] == [
        ("A0", "cement_leakage", "no", 1, 0),
        ("A0", "infection", "yes", 2, 9),
    ]
    cells = [
        value
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
    ]
    assert not any(isinstance(value, str) and "Zebedee" in value for value in cells)
    terms = {term for term, _ in workbook["definitions"].iter_rows(values_only=True)}
    assert "Safety column grade" in terms


def test_the_fhir_bundle_is_valid_r4_and_de_identified(gen, cohort):
    site_a, *_ = cohort
    with Session(gen.engine) as session:
        content = text_of(
            export_chunks(
                session,
                "patients",
                "fhir",
                AuditFilters(site_id=site_a.id),
                NOW,
                secret_key="test-secret",
            )
        )
    bundle = json.loads(content)
    Bundle.model_validate(bundle)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds[:3] == ["Questionnaire"] * 3
    responses = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] != "Questionnaire"
    ]
    assert len(responses) == 15  # five answered timepoints, three questionnaires each
    assert all("authored" not in r for r in responses)
    assert {r["subject"]["identifier"]["value"] for r in responses} == {"A0", "=cmd|calc", "A2"}
    assert "HYPERLINK" not in content and "Zebedee" not in content and "+44" not in content
    omeds = [
        extension["extension"]
        for r in responses
        for extension in r["extension"]
        if extension["url"] == exports.OMED_EXTENSION
    ]
    assert len(omeds) == 5  # one per answered opioid questionnaire
    week4 = next(parts for parts in omeds if parts[0]["url"] == "dailyDose")
    assert week4[0]["valueQuantity"]["value"] == 20
    assert week4[1]["valueCoding"] == {
        "system": exports.OMED_TABLES,
        "code": "opioids_aware",
        "version": "2020",
    }


def test_the_workbook_has_definitions_and_suppresses_small_cells(gen, cohort):
    site_a, *_ = cohort
    with Session(gen.engine) as session:
        data = b"".join(
            export_chunks(
                session,
                "aggregate",
                "xlsx",
                AuditFilters(site_id=site_a.id),
                NOW,
                secret_key="test-secret",
            )
        )
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    assert workbook.sheetnames == [
        "response",
        "pain",
        "pain_response",
        "opioids",
        "quality_of_life",
        "safety",
        "follow_up",
        "alert_handling",
        "definitions",
    ]
    assert workbook.properties.title == "Audit of outcomes"
    for sheet in workbook.worksheets[:-1]:  # the header in row 1: no title above it
        header = next(sheet.iter_rows(max_row=1, values_only=True))
        assert header[0] in ("timepoint", "measure", "event"), sheet.title
    response = [list(r) for r in workbook["response"].iter_rows(values_only=True)]
    assert response[0] == [
        "timepoint",
        "day",
        "due",
        "answered",
        "response rate %",
        "partly answered",
    ]
    baseline = next(r for r in response if r[0] == "baseline")
    # Three procedures, under the minimum of 5: every figure is hidden, the 0 too.
    assert baseline[2:] == ["<5", "<5", "<5", "<5"]
    terms = [r[0] for r in workbook["definitions"].iter_rows(values_only=True)]
    assert "Small cells" in terms and "Pain response" in terms and "De-identification" in terms
    assert "Sheet response" in terms  # each sheet's title, now that no row above holds it
    assert "OMED table opioids_aware 2020" in terms
    assert "Pain response: choices made by this project" in terms


def test_the_audit_page_is_for_auditors_and_scoped_to_their_site(client, auth, gen, cohort):
    site_a, site_b, *_ = cohort
    nurse = gen.user(site_a)
    auth.login(nurse.email)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export/patients.csv").status_code == 403
    auth.logout()
    auditor = gen.user(site_a, role="auditor")
    auth.login(auditor.email)
    page = client.get(f"/audit/?site={site_b.id}")
    assert page.status_code == 200 and f"{site_b.code}" not in page.text
    assert "3 procedures" in page.text and "1 answers at later timepoints" in page.text
    assert "Pain response: choices made by this project" in page.text
    assert "OMED table opioids_aware 2020" in page.text  # the table behind the figures
    download = client.get(f"/audit/export/patients.csv?site={site_b.id}")
    assert download.headers.get_all("Content-Type") == ["text/csv; charset=utf-8"]
    exported = download.text
    assert "B0" not in exported and "A0" in exported
    with Session(gen.engine) as session:
        actions = [row.action for row in session.exec(select(AccessLog).order_by(AccessLog.id))]
    assert actions == ["view_audit", "export_patients_csv"]
    auth.logout()
    registry = gen.user(None, role="auditor")
    auth.login(registry.email)
    assert "4 procedures" in client.get("/audit/").text
    assert "B0" in client.get(f"/audit/export/patients.csv?site={site_b.id}").text
    assert client.get("/audit/export/aggregate.fhir").status_code == 404


def test_the_export_command_writes_a_file_and_logs_it(runner, gen, cohort, tmp_path):
    site_a, *_ = cohort
    auditor = gen.user(site_a, role="auditor")
    out = tmp_path / "outcomes.csv"
    result = runner.invoke(
        args=["export", "--format", "csv", "--as", auditor.email, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["section", "row", "column", "value"]
    assert ["response", "week4 | 28", "due", "<5"] in rows
    nurse = gen.user(site_a)
    refused = runner.invoke(
        args=["export", "--format", "fhir", "--as", nurse.email, "--out", str(out)]
    )
    assert refused.exit_code != 0 and "not an active auditor" in refused.output
    with Session(gen.engine) as session:
        assert [r.action for r in session.exec(select(AccessLog))] == ["export_aggregate_csv"]


def test_neutralise_leaves_numbers_and_plain_text_alone():
    assert [neutralise(v) for v in ("=1+1", "+4", "-x", "@a", "\tx", "\rx")] == [
        "'=1+1",
        "'+4",
        "'-x",
        "'@a",
        "'\tx",
        "'\rx",
    ]
    assert [neutralise(v) for v in (-4, 2.5, "week4", None)] == [-4, 2.5, "week4", None]


def test_a_long_read_does_not_block_writers(engine, gen, cohort):
    from pro_app.storage.engine import read_session

    site_a, _, a, _ = cohort
    with read_session(engine) as reading:
        before = list(timelines(reading, AuditFilters(site_id=site_a.id), NOW))
        with session_scope(engine) as writing:  # would wait on a write lock on SQLite
            writing.get(Patient, a[0].id).first_name = "Changed"
        again = list(timelines(reading, AuditFilters(site_id=site_a.id), NOW))
    assert len(before) == len(again) == 3


def test_a_change_of_table_and_an_implausible_dose_are_left_out_and_counted(gen):
    site = gen.site()
    first, second = (
        gen.patient(site, now=ENROLLED, study_id=f"T{n}", procedure_date=PROCEDURE).patient
        for n in range(2)
    )
    answer(gen.engine, first.id, "baseline", 6, 3)  # morphine 30 mg/day, Opioids Aware
    with session_scope(gen.engine) as session:
        session.get(type(site), site.id).omed_table = "cdc_2022"
    answer(gen.engine, first.id, "week4", 6, 6)  # 60 mg/day, CDC: not compared
    answer(gen.engine, second.id, "baseline", 6, 48)
    with session_scope(gen.engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == second.id, SurveyInstance.timepoint == "baseline"
            )
        ).one()
        slip = [{"drug": "morphine", "strength": 10000, "doses": 48}]
        at = instance.due_at + timedelta(hours=2)
        save_answers(
            session,
            instance,
            "analgesic_use",
            {"medicines": slip, "medicine_change": "same"},
            channel="nurse",
            now=at,
        )
        assert instance.omed_implausible and instance.omed_mg_per_day is None
    with Session(gen.engine) as session:
        report = build_report(session, AuditFilters(site_id=site.id), NOW)
    baseline, week4 = (
        next(o for o in report.timepoints if o.timepoint == name) for name in ("baseline", "week4")
    )
    assert (baseline.omed_needs_review, baseline.omed_implausible, baseline.omed.n) == (1, 1, 1)
    assert baseline.omed.mean == 30  # the 480,000 mg/day slip is not in the mean
    assert (week4.omed_table_changed, week4.omed_change.n) == (1, 0)
    assert week4.not_evaluable == {NotEvaluable.TABLE_CHANGED: 1}
    assert report.omed_tables == {("opioids_aware", "2020"): 1, ("cdc_2022", "2022"): 2}


def _text_through(engine, patient_id, timepoint):
    """Answer a timepoint by text, question by question, as the conversation asks it."""
    from pro_app.followup.conversation import answer_text, first_question, questions_for
    from pro_app.models import Site

    replies = {"scale": "4", "choice": "2", "yes_no": "no", "checklist": "0"}
    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == patient_id, SurveyInstance.timepoint == timepoint
            )
        ).one()
        patient = session.get(Patient, patient_id)
        site = session.get(Site, patient.site_id)
        instance.status, instance.invited_at = "sent", instance.due_at
        at = instance.due_at + timedelta(hours=1)
        first_question(instance, patient, site)
        for question in questions_for(instance, session):
            answer_text(session, instance, patient, site, replies[question.kind], at)
        assert instance.status == "completed"


def test_a_blank_omed_says_why(gen):
    """By text the medicines are never asked; on the web the list can be left out."""
    site = gen.site()
    texted, skipped = (
        gen.patient(site, now=ENROLLED, study_id=f"R{n}", procedure_date=PROCEDURE).patient
        for n in range(2)
    )
    _text_through(gen.engine, texted.id, "week4")
    with session_scope(gen.engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == skipped.id, SurveyInstance.timepoint == "week4"
            )
        ).one()
        instance.status = "sent"
        save_answers(
            session,
            instance,
            "analgesic_use",
            {"medicine_change": "less"},
            channel="web",
            now=instance.due_at + timedelta(hours=1),
        )
    filters = AuditFilters(site_id=site.id)
    with Session(gen.engine) as session:
        lines = list(csv.reader(io.StringIO(text_of(patient_csv(session, filters)))))
        rows = list(exports.patient_rows(session, filters))
    reason = PATIENT_COLUMNS.index("omed_blank_reason")
    omed = {(r[0], r[13]) for r in lines[1:] if r[9] == "omed"}
    assert omed == {("R0", "not asked by text"), ("R1", "not answered")}
    assert {r[reason] for r in rows if r[9] == "omed"} == {"not asked by text", "not answered"}
    assert all(r[13] == "" for r in lines[1:] if r[9] != "omed")
