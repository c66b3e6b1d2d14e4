"""Triage at a glance: the patient list says which alerts are open, how old and how late,
sorts by urgency, then lateness, then age, and sorts and filters by column."""

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from pro_app.models import Alert, InstanceStatus, SurveyInstance
from pro_app.nurse.dashboard import Filters, patient_page
from pro_app.nurse.triage import Outcomes, alert_lines, describe, duration
from pro_app.storage.engine import session_scope
from tests.followup.test_worsening import answer

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
HOURS = {"now": 1, "24h": 24, "routine": 72}


def open_alert(engine, patient_id, kind, urgency, raised_at, key="", instance_id=None) -> int:
    """An open alert as ``raise_alert`` stores it (target time from its urgency)."""
    with session_scope(engine) as session:
        alert = Alert(
            patient_id=patient_id,
            instance_id=instance_id,
            kind=kind,
            urgency=urgency,
            summary=f"{kind} summary",
            dedupe_key=key or f"{kind}:{patient_id}:{raised_at.isoformat()}",
            created_at=raised_at,
            due_by=raised_at + timedelta(hours=HOURS[urgency]),
        )
        session.add(alert)
        session.flush()
        return alert.id


@pytest.fixture
def ward(gen):
    """A site with a patient for each kind of alert, raised at different times."""
    site = gen.site(timezone="Europe/London")
    enrolled = NOW - timedelta(days=60)

    def patient(study_id: str, days_ago: int = 40):
        procedure_date = (NOW - timedelta(days=days_ago)).date()
        return gen.patient(
            site, now=enrolled, study_id=study_id, procedure_date=procedure_date
        ).patient

    late_flag = patient("AA01", days_ago=50)
    fresh_24h = patient("AA02", days_ago=10)
    fresh_now = patient("AA03", days_ago=100)
    worse = patient("AA04")
    opioids = patient("AA05")
    silent = patient("AA06")
    quiet = patient("AA00", days_ago=5)
    e = gen.engine
    five_weeks = NOW - timedelta(weeks=5)
    open_alert(e, late_flag.id, "red_flag", "now", five_weeks, "red_flag:901:weakness")
    open_alert(e, fresh_24h.id, "red_flag", "24h", NOW - timedelta(minutes=20),
               "red_flag:902:severe_back_pain")  # fmt: skip
    open_alert(e, fresh_now.id, "red_flag", "now", NOW - timedelta(minutes=30),
               "red_flag:903:bladder_bowel")  # fmt: skip
    open_alert(e, worse.id, "pain_worse", "24h", NOW - timedelta(days=2))
    open_alert(e, worse.id, "non_response", "routine", NOW - timedelta(days=4))
    open_alert(e, opioids.id, "opioid_up", "routine", NOW - timedelta(days=1))
    open_alert(e, silent.id, "non_response", "routine", NOW - timedelta(days=10))
    return site, {p.study_id: p for p in (late_flag, fresh_24h, fresh_now, worse, opioids,
                                          silent, quiet)}  # fmt: skip


def page(engine, site, **filters) -> list:
    with Session(engine) as session:
        rows, _ = patient_page(session, site.id, Filters(**filters), 1, NOW)
    return rows


def test_rows_sort_by_urgency_then_lateness_then_age(gen, ward):
    site, _ = ward
    rows = page(gen.engine, site)
    # The call-now flag five weeks overdue leads; the fresh call-now flag (due in 30
    # minutes) comes next, above the fresh 24-hour flag; then worsening; then no reply.
    assert [r.patient.study_id for r in rows] == [
        "AA01", "AA03", "AA02", "AA04", "AA05", "AA06", "AA00",
    ]  # fmt: skip


def test_an_unreadable_reply_to_the_warning_signs_ranks_with_24_hour_flags(gen, ward):
    site, patients = ward
    open_alert(gen.engine, patients["AA06"].id, "unreadable_reply", "24h", NOW - timedelta(hours=1))
    rows = page(gen.engine, site)
    # Raised 1 h ago, due 40 min before the 24-hour flag raised 20 min ago.
    assert [r.patient.study_id for r in rows][:4] == ["AA01", "AA03", "AA06", "AA02"]
    lines = {r.patient.study_id: [x.text for x in r.alerts] for r in rows}
    assert lines["AA06"][0] == "Text reply unreadable, may describe a warning sign: read, call"


def test_each_row_says_what_is_open_how_old_and_how_late(gen, ward):
    site, _ = ward
    lines = {
        r.patient.study_id: [(x.text, x.age(NOW), x.overdue(NOW)) for x in r.alerts]
        for r in page(gen.engine, site)
    }
    assert lines["AA01"] == [
        ("Red flag, call now: new weakness or heaviness in legs or arms", "5 wk", "4 wk")
    ]
    assert lines["AA02"] == [("Red flag, within 24 h: severe or worsening spinal pain",
                              "20 min", None)]  # fmt: skip
    assert lines["AA04"] == [
        ("Worst pain up from baseline", "2 d", "1 d"),  # no instance: no figures to quote
        ("No reply ×2", "4 d", "1 d"),
    ]
    assert lines["AA05"] == [("More pain medicine than at baseline", "1 d", None)]
    assert lines["AA00"] == []


