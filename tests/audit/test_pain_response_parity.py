"""The patient-level export's pain response agrees with the audit's counts, on both
databases: a small mixed cohort (web, text, a baseline answered in part, a follow-up
answered in part) whose categories are worked out by hand below."""

import csv
import io
from collections import Counter

import pytest
from sqlmodel import Session, select

from pro_app.audit.exports import PATIENT_COLUMNS, export_chunks, patient_rows
from pro_app.audit.report import build_report
from pro_app.audit.timelines import AuditFilters
from pro_app.models import SurveyInstance
from pro_app.storage.engine import session_scope
from surveys import NotEvaluable

from .answering import ENROLLED, NOW, PROCEDURE, answer, answer_in_parts

STUDY, TIMEPOINT, INSTRUMENT, SCORE, VALUE = (
    PATIENT_COLUMNS.index(name)
    for name in ("study_id", "timepoint", "instrument", "score", "value")
)


@pytest.fixture(autouse=True)
def _audit_day(clock):
    clock.move_to(NOW)


def _pain(worst):
    return {"worst": worst, "average": worst, "now": worst}


def _morphine(doses):
    return {"medicines": [{"drug": "morphine", "strength": 10, "doses": doses}]}


@pytest.fixture
def mixed(gen):
    """At week 4:
    - WEB: pain 8 -> 3 on 60 mg/day morphine throughout: partial, from the OMED;
    - TEXT: by text (no medicines list), pain 8 -> 4, "the same" pain medicine: partial,
      from the medicine-change proxy;
    - PART: a baseline with pain and medicines answered but never completed (it expired),
      then week 4 completed: no baseline, not evaluable (no baseline pain score);
    - OPEN: a completed baseline, week 4 answered in part (pain only): not counted.
    """
    site = gen.site()
    ids = {
        name: gen.patient(site, now=ENROLLED, study_id=name, procedure_date=PROCEDURE).patient.id
        for name in ("WEB", "TEXT", "PART", "OPEN")
    }
    answer(gen.engine, ids["WEB"], "baseline", 8, 6)
    answer(gen.engine, ids["WEB"], "week4", 3, 6)
    for timepoint, worst in (("baseline", 8), ("week4", 4)):
        answers = {"pain_nrs": _pain(worst), "qol_overall": {"overall": 5}}
        if timepoint == "week4":
            answers["analgesic_use"] = {"medicine_change": "same"}
        answer_in_parts(gen.engine, ids["TEXT"], timepoint, answers, channel="sms")
    partial = {"pain_nrs": _pain(8), "analgesic_use": _morphine(6)}
    answer_in_parts(gen.engine, ids["PART"], "baseline", partial, finish=False)
    with session_scope(gen.engine) as session:
        session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == ids["PART"], SurveyInstance.timepoint == "baseline"
            )
        ).one().status = "expired"
    answer(gen.engine, ids["PART"], "week4", 3, 3)
    answer(gen.engine, ids["OPEN"], "baseline", 8, 6)
    answer_in_parts(gen.engine, ids["OPEN"], "week4", {"pain_nrs": _pain(2)}, finish=False)
    return AuditFilters(site_id=site.id)


def _derived(rows) -> dict[tuple[str, str], str]:
    """(study id, score) -> value of the week-4 pain response rows."""
    return {
        (row[STUDY], row[SCORE]): row[VALUE]
        for row in rows
        if row[INSTRUMENT] == "pain_response" and row[TIMEPOINT] == "week4"
    }


def test_the_patient_level_categories_add_up_to_the_audits_counts(gen, mixed):
    with Session(gen.engine) as session:
        report = build_report(session, mixed, NOW)
        content = "".join(
            export_chunks(session, "patients", "csv", mixed, NOW, secret_key="test-secret")
        )
        workbook_rows = list(patient_rows(session, mixed))  # what the XLSX writes
    week4 = next(o for o in report.timepoints if o.timepoint == "week4")
    assert dict(week4.response) == {"partial": 2}
    assert (week4.response_from_proxy, week4.partly_answered) == (1, 1)
    assert dict(week4.not_evaluable) == {NotEvaluable.NO_BASELINE_PAIN: 1}

    derived = _derived(list(csv.reader(io.StringIO(content)))[1:])
    assert derived == {
        ("WEB", "category"): "partial",
        ("WEB", "basis"): "OMED",
        ("TEXT", "category"): "partial",
        ("TEXT", "basis"): "medicine change (proxy)",
        ("PART", "category"): "not evaluable: no baseline pain score",
    }  # nothing for OPEN: week 4 was not completed
    assert _derived(workbook_rows) == derived

    categories = Counter(v for (_, score), v in derived.items() if score == "category")
    bases = Counter(v for (_, score), v in derived.items() if score == "basis")
    audit = Counter(week4.response) + Counter(
        {f"not evaluable: {reason.describe()}": n for reason, n in week4.not_evaluable.items()}
    )
    assert categories == audit
    assert bases["medicine change (proxy)"] == week4.response_from_proxy
    assert bases["OMED"] == sum(week4.response.values()) - week4.response_from_proxy


def test_a_proxy_category_carries_no_conversion_table(gen, mixed):
    """The proxy judged it from the medicine change, not from an OMED of some table."""
    table = PATIENT_COLUMNS.index("omed_table")
    with Session(gen.engine) as session:
        rows = list(patient_rows(session, mixed))
    category = {
        row[STUDY]: row[table]
        for row in rows
        if row[INSTRUMENT] == "pain_response" and row[SCORE] == "category"
    }
    assert category == {"WEB": "opioids_aware", "TEXT": None, "PART": "opioids_aware"}
