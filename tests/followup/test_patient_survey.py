"""The patient's survey through the test client: complete, resume, back, validation,
red flags, closed, completed, wrong token, rate limiting and headers."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.models import Alert, InstanceStatus, Response, SurveyInstance
from tests.tick_helpers import SECRET, instances

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def link(gen, tick, monkeypatch):
    """An invited baseline survey and its path; the clock inside the app is ENROLLED + 1 h."""
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(hours=1))
    gen.patient(gen.site(team_phone="0113 496 0123"), now=ENROLLED)
    tick(ENROLLED)
    instance = instances(gen.engine)[0]
    return f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"


GOOD = {
    "pain_nrs": {"worst": "7", "average": "5", "now": "4"},
    "red_flags": {
        k: "no"
        for k in (
            "weakness",
            "walking",
            "numbness",
            "bladder_bowel",
            "band_pain",
            "severe_back_pain",
            "fever",
            "wound",
            "chest",
        )
    },
    "qol_overall": {"overall": "6"},
    "global_change": {"change": "much_better"},
}


def answers_for_page(page) -> dict:
    """Valid answers for whatever a page asks."""
    data = {}
    for item in page.items:
        if page.instrument.id in GOOD and item.id in GOOD[page.instrument.id]:
            data[item.id] = GOOD[page.instrument.id][item.id]
        elif item.type == "single_choice":
            data[item.id] = item.options[0].code
        elif item.type == "medication_list":
            data.update(
                {
                    f"{item.id}-0-drug": "oxycodone",
                    f"{item.id}-0-strength": "20",
                    f"{item.id}-0-unit": "mg",
                    f"{item.id}-0-doses": "2",
                    f"{item.id}-0-pattern": "regular",
                }
            )
    return data


def pages_of(engine):
    return survey_pages(instances(engine)[0].instruments)


def current(engine) -> dict[str, Response]:
    with Session(engine) as session:
        rows = session.exec(select(Response).order_by(Response.id)).all()
    superseded = {r.supersedes_id for r in rows}
    return {r.instrument_id: r for r in rows if r.id not in superseded}


def test_a_whole_survey_is_saved_page_by_page_and_sent(client, gen, link):
    pages = pages_of(gen.engine)
    first = client.get(link)
    assert first.status_code == 200
    assert f"Page 1 of {len(pages)}" in first.text
    assert "0 = No pain" in first.text or "0<small> = No pain" in first.text
    assert "0113 496 0123" in first.text
    for page in pages:
        response = client.post(link, data={"action": "next", **answers_for_page(page)})
        assert response.status_code == 302, (page.instrument.id, response.text[:500])
    assert "Send my answers" in client.get(link).text
    assert "Thank you" in client.post(link, data={"action": "submit"}).text
    assert instances(gen.engine)[0].status == InstanceStatus.COMPLETED
    saved = current(gen.engine)
    assert saved["pain_nrs"].answers == {"worst": 7, "average": 5, "now": 4}
    assert saved["pain_nrs"].channel == "web"
    assert saved["analgesic_use"].scores["omed"]["omed_mg_per_day"] == 60
    assert "already sent" in client.get(link).text


def test_leaving_and_coming_back_resumes_where_the_patient_stopped(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    client.post(link, data={"action": "next", **answers_for_page(pages[1])})
    fresh = client.application.test_client()  # another browser, no cookies: same place
    assert f"Page 3 of {len(pages)}" in fresh.get(link).text


def test_back_changes_an_answer_as_a_new_version(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    client.post(link, data={"action": "back"})
    page_one = client.get(link).text
    assert "Page 1 of" in page_one and 'value="7" checked' in page_one
    changed = {**answers_for_page(pages[0]), "worst": "8"}
    client.post(link, data={"action": "next", **changed})
    with Session(gen.engine) as session:
        rows = session.exec(select(Response).where(Response.instrument_id == "pain_nrs")).all()
    assert [r.answers["worst"] for r in rows] == [7, 8]
    assert rows[1].supersedes_id == rows[0].id


def test_an_out_of_range_or_missing_answer_is_refused_and_not_stored(client, gen, link):
    response = client.post(link, data={"action": "next", "worst": "11", "average": "5"})
    assert response.status_code == 422
    assert "Please choose a number from 0 to 10." in response.text
    assert "Please answer this question." in response.text  # "now" was left empty
    assert 'value="5" checked' in response.text  # what was fine is kept on the page
    assert current(gen.engine) == {}


def test_a_red_flag_shows_urgent_advice_at_once_and_alerts_the_team(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    flags = {**answers_for_page(pages[1]), "weakness": "yes"}
    client.post(link, data={"action": "next", **flags})
    advice = client.get(link)
    assert "Call the team now" in advice.text and "0113 496 0123" in advice.text
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert)).all()
    assert [(a.kind, a.urgency) for a in alerts] == [("red_flag", "now")]
    client.post(link, data={"action": "continue"})
    assert "Page 3 of" in client.get(link).text  # the survey can still be finished


def test_a_closed_survey_says_so_with_the_teams_number(client, gen, link, monkeypatch):
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(days=30))
    response = client.get(link)
    assert response.status_code == 410
    assert "This survey has closed" in response.text and "0113 496 0123" in response.text


def test_an_expired_instance_is_closed(client, gen, link):
    with Session(gen.engine) as session:
        instance = session.exec(select(SurveyInstance).order_by(SurveyInstance.due_at)).first()
        instance.status = InstanceStatus.EXPIRED
        session.add(instance)
        session.commit()
    assert client.get(link).status_code == 410


def test_a_wrong_token_is_a_neutral_404(client, gen, link):
    response = client.get("/s/not-a-real-token-at-all-0000000000")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Spine team" not in response.text and "0113" not in response.text


def test_token_guessing_is_rate_limited(client, gen, link):
    for number in range(20):
        assert client.get(f"/s/guess{number:030d}").status_code == 404
    assert client.get("/s/guess-one-more-0000000000000000").status_code == 429
    assert client.get(link).status_code == 429  # even a good token waits


def test_patient_pages_carry_strict_headers_and_no_third_party_resources(client, gen, link):
    for response in (client.get(link), client.get("/s/unknown-token-000000000000000000")):
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "http://" not in response.text.replace("http://localhost", "")
        assert "https://" not in response.text


def test_a_language_with_a_catalogue_is_spoken_to_its_patients(
    gen, tick, engine, tmp_path, monkeypatch
):
    """The translation layer end to end: a compiled catalogue for a test language changes
    what its patients read; a language without one falls back to English."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from pro_app import create_app
    from pro_app.config import Settings

    catalog = Catalog(locale="de")
    catalog.add("Save and continue", "Speichern und weiter")
    folder = tmp_path / "translations" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(hours=1))
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    site = gen.site()
    german = gen.patient(site, now=ENROLLED, language="en")
    welsh = gen.patient(site, now=ENROLLED, language="cy")
    with Session(engine) as session:  # "de" is not offered at enrolment; set it directly
        patient = session.get(type(german.patient), german.patient.id)
        patient.language = "de"
        session.add(patient)
        session.commit()
    tick(ENROLLED)
    app = create_app(
        {
            "SETTINGS": Settings(database_url=str(engine.url), secret_key=SECRET),
            "ENGINE": engine,
            "PRO_LANGUAGES": ("en", "de"),
            "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations"),
        }
    )
    client = app.test_client()
    links = {
        i.patient_id: f"/s/{survey_token(SECRET, i.id, i.link_version)}"
        for i in instances(engine)
        if i.timepoint == "baseline"
    }
    assert "Speichern und weiter" in client.get(links[german.patient.id]).text
    english = client.get(links[welsh.patient.id]).text
    assert "Save and continue" in english and "Speichern" not in english
    assert '<html lang="en">' in english


def test_a_red_flag_texts_the_on_call_contact_without_clinical_detail(
    client, gen, tick, engine, monkeypatch
):
    from notifications.templates import find_clinical_words
    from tests.tick_helpers import messages

    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(hours=1))
    site = gen.site(on_call_phone="+447400999000")
    gen.patient(site, now=ENROLLED)
    tick(ENROLLED)
    instance = instances(engine)[0]
    path = f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"
    pages = pages_of(engine)
    client.post(path, data={"action": "next", **answers_for_page(pages[0])})
    client.post(path, data={"action": "next", **answers_for_page(pages[1]), "weakness": "yes"})
    client.post(path, data={"action": "next", **answers_for_page(pages[1]), "weakness": "yes"})
    notices = messages(engine, kind="alert_notify")
    assert [m.to_number for m in notices] == ["+447400999000"]  # once, not per save
    assert find_clinical_words(notices[0].body) == []
    assert "weak" not in notices[0].body.lower()
    # It goes out with the next pass, quiet hours or not.
    tick(datetime(2027, 1, 4, 23, 0, tzinfo=UTC))
    assert messages(engine, kind="alert_notify")[0].status == "delivered"
