"""The patient's survey through the test client: complete, resume, back, validation,
red flags, closed, completed, wrong token, rate limiting and headers."""

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from pro_app.followup.answer_saving import save_answers
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.models import Alert, InstanceStatus, Response, SurveyInstance, User
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
                    f"{item.id}-0-amount": "20",
                    f"{item.id}-0-unit": "mg",
                    f"{item.id}-0-doses": "2",
                    f"{item.id}-0-pattern": "regular",
                }
            )
    return data


def pages_of(engine):
    """The pages of the first (baseline) survey."""
    return survey_pages(instances(engine)[0].instruments, baseline=True)


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


def test_a_browser_that_keeps_no_cookie_answers_the_whole_survey(csrf_app, gen, link):
    """With CSRF protection on, as in production: the link is the credential, so a phone
    that refuses cookies, or drops its session cookie while a page waits, still saves."""
    browser = csrf_app.test_client(use_cookies=False)
    first = browser.get(link)
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    for page in pages_of(gen.engine):
        response = browser.post(link, data={"action": "next", **answers_for_page(page)})
        assert response.status_code == 302, (page.instrument.id, response.text[:300])
        assert "Set-Cookie" not in response.headers
    assert "Thank you" in browser.post(link, data={"action": "submit"}).text
    assert instances(gen.engine)[0].status == InstanceStatus.COMPLETED
    assert current(gen.engine)["pain_nrs"].answers == {"worst": 7, "average": 5, "now": 4}


