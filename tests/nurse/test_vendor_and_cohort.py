"""plotly.js served locally with long-lived caching, staff security headers, and the
cohort's expected course behind each patient's line."""

import gzip
from datetime import UTC, datetime

from sqlmodel import select

from pro_app.followup.answer_saving import complete, save_answers
from pro_app.models import SurveyInstance
from pro_app.nurse.expected_course import MIN_SITE_BASELINES, expected_course
from pro_app.storage.engine import session_scope
from pro_app.web.vendor import plotly_version


def test_plotly_js_comes_from_the_installed_package_and_is_cached(client):
    url = f"/vendor/plotly-{plotly_version()}.min.js"
    plain = client.get(url)
    assert plain.status_code == 200 and plain.mimetype == "text/javascript"
    assert b"plotly.js v" + plotly_version().encode() in plain.data[:300]
    assert "immutable" in plain.headers["Cache-Control"]
    assert "max-age=31536000" in plain.headers["Cache-Control"]
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 3
    again = client.get(url, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert client.get("/vendor/plotly-0.0.1.min.js").status_code == 404


def test_staff_pages_load_scripts_only_from_the_app(client, auth, gen):
    site = gen.site()
    patient = gen.patient(site).patient
    auth.login(gen.user(site).email)
    page = client.get(f"/patients/{patient.id}")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert f"/vendor/plotly-{plotly_version()}.min.js" in page.text
    assert "cdn" not in page.text.lower()
    assert "Plotly" not in client.get("/patients/").text  # no plot on the list
    assert "plotly" not in client.get("/patients/").text


def _answered(engine, patient_id: int, timepoint: str, worst: int) -> None:
    with session_scope(engine) as session:
        instance = session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == patient_id, SurveyInstance.timepoint == timepoint
            )
        ).one()
        instance.status = "sent"
        pain = {"worst": worst, "average": worst, "now": worst}
        save_answers(session, instance, "pain_nrs", pain, channel="web", now=instance.due_at)
        complete(session, instance, now=instance.due_at)


def test_the_expected_course_is_the_cohorts_median_and_quartiles(gen):
    small, large = gen.site(), gen.site()
    now = datetime(2027, 1, 4, tzinfo=UTC)
    for worst in (2, 4, 6, 8, 9):
        patient = gen.patient(small, now=now).patient
        _answered(gen.engine, patient.id, "baseline", worst)
        _answered(gen.engine, patient.id, "week1", worst - 2)
    with session_scope(gen.engine) as session:
        course = expected_course(session, small.id)
    assert course.label == "All sites' patients"  # too few at this site alone
    baseline, week1 = course.bands["worst_pain"]
    assert (baseline.timepoint, baseline.n, baseline.median) == ("baseline", 5, 6)
    assert (baseline.q1, baseline.q3) == (4, 8)
    assert (week1.day, week1.median, week1.q1, week1.q3) == (7, 4, 2, 6)
    assert course.bands["omed"] == []
    for _ in range(MIN_SITE_BASELINES):
        patient = gen.patient(large, now=now).patient
        _answered(gen.engine, patient.id, "baseline", 3)
    with session_scope(gen.engine) as session:
        shared = expected_course(session, small.id)
        own = expected_course(session, large.id)
    assert shared.label == "All sites' patients" and shared.bands["worst_pain"][0].n == 25
    assert own.label == "This site's patients"
    assert own.bands["worst_pain"][0].median == 3 and own.bands["worst_pain"][0].n == 20