def test_a_worsening_alert_quotes_its_change_from_baseline(gen, tick):
    site = gen.site()
    gen.patient(site, now=datetime(2027, 1, 4, 9, 0, tzinfo=UTC), procedure_date=date(2027, 1, 11))
    answer(gen.engine, tick, "baseline", 5, 6)  # worst 5, 60 mg/day
    answer(gen.engine, tick, "day1", 7, 6)
    answer(gen.engine, tick, "week1", 8, 9)  # +3, 90 mg/day: +50%
    with Session(gen.engine) as session:
        week1 = session.exec(
            select(SurveyInstance).where(SurveyInstance.timepoint == "week1")
        ).one()
        rows, _ = patient_page(
            session, site.id, Filters(), 1, week1.completed_at + timedelta(days=2)
        )
    (row,) = rows
    assert [line.text for line in row.alerts] == [
        "Worst pain +3 from baseline",
        "Opioid use up 50% (60 → 90 mg/day)",
    ]
    assert row.last_answered == week1.completed_at


def test_no_reply_counts_the_timepoints_missed_in_a_row(gen, tick):
    site = gen.site()
    enrolled = gen.patient(
        site, now=datetime(2027, 1, 4, 9, 0, tzinfo=UTC), procedure_date=date(2027, 1, 11)
    )
    answer(gen.engine, tick, "baseline", 5, 6)
    with session_scope(gen.engine) as session:
        for instance in session.exec(select(SurveyInstance).where(
                SurveyInstance.timepoint.in_(("day1", "week1", "week2")))):  # fmt: skip
            instance.status = InstanceStatus.EXPIRED
    now = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
    open_alert(gen.engine, enrolled.patient.id, "non_response", "routine", now - timedelta(days=8))
    open_alert(gen.engine, enrolled.patient.id, "non_response", "routine", now - timedelta(days=1))
    with Session(gen.engine) as session:
        (row,), _ = patient_page(session, site.id, Filters(), 1, now)
    # two no-reply alerts, one line: three timepoints missed since the last answer
    assert [(line.text, line.age(now)) for line in row.alerts] == [("No reply ×3", "8 d")]


def test_plain_words_for_contact_problems_and_durations():
    alert = Alert(kind="opted_out", urgency="routine", summary="x", dedupe_key="k")
    assert describe(alert, Outcomes()) == "Texted STOP: phone instead"
    unknown_flag = Alert(kind="red_flag", urgency="local", summary="Red flag at day1: Odd rash.",
                         dedupe_key="red_flag:5:retired_item")  # fmt: skip
    assert describe(unknown_flag, Outcomes()) == "Red flag: odd rash"
    spans = [timedelta(minutes=5), timedelta(hours=23), timedelta(days=2), timedelta(days=36)]
    assert [duration(span) for span in spans] == ["5 min", "23 h", "2 d", "5 wk"]


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        ("study_id", False, ["AA00", "AA01", "AA02", "AA03", "AA04", "AA05", "AA06"]),
        ("study_id", True, ["AA06", "AA05", "AA04", "AA03", "AA02", "AA01", "AA00"]),
        # days since the procedure; ties (40 days) by study id
        ("day", False, ["AA00", "AA02", "AA04", "AA05", "AA06", "AA01", "AA03"]),
        ("procedure", False, ["AA03", "AA01", "AA04", "AA05", "AA06", "AA02", "AA00"]),
    ],
)
def test_columns_sort_on_the_server(gen, ward, sort, descending, expected):
    site, _ = ward
    rows = page(gen.engine, site, sort=sort, descending=descending)
    assert [r.patient.study_id for r in rows] == expected


def test_filters_by_procedure_dates_and_days_since(gen, ward):
    site, _ = ward
    ids = lambda **f: [r.patient.study_id for r in page(gen.engine, site, **f)]  # noqa: E731
    assert ids(days_from=0, days_to=14) == ["AA02", "AA00"]
    assert ids(days_from=91) == ["AA03"]
    assert ids(days_from=15, days_to=90, alerts_only=True) == ["AA01", "AA04", "AA05", "AA06"]
    within = {"procedure_from": date(2026, 11, 1), "procedure_to": date(2027, 1, 25)}
    assert ids(**within) == ["AA01", "AA03"]


def test_the_list_page_reads_sorts_and_filters_from_the_query(client, auth, gen, ward, clock):
    site, _ = ward
    clock.move_to(NOW)
    auth.login(gen.user(site).email)
    text = client.get("/patients/").text
    assert "Red flag, call now: new weakness or heaviness in legs or arms · 5 wk" in text
    assert "4 wk overdue" in text
    headings = re.findall(r"<th scope=\"col\"([^>]*)>\s*<a href=\"([^\"]+)\"", text)
    assert ("", "/patients/?sort=study_id&amp;dir=asc") in headings
    assert (' aria-sort="other"', "/patients/") in headings
    by_id = client.get("/patients/?sort=study_id&dir=desc&days=15-90").text
    assert 'aria-sort="descending"' in by_id
    assert "sort=study_id&amp;dir=asc&amp;days=15-90" in by_id  # the filter survives
    order = re.findall(r">(AA0\d)</a>", by_id)
    assert order == ["AA06", "AA05", "AA04", "AA01"]