def test_leaving_and_coming_back_resumes_where_the_patient_stopped(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    client.post(link, data={"action": "next", **answers_for_page(pages[1])})
    fresh = client.application.test_client()  # another browser, no cookies: same place
    assert f"Page 3 of {len(pages)}" in fresh.get(link).text


def test_back_changes_an_answer_as_a_new_version(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    page_two = client.get(link).text
    assert f'<a class="back" href="{link}?page=1">Back</a>' in page_two
    page_one = client.get(f"{link}?page=1").text
    assert "Page 1 of" in page_one and 'value="7" checked' in page_one
    changed = {**answers_for_page(pages[0]), "worst": "8"}
    client.post(f"{link}?page=1", data={"action": "next", **changed})
    assert "Page 2 of" in client.get(link).text
    with Session(gen.engine) as session:
        rows = session.exec(
            select(Response).where(Response.instrument_id == "pain_nrs").order_by(Response.id)
        ).all()
    assert [r.answers["worst"] for r in rows] == [7, 8]
    assert rows[1].supersedes_id == rows[0].id


def test_a_page_sent_while_another_save_is_open_waits_and_then_supersedes_it(client, gen, link):
    """The form's look-up takes the survey's lock: a POST arriving while a text reply (or a
    double tap) is being saved waits for it, then reads its answer and supersedes it."""
    pages = pages_of(gen.engine)
    assert client.get(link).status_code == 200  # the patient has the page open
    first = Session(gen.engine, expire_on_commit=False)
    instance = first.get(SurveyInstance, instances(gen.engine)[0].id)
    pain = {"worst": 3, "average": 2, "now": 2}
    save_answers(first, instance, "pain_nrs", pain, channel="sms", now=ENROLLED)
    statuses: list[int] = []
    form = {"action": "next", **answers_for_page(pages[0])}
    again = f"{link}?page=1"  # the pain page, answered meanwhile by text
    worker = threading.Thread(
        target=lambda: statuses.append(client.post(again, data=form).status_code)
    )
    worker.start()
    worker.join(timeout=1)
    assert worker.is_alive() and statuses == []  # waiting for the text reply's save
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert statuses == [302]
    with Session(gen.engine) as session:
        rows = session.exec(
            select(Response).where(Response.instrument_id == "pain_nrs").order_by(Response.id)
        ).all()
    assert [(r.channel, r.answers["worst"], r.is_current) for r in rows] == [
        ("sms", 3, False),
        ("web", 7, True),
    ]
    assert rows[1].supersedes_id == rows[0].id


def test_an_out_of_range_or_missing_answer_is_refused_and_not_stored(client, gen, link):
    response = client.post(link, data={"action": "next", "worst": "11", "average": "5"})
    assert response.status_code == 422
    assert "Please choose a number from 0 to 10." in response.text
    assert "Please answer this question." in response.text  # "now" was left empty
    assert 'value="5" checked' in response.text  # what was fine is kept on the page
    assert current(gen.engine) == {}


def test_digits_that_are_not_numbers_are_refused_not_a_500(client, gen, link):
    """A superscript "³" counts as a digit to Python's ``isdigit`` but not to ``int``."""
    for worst in ("³", "²", "3²"):
        response = client.post(link, data={"action": "next", "worst": worst, "average": "3"})
        assert response.status_code == 422
        assert "Please choose a number from 0 to 10." in response.text
    assert client.get(f"{link}?page=²").status_code == 200
    assert current(gen.engine) == {}
    response = client.post(link, data={"action": "next", "worst": "٣", "average": "3", "now": "3"})
    assert response.status_code == 302  # an Arabic-Indic three is a three
    assert current(gen.engine)["pain_nrs"].answers["worst"] == 3


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


def test_chest_pain_advice_is_not_headed_call_today(client, gen, link):
    """Chest pain's own advice says 999 now if severe: no heading may say "today"."""
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    checklist = next(page for page in pages if page.checklist is not None)
    assert checklist is pages[1]
    advice = client.post(
        link, data={"action": "next", "checklist": ["chest"]}, follow_redirects=True
    )
    assert "<h1>Please read this and call your team</h1>" in advice.text
    assert "<title>Please read this and call your team</title>" in advice.text
    assert "today" not in advice.text.split("<h1>")[1].split("</h1>")[0]


def test_warning_signs_sent_after_the_survey_closed_get_whom_to_call_not_nothing_to_do(
    client, gen, link, monkeypatch
):
    client.get(link)
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(days=30))
    response = client.post(link, data={"action": "next", "weakness": "yes", "fever": "yes"})
    assert response.status_code == 410
    assert "were not saved" in response.text and "call your team now" in response.text
    assert "999" in response.text and 'href="tel:01134960123"' in response.text
    assert "You do not need to do anything" not in response.text
    assert "You do not need to do anything" in client.get(link).text


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


def test_token_guessing_is_rate_limited_but_a_real_link_still_opens(client, gen, link):
    for number in range(20):
        assert client.get(f"/s/guess{number:030d}").status_code == 404
    assert client.get("/s/guess-one-more-0000000000000000").status_code == 429
    assert client.get(link).status_code == 200  # the patient on the same Wi-Fi is served


def test_a_link_opens_for_staff_signed_in_who_must_choose_a_new_password(client, gen, link, auth):
    """Patient pages are not staff pages: no detour to the password form."""
    user = gen.user(gen.site())
    with Session(gen.engine) as session:
        session.get(User, user.id).must_change_password = True
        session.commit()
    auth.login(user.email)
    assert client.get("/patients/").headers["Location"] == "/account/password"
    assert client.get(link).status_code == 200


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
    welsh = gen.patient(site, now=ENROLLED, language="en")
    with Session(engine) as session:  # neither is offered at enrolment; set them directly
        for enrolled, language in ((german, "de"), (welsh, "cy")):
            patient = session.get(type(enrolled.patient), enrolled.patient.id)
            patient.language = language
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


def _on_page_two_at_a_site_with_an_on_call_phone(client, gen, tick, engine, monkeypatch):
    """A patient of a site with an on-call mobile, an hour after the baseline link went,
    past its first page: the link and the pages."""
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(hours=1))
    site = gen.site(on_call_phone="+447400999000")
    gen.patient(site, now=ENROLLED)
    tick(ENROLLED)
    instance = instances(engine)[0]
    path = f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"
    pages = pages_of(engine)
    client.post(path, data={"action": "next", **answers_for_page(pages[0])})
    return path, pages


