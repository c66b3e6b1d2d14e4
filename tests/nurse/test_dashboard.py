"""The nurse's patient list and alert acknowledgement."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event
from sqlmodel import Session, select

from pro_app.models import Alert, Patient, SurveyInstance
from pro_app.nurse.dashboard import Filters, patient_page
from pro_app.storage.engine import session_scope
from tests.followup.test_worsening import answer

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def raise_for(engine, patient_id: int, kind: str, due_by: datetime) -> int:
    with session_scope(engine) as session:
        alert = Alert(
            patient_id=patient_id,
            kind=kind,
            urgency="now",
            summary=kind,
            dedupe_key=f"{kind}:{patient_id}:{due_by.isoformat()}",
            due_by=due_by,
        )
        session.add(alert)
        session.flush()
        return alert.id


def test_open_alerts_come_first_red_flags_above_all(gen):
    site = gen.site()
    quiet, routine, urgent = (
        gen.patient(site, now=ENROLLED, study_id=study).patient for study in ("A1", "B2", "C3")
    )
    raise_for(gen.engine, routine.id, "non_response", ENROLLED + timedelta(days=3))
    raise_for(gen.engine, urgent.id, "red_flag", ENROLLED + timedelta(hours=1))
    with Session(gen.engine) as session:
        rows, more = patient_page(session, site.id, Filters(), 1, ENROLLED + timedelta(hours=2))
    assert [r.patient.study_id for r in rows] == ["C3", "B2", "A1"]
    assert (rows[0].red_flags, rows[0].overdue_alerts, rows[1].overdue_alerts) == (1, 1, 0)
    assert not more
    with Session(gen.engine) as session:
        only, _ = patient_page(session, site.id, Filters(alerts_only=True), 1, ENROLLED)
    assert [r.patient.study_id for r in only] == ["C3", "B2"]


def test_rows_show_pain_change_opioids_and_response_rate(gen, tick):
    site = gen.site()
    gen.patient(site, now=ENROLLED, procedure_date=date(2027, 1, 11))
    answer(gen.engine, tick, "baseline", 8, 6)  # worst 8, 60 mg/day
    answer(gen.engine, tick, "day1", 5, 3)  # worst 5, 30 mg/day
    tick(datetime(2027, 1, 18, 10, 5, tzinfo=UTC))  # week 1 sent, not answered
    with Session(gen.engine) as session:
        (row,), _ = patient_page(
            session, site.id, Filters(), 1, datetime(2027, 1, 18, 12, 0, tzinfo=UTC)
        )
    assert (row.last_worst, row.worst_change, row.omed) == (5, -3, 30)
    assert (row.answered, row.due) == (2, 3)
    assert row.next_due == datetime(2027, 1, 25, 10, 0, tzinfo=UTC)
    assert row.days_since(date(2027, 1, 18)) == 7


def test_a_baseline_alone_shows_its_pain_with_no_change(gen, tick):
    """Only the baseline answered: its worst pain, not "(+0)" from itself."""
    site = gen.site()
    gen.patient(site, now=ENROLLED, procedure_date=date(2027, 1, 11))
    answer(gen.engine, tick, "baseline", 8, 6)
    with Session(gen.engine) as session:
        (row,), _ = patient_page(
            session, site.id, Filters(), 1, datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
        )
    assert (row.last_worst, row.worst_change) == (8, None)


def test_a_survey_answered_before_its_due_time_counts_as_due_and_answered(gen, tick):
    """A baseline taken by phone once its window opened, before its due time, showed "–"
    under Answered (answered 1 of 0 due), as if the patient had answered nothing."""
    site = gen.site()
    gen.patient(site, now=ENROLLED, procedure_date=date(2027, 1, 11))
    answer(gen.engine, tick, "baseline", 8, 6)
    with session_scope(gen.engine) as session:
        baseline = session.exec(
            select(SurveyInstance).where(SurveyInstance.timepoint == "baseline")
        ).one()
        assert baseline.status == "completed"
        baseline.due_at = baseline.completed_at + timedelta(days=2)
        looked_at = baseline.completed_at + timedelta(hours=1)
    with Session(gen.engine) as session:
        (row,), _ = patient_page(session, site.id, Filters(), 1, looked_at)
    assert (row.answered, row.due, row.response_rate) == (1, 1, 1.0)


def count_queries(engine, run) -> int:
    statements = []

    def record(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_the_list_costs_the_same_queries_for_10_or_50_patients(gen, tick):
    small, large = gen.site(), gen.site()
    for site, count in ((small, 10), (large, 50)):
        for _ in range(count):
            gen.patient(site, now=ENROLLED)
    tick(ENROLLED)

    def page_of(site):
        def run():
            with Session(gen.engine) as session:
                rows, _ = patient_page(session, site.id, Filters(), 1, ENROLLED)
                assert rows

        return run

    assert count_queries(gen.engine, page_of(small)) == count_queries(gen.engine, page_of(large))


def test_the_days_filter_lists_patients_whose_procedure_is_still_to_come(client, auth, gen, clock):
    """Every range started at day 0, so no choice listed a patient enrolled before the
    procedure, whose baseline is the one survey that must come back before it."""
    clock.move_to(ENROLLED)
    site = gen.site()
    gen.patient(site, now=ENROLLED, study_id="SOON1", procedure_date=date(2027, 1, 11))
    gen.patient(site, now=ENROLLED, study_id="DONE1", procedure_date=date(2027, 1, 1))
    auth.login(gen.user(site).email)
    before = client.get("/patients/?days=before").text
    assert '<option value="before" selected>before the procedure</option>' in before
    assert "SOON1" in before and "DONE1" not in before
    recent = client.get("/patients/?days=0-14").text
    assert "DONE1" in recent and "SOON1" not in recent


def test_the_list_page_filters_and_searches(client, auth, gen):
    site = gen.site()
    gen.patient(site, study_id="KY1", augmentation="kyphoplasty")
    gen.patient(site, study_id="VE1", augmentation="vertebroplasty")
    auth.login(gen.user(site).email)
    page = client.get("/patients/?procedure=vertebroplasty").text
    assert "VE1" in page and "KY1" not in page
    assert "KY1" in client.get("/patients/?q=ky").text
    assert "not for converting" in page


def test_search_takes_underscore_and_percent_as_typed(client, auth, gen):
    site = gen.site()
    gen.patient(site, study_id="AB_1")
    gen.patient(site, study_id="ABX1")
    auth.login(gen.user(site).email)
    found = client.get("/patients/?q=ab_1").text
    assert "AB_1" in found and "ABX1" not in found
    assert "ABX1" not in client.get("/patients/?q=%25").text


def test_a_nurse_acknowledges_an_alert_with_the_action_taken(client, auth, gen, clock):
    site = gen.site()
    patient = gen.patient(site, now=ENROLLED).patient
    clock.move_to(ENROLLED + timedelta(days=2))
    an_hour_ago = ENROLLED + timedelta(days=2, hours=-1)
    alert_id = raise_for(gen.engine, patient.id, "red_flag", an_hour_ago)
    nurse = gen.user(site)
    auth.login(nurse.email)
    detail = client.get(f"/patients/{patient.id}").text
    assert "overdue" in detail
    response = client.post(
        f"/patients/{patient.id}/alerts/{alert_id}/acknowledge",
        data={"action": "called", "note": "advised A&E"},
    )
    assert response.status_code == 302
    with Session(gen.engine) as session:
        alert = session.get(Alert, alert_id)
    assert (alert.action, alert.action_note, alert.acknowledged_by) == (
        "called",
        "advised A&E",
        nurse.id,
    )
    assert alert.acknowledged_at is not None
    assert "Called the patient: advised A&amp;E" in client.get(f"/patients/{patient.id}").text


def test_another_sites_nurse_cannot_acknowledge(client, auth, gen):
    theirs = gen.patient(gen.site(), now=ENROLLED).patient
    alert_id = raise_for(gen.engine, theirs.id, "red_flag", ENROLLED)
    auth.login(gen.user(gen.site()).email)
    url = f"/patients/{theirs.id}/alerts/{alert_id}/acknowledge"
    assert client.post(url, data={"action": "called"}).status_code == 404
    with Session(gen.engine) as session:
        assert session.exec(select(Alert)).one().acknowledged_at is None


def test_paused_patients_can_be_chosen_in_the_follow_up_filter(client, auth, gen):
    from pro_app.nurse.actions import pause

    site = gen.site()
    gen.patient(site, study_id="ACTIVE1")
    held = gen.patient(site, study_id="HELD1").patient
    nurse = gen.user(site)
    with session_scope(gen.engine) as session:
        now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
        pause(session, session.get(Patient, held.id), "in hospital", user_id=nurse.id, now=now)
    auth.login(nurse.email)
    page = client.get("/patients/?status=paused").text
    assert '<option value="paused" selected>Paused</option>' in page
    assert "HELD1" in page and "ACTIVE1" not in page
