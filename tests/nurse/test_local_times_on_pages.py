"""The patient list and the patient page show the site's own local time and abbreviation,
summer and winter, in the UK and elsewhere; days since the procedure count local days."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from pro_app.models import Alert, InstanceStatus, SurveyInstance
from pro_app.storage.engine import session_scope

WINTER = datetime(2027, 1, 20, 18, 30, tzinfo=UTC)
SUMMER = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)  # already the 15th in London


@pytest.mark.parametrize(
    ("zone", "moment", "shown", "day"),
    [
        ("Europe/London", WINTER, "20 Jan 2027, 18:30 GMT", 14),
        ("Europe/London", SUMMER, "15 Jul 2027, 00:30 BST", 15),
        ("America/New_York", WINTER, "20 Jan 2027, 13:30 EST", 14),
        ("America/New_York", SUMMER, "14 Jul 2027, 19:30 EDT", 14),
        ("Europe/Dublin", WINTER, "20 Jan 2027, 18:30 GMT", 14),
        ("Europe/Dublin", SUMMER, "15 Jul 2027, 00:30 IST", 15),
    ],
)
def test_list_and_patient_page_show_the_sites_local_time(
    client, auth, gen, clock, zone, moment, shown, day
):
    clock.move_to(moment)
    site = gen.site(timezone=zone)
    procedure_date = (moment - timedelta(days=14)).date()
    enrolled = gen.patient(
        site, now=moment - timedelta(days=20), study_id="TZ1", procedure_date=procedure_date
    ).patient
    with session_scope(gen.engine) as session:
        baseline = session.exec(
            select(SurveyInstance).where(SurveyInstance.timepoint == "baseline")
        ).one()
        baseline.status, baseline.completed_at = InstanceStatus.COMPLETED, moment
        session.add(
            Alert(
                patient_id=enrolled.id,
                kind="red_flag",
                urgency="now",
                summary="Red flag at baseline: New weakness or heaviness in legs or arms",
                dedupe_key="red_flag:1:weakness",
                created_at=moment,
                due_by=moment + timedelta(hours=1),
            )
        )
    auth.login(gen.user(site).email)

    listing = client.get("/patients/").text
    row = re.search(r"<tr class=\"red-flag\">.*?</tr>", listing, re.S).group(0)
    assert f"<td>{shown}</td>" in row  # last answered
    assert f"<td>{day}</td>" in row  # days since the procedure, counted in local days
    record = client.get(f"/patients/{enrolled.id}").text
    assert f"<td>{shown}</td>" in record  # the alert, raised
    assert f"<small>{shown}</small>" in record  # the baseline, answered
    assert f"(day {day} today)" in record
    for page in (listing, record):
        assert "UTC" not in page
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page)  # no ISO times for people