def test_a_red_flag_texts_the_on_call_contact_without_clinical_detail(
    client, gen, tick, engine, monkeypatch
):
    from notifications.templates import find_clinical_words
    from tests.tick_helpers import messages

    path, pages = _on_page_two_at_a_site_with_an_on_call_phone(
        client, gen, tick, engine, monkeypatch
    )
    client.post(path, data={"action": "next", **answers_for_page(pages[1]), "weakness": "yes"})
    client.post(path, data={"action": "next", **answers_for_page(pages[1]), "weakness": "yes"})
    notices = messages(engine, kind="alert_notify")
    assert [m.to_number for m in notices] == ["+447400999000"]  # once, not per save
    assert find_clinical_words(notices[0].body) == []
    assert "weak" not in notices[0].body.lower()
    raised = (ENROLLED + timedelta(hours=1)).astimezone(ZoneInfo("Europe/London"))
    assert f"raised {raised.day} {raised:%b %Y, %H:%M} {raised.tzname()}" in notices[0].body
    # It goes out with the next pass, quiet hours or not.
    tick(datetime(2027, 1, 4, 23, 0, tzinfo=UTC))
    assert messages(engine, kind="alert_notify")[0].status == "delivered"


def test_two_red_flags_in_one_answer_text_the_on_call_phone_once(
    client, gen, tick, engine, monkeypatch
):
    """Each flag sent its own on-call text, word for word the same."""
    from tests.tick_helpers import messages

    path, pages = _on_page_two_at_a_site_with_an_on_call_phone(
        client, gen, tick, engine, monkeypatch
    )
    flags = {"weakness": "yes", "bladder_bowel": "yes"}
    client.post(path, data={"action": "next", **answers_for_page(pages[1]), **flags})
    with Session(engine) as session:
        alerts = session.exec(select(Alert).where(Alert.kind == "red_flag")).all()
    assert len(alerts) == 2
    assert len(messages(engine, kind="alert_notify")) == 1


# -- nothing typed is lost -----------------------------------------------------------------

FOLLOW_UP = datetime(2027, 1, 18, 12, 0, tzinfo=UTC)  # week 1 of a procedure on 11 January
LAST = datetime(2028, 1, 10, 12, 0, tzinfo=UTC)  # week 52


def open_timepoint(gen, tick, monkeypatch, timepoint: str, when: datetime, **site) -> str:
    """The link of an invited follow-up timepoint; the app's clock is an hour after ``when``."""
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: when + timedelta(hours=1))
    gen.patient(gen.site(team_phone="0113 496 0123", **site), now=ENROLLED)
    tick(ENROLLED)
    tick(when)
    instance = next(i for i in instances(gen.engine) if i.timepoint == timepoint)
    assert instance.status == InstanceStatus.SENT
    return f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"


def patient_form(page) -> dict:
    """What a patient's browser sends for a page answered well (red flags as the tick list)."""
    if page.checklist is not None:
        return {"checklist": "none"}
    return answers_for_page(page)


def one_wrong(page) -> tuple[dict, str]:
    """A page's good answers with one field made wrong, and the field's name."""
    data = patient_form(page)
    if page.checklist is not None:
        return {"checklist": ["none", page.items[0].id]}, "checklist"
    for item in page.items:
        if item.type == "medication_list":
            data.update(
                {
                    f"{item.id}-1-drug": "morphine",
                    f"{item.id}-1-amount": "",  # the one wrong field
                    f"{item.id}-1-unit": "ml",
                    f"{item.id}-1-per_ml": "2",
                    f"{item.id}-1-doses": "3",
                    f"{item.id}-1-pattern": "as_needed",
                }
            )
            return data, f"{item.id}-1-amount"
    wrong = page.items[-1]
    data[wrong.id] = "11" if wrong.type == "scale" else "not-an-option"
    return data, wrong.id


def shows(html: str, name: str, value: str) -> bool:
    """Whether the page shows ``value`` in the field ``name`` (ticked, selected or typed)."""
    name, value = re.escape(name), re.escape(value)
    radio = rf'<input type="(?:radio|checkbox)" id="[^"]*" name="{name}" value="{value}" checked>'
    text = rf'name="{name}" value="{value}"'
    select = (
        rf'<select[^>]* name="{name}"[^>]*>(?:(?!</select>).)*<option value="{value}" selected>'
    )
    return any(re.search(pattern, html, re.S) for pattern in (radio, text, select))