def _list_as_a_nurse(client, auth, gen, ward, clock, query: str):
    """The ward's patient list with ``query``, seen by one of its nurses at NOW."""
    site, _ = ward
    clock.move_to(NOW)
    auth.login(gen.user(site).email)
    return client.get(f"/patients/?{query}")


def test_unreadable_filters_are_named_and_left_out(client, auth, gen, ward, clock):
    query = "procedure_from=yesterday&days_to=-3&sort=drop+table"
    response = _list_as_a_nurse(client, auth, gen, ward, clock, query)
    assert response.status_code == 400
    assert "Procedure from “yesterday” is not a date" in response.text
    assert "Days since procedure to “-3” is not a number of days" in response.text
    assert len(re.findall(r">(AA0\d)</a>", response.text)) == 7  # shown without them


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("status=bogus", "Follow-up “bogus”"),
        ("procedure=bogus", "Procedure “bogus”"),
        ("days=bogus", "Days since procedure “bogus”"),
    ],
)
def test_a_choice_filter_that_is_not_a_choice_is_named_not_an_empty_list(
    client, auth, gen, ward, clock, query, named
):
    response = _list_as_a_nurse(client, auth, gen, ward, clock, query)
    assert response.status_code == 400
    assert f"{named} is not one of the choices" in response.text
    assert len(re.findall(r">(AA0\d)</a>", response.text)) == 7


def test_a_choice_filter_is_read_in_any_case(client, auth, gen, ward, clock):
    response = _list_as_a_nurse(client, auth, gen, ward, clock, "status=ACTIVE")
    assert response.status_code == 200
    assert len(re.findall(r">(AA0\d)</a>", response.text)) == 7


def test_last_answered_sorts_both_ways_with_the_never_answered_last(gen, ward):
    site, patients = ward
    answered = {"AA05": NOW - timedelta(days=3), "AA02": NOW - timedelta(hours=5)}
    with session_scope(gen.engine) as session:
        for study_id, at in answered.items():
            instance = session.exec(
                select(SurveyInstance).where(
                    SurveyInstance.patient_id == patients[study_id].id,
                    SurveyInstance.timepoint == "baseline",
                )
            ).one()
            instance.status, instance.completed_at = InstanceStatus.COMPLETED, at
    newest = page(gen.engine, site, sort="last_answered", descending=True)
    oldest = page(gen.engine, site, sort="last_answered")
    assert [r.patient.study_id for r in newest][:3] == ["AA02", "AA05", "AA00"]
    assert [r.patient.study_id for r in oldest][:3] == ["AA05", "AA02", "AA00"]
    assert newest[0].last_answered == answered["AA02"]
    assert newest[-1].last_answered is None  # never answered: last, by study id


def test_a_next_try_time_is_carried_where_the_alert_records_one():
    """Alerts kept open by "could not reach: try again" carry a next try time."""
    retry = SimpleNamespace(
        kind="red_flag",
        urgency="now",
        summary="Red flag at day1: New bladder or bowel problems",
        dedupe_key="red_flag:9:bladder_bowel",
        instance_id=None,
        created_at=NOW - timedelta(hours=3),
        due_by=NOW - timedelta(hours=2),
        next_try_at=NOW + timedelta(hours=2),
    )
    plain = Alert(kind="pain_worse", urgency="24h", summary="x", dedupe_key="k",
                  created_at=NOW, due_by=NOW + timedelta(hours=24))  # fmt: skip
    first, second = alert_lines([plain, retry], Outcomes())
    assert (first.text, first.next_try_at) == (
        "Red flag, call now: new bladder or bowel problems",
        NOW + timedelta(hours=2),
    )
    assert (first.age(NOW), first.overdue(NOW)) == ("3 h", "2 h")
    assert second.next_try_at is None


def test_a_survey_answered_in_part_is_shown_as_such_not_as_never(gen, tick):
    """Its worst pain is on the row, so the row says it was answered in part."""
    from pro_app.followup.answer_saving import save_answers

    site = gen.site()
    enrolled = gen.patient(site, now=datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    tick(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    with session_scope(gen.engine) as session:
        baseline = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == enrolled.patient.id,
                SurveyInstance.timepoint == "baseline",
            )
        ).one()
        pain = {"worst": 6, "average": 5, "now": 4}
        save_answers(session, baseline, "pain_nrs", pain, channel="web", now=baseline.due_at)
    with Session(gen.engine) as session:
        (row,), _ = patient_page(session, site.id, Filters(), 1, datetime(2027, 1, 5, tzinfo=UTC))
    assert (row.answered, row.part_answered, row.last_answered) == (0, 1, None)
    assert row.last_worst == 6
