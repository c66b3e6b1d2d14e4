"""A staff form that cannot be saved comes back with what was typed: an ended session
(idle, or signed out elsewhere) or a security token from before the last sign-in had
answered with a redirect to sign in, or Werkzeug's bare 400, and the nurse's notes were
gone."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import Session, select

from pro_app.models import SafetyEvent

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
NOTE = "Second call: weakness in both legs now <b>advised</b> 999 & A&E"


@pytest.fixture
def clock():
    """The clock stands still at ``T0`` until a test moves it (the idle lifetime is
    checked to the second)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _event_form(patient_id: int) -> tuple[str, dict]:
    url = f"/patients/{patient_id}/safety-events"
    typed = {"kind": "infection", "grade": "2", "event_date": "2027-02-27", "notes": NOTE}
    return url, typed


def _no_event(engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(SafetyEvent)).all() == []


def test_a_form_sent_after_the_session_went_idle_comes_back_with_what_was_typed(
    client, auth, gen, clock
):
    site = gen.site()
    patient = gen.patient(site, now=T0, procedure_date=T0.date() - timedelta(days=3)).patient
    auth.login(gen.user(site).email)
    url, typed = _event_form(patient.id)
    record = f"http://localhost/patients/{patient.id}"
    clock.shift(timedelta(minutes=45))  # a long phone call
    response = client.post(
        url, data={**typed, "password": "never-shown"}, headers={"Referer": record}
    )
    assert response.status_code == 401
    page = response.text
    assert "signed out after 30 minutes without activity" in page and "Nothing was saved" in page
    assert (
        "Second call: weakness in both legs now &lt;b&gt;advised&lt;/b&gt; 999 &amp; A&amp;E"
        in page
    )
    assert "never-shown" not in page
    assert f'href="/login?next=%2Fpatients%2F{patient.id}" target="_blank"' in page
    assert _no_event(gen.engine)
    assert client.get(f"/patients/{patient.id}").status_code == 302  # a page goes to sign in


def test_a_form_whose_token_is_from_before_the_last_sign_in_comes_back_with_it(
    csrf_app, gen, clock
):
    site = gen.site()
    patient = gen.patient(site, now=T0, procedure_date=T0.date() - timedelta(days=3)).patient
    nurse = gen.user(site)
    client = csrf_app.test_client()

    def sign_in() -> None:
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = {"email": nurse.email, "password": gen.PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 302

    sign_in()
    record = client.get(f"/patients/{patient.id}").text
    old_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', record).group(1)
    client.post("/logout", data={"csrf_token": old_token})
    sign_in()  # in another tab
    url, typed = _event_form(patient.id)
    response = client.post(url, data={**typed, "csrf_token": old_token})
    assert response.status_code == 400
    assert "opened before you last signed in" in response.text
    assert "Second call: weakness in both legs now" in response.text
    assert _no_event(gen.engine)


def test_a_password_form_sent_after_the_session_ended_shows_nothing_typed(client, auth, gen, clock):
    """The change-password form's fields are "current" and "new": shown, they put the
    passwords on the page."""
    auth.login(gen.user(gen.site()).email)
    clock.shift(timedelta(minutes=45))
    typed = {"current": "old-secret-words", "new": "new-secret-words", "confirm": "x"}
    response = client.post("/account/password", data=typed)
    assert response.status_code in (302, 401)
    assert "secret-words" not in response.text