@pytest.mark.parametrize("when", ["baseline", "week1", "week52"])
def test_after_one_wrong_field_every_other_value_on_every_page_is_shown_again(
    client, gen, tick, monkeypatch, when
):
    if when == "baseline":
        monkeypatch.setattr(
            "pro_app.web.patient_survey.utcnow", lambda: ENROLLED + timedelta(hours=1)
        )
        gen.patient(gen.site(team_phone="0113 496 0123"), now=ENROLLED)
        tick(ENROLLED)
        instance = instances(gen.engine)[0]
        path = f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"
    else:
        path = open_timepoint(gen, tick, monkeypatch, when, FOLLOW_UP if when == "week1" else LAST)
        instance = next(i for i in instances(gen.engine) if i.timepoint == when)
    pages = survey_pages(instance.instruments, baseline=when == "baseline")
    for page in pages:
        data, wrong = one_wrong(page)
        response = client.post(path, data={"action": "next", **data})
        assert response.status_code == 422, (page.instrument.id, wrong)
        assert response.text.count('class="error"') >= 1
        for name, value in data.items():
            values = value if isinstance(value, list) else [value]
            for one in values:
                if name == wrong or not one:
                    continue
                assert shows(response.text, name, one), (page.instrument.id, name, one)
        response = client.post(path, data={"action": "next", **patient_form(page)})
        assert response.status_code == 302, (page.instrument.id, response.text[-800:])
    assert "Check your answers" in client.get(path).text


def medicines_path(client, path) -> None:
    """Answer the pages before the medicines (baseline: pain, red flags, quality of life)."""
    for page in survey_pages(["pain_nrs", "red_flags", "qol_overall"]):
        assert client.post(path, data={"action": "next", **patient_form(page)}).status_code == 302


def test_a_partly_filled_medicine_is_an_error_never_none(client, gen, link):
    medicines_path(client, link)
    response = client.post(link, data={"action": "next", "medicines-0-drug": "morphine"})
    assert response.status_code == 422
    assert "Medicine 1: enter how much is in each dose" in response.text
    assert '<a href="#medicines-0-amount">' in response.text
    assert 'id="medicines-0-amount"' in response.text
    assert "analgesic_use" not in current(gen.engine)
    assert shows(response.text, "medicines-0-drug", "morphine")


def test_a_second_medicines_error_is_shown_on_that_medicine_and_linked_to_its_field(
    client, gen, link
):
    medicines_path(client, link)
    good = {
        "medicines-0-drug": "morphine",
        "medicines-0-amount": "10",
        "medicines-0-unit": "mg",
        "medicines-0-doses": "4",
        "medicines-0-pattern": "regular",
    }
    second = {k.replace("-0-", "-1-"): v for k, v in good.items()}
    too_many = client.post(
        link, data={"action": "next", **good, **second, "medicines-1-doses": "60"}
    )
    assert too_many.status_code == 422
    assert "Medicine 2: enter how many doses you took in the last 24 hours (48 at most)." in (
        too_many.text
    )
    assert '<a href="#medicines-1-doses">' in too_many.text
    field = re.search(r'<input[^>]*id="medicines-1-doses"[^>]*>', too_many.text)[0]
    assert 'aria-describedby="err-medicines-1-doses"' in field and 'aria-invalid="true"' in field
    assert 'id="err-medicines-1-doses"' in too_many.text
    liquid = {**second, "medicines-1-unit": "ml", "medicines-1-amount": "5"}
    strong = client.post(
        link, data={"action": "next", **good, **liquid, "medicines-1-per_ml": "2500"}
    )
    assert "Medicine 2: that is more than 10,000 in one dose" in strong.text
    assert '<a href="#medicines-1-amount">' in strong.text
    blank_first = client.post(link, data={"action": "next", "medicines-1-drug": "morphine"})
    assert "Medicine 2: enter how much is in each dose" in blank_first.text  # as headed
    assert "analgesic_use" not in current(gen.engine)


def test_medicines_are_added_and_removed_one_at_a_time_without_javascript(client, gen, link):
    medicines_path(client, link)
    first = client.get(link).text
    assert 'name="medicines-0-drug"' in first and 'name="medicines-1-drug"' not in first
    row = {
        "medicines-0-drug": "paracetamol",
        "medicines-0-amount": "1000",
        "medicines-0-unit": "mg",
        "medicines-0-doses": "4",
        "medicines-0-pattern": "regular",
    }
    added = client.post(link, data={"action": "add-medicine", **row})
    assert added.status_code == 200
    assert 'name="medicines-1-drug"' in added.text
    assert shows(added.text, "medicines-0-amount", "1000")
    second = {
        "medicines-1-drug": "fentanyl_patch",
        "medicines-1-amount": "25",
        "medicines-1-unit": "mcg/h",
        "medicines-1-pattern": "",
    }
    third = {"medicines-2-drug": "tramadol", "medicines-2-unit": "mg"}
    removed = client.post(link, data={"action": "remove-medicines-2", **row, **second, **third})
    assert 'name="medicines-2-drug"' not in removed.text
    assert shows(removed.text, "medicines-1-drug", "fentanyl_patch")
    assert client.post(link, data={"action": "next", **row, **second}).status_code == 302
    saved = current(gen.engine)["analgesic_use"]
    assert saved.answers["medicines"] == [
        {
            "drug": "paracetamol",
            "strength": 1000,
            "unit": "mg",
            "route": "oral",
            "doses": 4,
            "pattern": "regular",
        },
        {
            "drug": "fentanyl_patch",
            "strength": 25,
            "unit": "mcg/h",
            "route": "transdermal",
            "doses": 1,
            "pattern": "regular",
        },
    ]
    assert saved.scores["omed"]["omed_mg_per_day"] == 60  # Opioids Aware: 25 mcg/h patch


def test_a_liquid_is_given_in_ml_with_its_strength_or_the_nurse_is_asked(client, gen, link):
    medicines_path(client, link)
    row = {
        "medicines-0-drug": "morphine",
        "medicines-0-amount": "5",
        "medicines-0-unit": "ml",
        "medicines-0-doses": "3",
        "medicines-0-pattern": "as_needed",
    }
    unknown = client.post(link, data={"action": "next", **row})
    assert unknown.status_code == 422
    assert "how many mg are in each ml" in unknown.text and "ask your nurse" in unknown.text
    assert "Not sure? Ask your nurse." in unknown.text  # the patient's page; not the nurse's
    assert shows(unknown.text, "medicines-0-unit", "ml")
    client.post(link, data={"action": "next", **row, "medicines-0-per_ml": "2"})
    saved = current(gen.engine)["analgesic_use"]
    assert saved.answers["medicines"][0]["strength"] == 10  # 5 ml of 2 mg/ml
    assert saved.scores["omed"]["omed_mg_per_day"] == 30


def test_no_unit_is_chosen_for_the_patient(client, gen, link):
    """The unit list started at mg: "10" meant as 10 ml of a liquid was saved as 10 mg."""
    medicines_path(client, link)
    page = client.get(link)
    unit_list = re.search(r'<select id="medicines-0-unit".*?</select>', page.text, re.S)[0]
    assert re.search(r'<option value=""\s+selected>Choose a unit</option>', unit_list)
    assert unit_list.count("selected") == 1
    row = {
        "medicines-0-drug": "morphine",
        "medicines-0-amount": "10",
        "medicines-0-doses": "3",
        "medicines-0-pattern": "as_needed",
    }
    refused = client.post(link, data={"action": "next", **row})
    assert refused.status_code == 422
    assert "Medicine 1: choose the unit of each dose" in refused.text
    assert '<a href="#medicines-0-unit">' in refused.text
    assert "analgesic_use" not in current(gen.engine)
    client.post(link, data={"action": "next", **row, "medicines-0-unit": "mg"})
    assert current(gen.engine)["analgesic_use"].answers["medicines"][0]["strength"] == 10


def test_a_patch_needs_micrograms_an_hour(client, gen, link):
    medicines_path(client, link)
    response = client.post(
        link,
        data={
            "action": "next",
            "medicines-0-drug": "fentanyl_patch",
            "medicines-0-amount": "25",
            "medicines-0-unit": "mg",
        },
    )
    assert response.status_code == 422
    assert "a patch&#39;s strength is in micrograms an hour" in response.text


def test_an_error_page_says_error_in_its_title_and_links_each_message_to_its_field(
    client, gen, link
):
    response = client.post(link, data={"action": "next", "worst": "11", "average": "5"})
    title = re.search(r"<title>(.*?)</title>", response.text).group(1)
    assert title.startswith("Error: ")
    summary = response.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    opening = re.search(r'<div class="error-summary"[^>]*>', response.text).group(0)
    assert 'tabindex="-1"' in opening and "autofocus" in opening  # focus moves to it
    anchors = re.findall(r'<a href="#([^"]+)">', summary)
    assert anchors == ["worst-0", "now-0"]
    for anchor in anchors:
        assert f'id="{anchor}"' in response.text


# -- check your answers --------------------------------------------------------------------


def answer_all(client, path, pages) -> None:
    for page in pages:
        assert client.post(path, data={"action": "next", **patient_form(page)}).status_code == 302


def test_check_your_answers_lists_every_answer_with_a_change_link(client, gen, link):
    pages = pages_of(gen.engine)
    answer_all(client, link, pages)
    check = client.get(link).text
    assert "<h1>Check your answers</h1>" in check
    assert "7 (" not in check and "<dd>7</dd>" in check  # worst pain
    assert "No, I have none of these" in check
    assert "Oxycodone (OxyNorm, OxyContin): 20 mg in each dose, 2 doses, regularly" in check
    questions = [item for page in pages if page.checklist is None for item in page.items]
    for item in questions:
        assert f"<dt>{item.text}</dt>".replace("'", "&#39;").replace('"', "&#34;") in check or (
            f"<dt>{item.text}</dt>" in check
        ), item.id
    changes = re.findall(r'href="([^"]*from=check[^"]*)"', check)
    assert len(changes) == len(questions) + 1  # plus the red-flag list


def test_change_returns_to_the_page_and_then_back_to_the_check_page(client, gen, link):
    pages = pages_of(gen.engine)
    answer_all(client, link, pages)
    check = client.get(link).text
    change = re.search(r'href="([^"]*page=1&amp;from=check)"', check).group(1).replace("&amp;", "&")
    page_one = client.get(change).text
    assert "Page 1 of" in page_one and "Save and go back to your answers" in page_one
    assert 'href="' + link + '?page=check">Back</a>' in page_one
    action = re.search(r'<form method="post" action="([^"]+)"', page_one).group(1)
    response = client.post(
        action.replace("&amp;", "&"),
        data={"action": "next", **answers_for_page(pages[0]), "worst": "3"},
    )
    assert response.status_code == 302
    back = client.get(link).text
    assert "<h1>Check your answers</h1>" in back and "<dd>3</dd>" in back
    assert current(gen.engine)["pain_nrs"].answers["worst"] == 3
    assert "Thank you" in client.post(link + "?page=check", data={"action": "submit"}).text


# -- wording that depends on the timepoint ---------------------------------------------------


def test_baseline_does_not_compare_with_before_the_treatment(client, gen, link):
    pages = pages_of(gen.engine)
    assert "medicine_change" not in {item.id for page in pages for item in page.items}
    answer_all(client, link, pages[:3])
    assert "Compared with before your treatment" not in client.get(link).text
    assert "Think about the since" not in client.get(link).text


def test_follow_up_asks_for_the_change_and_recalls_since_the_last_answers(
    client, gen, tick, monkeypatch
):
    path = open_timepoint(gen, tick, monkeypatch, "week1", FOLLOW_UP)
    first = client.get(path).text
    assert "These questions take about 3 minutes" in first
    assert "<h1>Your pain</h1>" in first
    client.post(path, data={"action": "next", "worst": "3", "average": "2", "now": "1"})
    flags = client.get(path).text
    assert "Think about the time since you last answered." in flags
    assert "Think about the since" not in flags
    client.post(path, data={"action": "next", "checklist": "none"})
    client.post(path, data={"action": "next", "overall": "6"})
    assert "Compared with before your treatment" in client.get(path).text


def test_rand36_pages_are_headed_in_plain_words_and_keep_the_name_in_the_data(client, gen, link):
    pages = pages_of(gen.engine)
    answer_all(client, link, pages[:4])
    page = client.get(link).text
    assert "<h1>About your health</h1>" in page
    assert "RAND 36-Item" not in page
    assert current(gen.engine)["pain_nrs"].instrument_id == "pain_nrs"


def test_the_last_timepoint_says_follow_up_is_finished_and_whom_to_call(
    client, gen, tick, monkeypatch
):
    path = open_timepoint(gen, tick, monkeypatch, "week52", LAST)
    instance = next(i for i in instances(gen.engine) if i.timepoint == "week52")
    answer_all(client, path, survey_pages(instance.instruments))
    thanks = client.post(path + "?page=check", data={"action": "submit"}).text
    assert "your follow-up is finished" in thanks
    assert "0113 496 0123" in thanks
    assert "We will send you a text when the next questions are due" not in thanks
    again = client.get(path).text
    assert "your follow-up is finished" in again


def test_an_earlier_timepoint_says_the_next_questions_will_come(client, gen, link):
    answer_all(client, link, pages_of(gen.engine))
    thanks = client.post(link + "?page=check", data={"action": "submit"}).text
    assert "We will send you a text when the next questions are due" in thanks
    assert "follow-up is finished" not in thanks


def test_several_red_flags_give_one_advice_block_most_urgent_first_naming_each(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    client.post(link, data={"action": "next", "checklist": ["fever", "weakness", "chest"]})
    advice = client.get(link).text
    assert advice.count('class="urgent"') == 1
    assert "<h1>Call your team now</h1>" in advice
    block = advice.split('class="urgent"', 1)[1]
    named = re.findall(r"<li>(.*?)</li>", block)
    assert named == [
        "new weakness or heaviness in your legs or arms",
        "a high temperature or shivers",
        "new chest pain or breathlessness",
    ]
    paragraphs = re.findall(r"<p>(.*?)</p>", block)
    assert paragraphs[1].startswith("Call the team now.")  # the most urgent advice first
    assert sum("Call 999 now if the chest pain is severe" in p for p in paragraphs) == 1
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert).order_by(Alert.id)).all()
    assert sorted(a.urgency for a in alerts) == ["local", "local", "now"]


def test_the_red_flag_list_needs_a_tick_or_none(client, gen, link):
    pages = pages_of(gen.engine)
    client.post(link, data={"action": "next", **answers_for_page(pages[0])})
    empty = client.post(link, data={"action": "next"})
    assert empty.status_code == 422
    assert "Tick the problems you have" in empty.text
    both = client.post(link, data={"action": "next", "checklist": ["none", "fever"]})
    assert both.status_code == 422 and "untick one of them" in both.text
    assert client.post(link, data={"action": "next", "checklist": "none"}).status_code == 302
    assert current(gen.engine)["red_flags"].answers == {item.id: False for item in pages[1].items}


def test_the_invitation_gives_the_time_it_takes(gen, tick):
    from tests.tick_helpers import messages

    gen.patient(gen.site(), now=ENROLLED)
    tick(ENROLLED)
    tick(FOLLOW_UP)
    bodies = [m.body for m in messages(gen.engine, kind="invitation")]
    assert "a few short questions (about 9 minutes):" in bodies[0]  # baseline, with RAND-36
    assert "a few short questions (about 3 minutes):" in bodies[-1]  # week 1


def test_a_failure_on_our_side_tells_the_patient_what_to_do_and_whom_to_call(
    app, client, gen, link, monkeypatch
):
    """The database gone mid-request: not a bare "Internal Server Error" page."""
    from sqlalchemy.exc import OperationalError

    def unreachable(_token):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("pro_app.web.patient_survey._instance_for", unreachable)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get(link)
    assert response.status_code == 500
    assert "Pages you had already sent are saved" in response.text
    assert "999" in response.text and response.headers["Cache-Control"] == "no-store"
