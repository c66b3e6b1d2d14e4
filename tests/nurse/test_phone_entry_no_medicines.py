"""A nurse taking answers by phone records "takes no pain medicines" with an explicit tick:
stored as the patient's web link stores none, so the same alerts and audit figures follow.
Blank medicine rows without the tick still mean "not asked"."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from pro_app.audit.timelines import AuditFilters, timelines
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import survey_token
from pro_app.models import Alert, Response, SurveyInstance
from tests.messaging.test_channel_parity import _web_form
from tests.nurse.entry_form import post_entry
from tests.nurse.test_patient_record import ENTRY, MORNING, SECRET
from tests.tick_helpers import instances

NONE_TICK = "analgesic_use.medicines-none"
CORE = {k: v for k, v in ENTRY.items() if not k.startswith("analgesic_use.")}
STORY = {"worst": 7, "average": 5, "now": 4, "flags": (), "qol": 3, "oxy_mg": 10}  # rows dropped
DAY1_MORPHINE = {  # 10 mg four times: 40 mg/day oral morphine equivalent
    **CORE,
    "analgesic_use.medicines-0-drug": "morphine",
    "analgesic_use.medicines-0-amount": "10",
    "analgesic_use.medicines-0-unit": "mg",
    "analgesic_use.medicines-0-doses": "4",
    "analgesic_use.medicines-0-pattern": "regular",
    "analgesic_use.medicine_change": "more",
    "global_change.change": "no_change",
}


@pytest.fixture
def site(gen, clock):
    clock.move_to(MORNING)
    return gen.site()


def _enrol(gen, tick, site):
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date() + timedelta(days=2))
    tick(MORNING)
    return patient.patient


def _instance(engine, patient_id: int, timepoint: str) -> SurveyInstance:
    return next(i for i in instances(engine, patient_id) if i.timepoint == timepoint)


def _open_day1(engine, patient_id: int, tick, clock, auth, nurse) -> SurveyInstance:
    """Move on to the day-1 survey's opening, send it, and sign the nurse in again."""
    day1 = _instance(engine, patient_id, "day1")
    clock.move_to(day1.opens_at + timedelta(minutes=5))
    tick(day1.opens_at + timedelta(minutes=5))
    auth.login(nurse.email)
    return day1


def _entry_url(engine, patient_id: int, timepoint: str) -> str:
    instance = _instance(engine, patient_id, timepoint)
    return f"/patients/{patient_id}/surveys/{instance.id}/enter"


def _medicines_record(engine, patient_id: int) -> dict:
    """What the baseline's medicines answer left in the record, the figures and the audit."""
    instance = _instance(engine, patient_id, "baseline")
    with Session(engine) as session:
        response = session.exec(
            select(Response).where(
                Response.instance_id == instance.id,
                Response.instrument_id == "analgesic_use",
                Response.is_current,
            )
        ).one()
        facts = next(
            t.at("baseline")
            for t in timelines(session, AuditFilters(), MORNING + timedelta(hours=1))
            if t.patient_id == patient_id
        )
    return {
        "answers": response.answers,
        "scores": response.scores,
        "instance": (instance.omed_mg_per_day, instance.any_opioid, instance.omed_needs_review),
        "audit": (facts.omed, facts.any_opioid, facts.omed_needs_review, facts.omed_provenance),
    }


def _answer_baseline_by_web(app, engine, patient_id: int, until: str | None = None) -> None:
    """The patient answers the baseline by the web link, leaving every medicine row empty
    (and stopping after questionnaire ``until``, if given)."""
    web = app.test_client()
    instance = _instance(engine, patient_id, "baseline")
    link = f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"
    for page in survey_pages(instance.instruments, baseline=True):
        data = {k: v for k, v in _web_form(page, STORY, "same").items() if "-" not in k}  # no rows
        response = web.post(link, data={"action": "next", **data})
        assert response.status_code == 302, (page.instrument.id, response.text[:300])
        if page.instrument.id == until:
            return
    assert "Thank you" in web.post(link, data={"action": "submit"}).text


def test_none_by_phone_is_stored_as_the_web_link_stores_none(app, client, auth, gen, tick, site):
    by_phone, by_web = _enrol(gen, tick, site), _enrol(gen, tick, site)
    auth.login(gen.user(site).email)
    form = client.get(_entry_url(gen.engine, by_phone.id, "baseline")).text
    assert f'name="{NONE_TICK}" value="yes">' in form  # there, and not ticked
    saved = post_entry(
        client,
        _entry_url(gen.engine, by_phone.id, "baseline"),
        data={**CORE, NONE_TICK: "yes"},
        follow_redirects=True,
    )
    assert "not asked: RAND 36-Item Health Survey 1.0." in saved.text  # medicines were asked
    _answer_baseline_by_web(app, gen.engine, by_web.id)
    phone, web = (
        _medicines_record(gen.engine, by_phone.id),
        _medicines_record(gen.engine, by_web.id),
    )
    assert phone["answers"] == {"medicines": []}
    assert phone["instance"] == (0, False, False)
    assert phone["audit"][:3] == (0, False, False) and phone["audit"][3] is not None
    assert phone == web


def test_a_rise_from_none_at_baseline_raises_the_opioid_rise_alert(
    client, auth, gen, tick, clock, site
):
    patient, nurse = _enrol(gen, tick, site), gen.user(site)
    auth.login(nurse.email)
    baseline = post_entry(
        client, _entry_url(gen.engine, patient.id, "baseline"), data={**CORE, NONE_TICK: "yes"}
    )
    assert baseline.status_code == 302
    day1 = _open_day1(gen.engine, patient.id, tick, clock, auth, nurse)
    url = _entry_url(gen.engine, patient.id, "day1")
    response = post_entry(client, url, data=DAY1_MORPHINE, follow_redirects=True)
    assert "Answers for day1 saved as taken by phone." in response.text
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert).where(Alert.kind == "opioid_up")).all()
    assert [(a.instance_id, a.urgency) for a in alerts] == [(day1.id, "routine")]
    assert "0 to 40 mg/day oral morphine equivalent" in alerts[0].summary


def test_none_ticked_beside_a_medicine_is_refused_and_kept(client, auth, gen, tick, site):
    patient = _enrol(gen, tick, site)
    auth.login(gen.user(site).email)
    url = _entry_url(gen.engine, patient.id, "baseline")
    response = post_entry(client, url, data={**ENTRY, NONE_TICK: "yes"})
    assert response.status_code == 422
    page = response.text
    error = page.index("You ticked “Takes no pain medicines” and filled in a medicine")
    assert page.index('id="q-analgesic_use.medicines"') < error < page.index(f'id="{NONE_TICK}"')
    assert f'aria-describedby="err-{NONE_TICK}"' in page
    assert f'name="{NONE_TICK}" value="yes" checked' in page  # what was typed is kept
    assert '<option value="morphine" selected>' in page
    assert 'name="analgesic_use.medicines-0-amount" value="10"' in page
    assert 'name="pain_nrs.worst" value="7" checked' in page
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).all() == []


def test_blank_medicines_without_the_tick_stay_not_asked(client, auth, gen, tick, clock, site):
    patient, nurse = _enrol(gen, tick, site), gen.user(site)
    auth.login(nurse.email)
    saved = post_entry(
        client, _entry_url(gen.engine, patient.id, "baseline"), data=CORE, follow_redirects=True
    )
    assert "not asked: Pain medicines, RAND 36-Item Health Survey 1.0." in saved.text
    baseline = _instance(gen.engine, patient.id, "baseline")
    with Session(gen.engine) as session:
        asked = session.exec(select(Response.instrument_id)).all()
    assert "analgesic_use" not in asked and "pain_nrs" in asked
    omed = (baseline.omed_mg_per_day, baseline.any_opioid, baseline.omed_needs_review)
    assert omed == (None, None, None)
    _open_day1(gen.engine, patient.id, tick, clock, auth, nurse)
    url = _entry_url(gen.engine, patient.id, "day1")
    response = post_entry(client, url, data=DAY1_MORPHINE, follow_redirects=True)
    assert "Answers for day1 saved as taken by phone." in response.text
    with Session(gen.engine) as session:  # nothing to compare with: no rise is invented
        assert session.exec(select(Alert).where(Alert.kind == "opioid_up")).all() == []


def test_blank_medicines_beside_an_answered_question_stay_not_asked(
    client, auth, gen, tick, clock, site
):
    """At day 1 "the same amount of pain medicine" with the rows left blank and no tick:
    the medicines are not asked, so no OMED of 0 is recorded for a patient on morphine."""
    patient, nurse = _enrol(gen, tick, site), gen.user(site)
    auth.login(nurse.email)
    baseline = {**DAY1_MORPHINE}
    del baseline["analgesic_use.medicine_change"], baseline["global_change.change"]
    post_entry(client, _entry_url(gen.engine, patient.id, "baseline"), data=baseline)
    _open_day1(gen.engine, patient.id, tick, clock, auth, nurse)
    day1 = {k: v for k, v in DAY1_MORPHINE.items() if "-0-" not in k or k.endswith("-unit")}
    day1["analgesic_use.medicine_change"] = "same"
    response = post_entry(client, _entry_url(gen.engine, patient.id, "day1"), data=day1)
    assert response.status_code == 302
    with Session(gen.engine) as session:
        answers = session.exec(
            select(Response.answers).where(
                Response.instance_id == _instance(gen.engine, patient.id, "day1").id,
                Response.instrument_id == "analgesic_use",
            )
        ).one()
    assert answers == {"medicine_change": "same"}
    day1_record = _instance(gen.engine, patient.id, "day1")
    assert (day1_record.omed_mg_per_day, day1_record.any_opioid) == (None, None)
    assert _instance(gen.engine, patient.id, "baseline").omed_mg_per_day == 40


def test_none_the_patient_saved_shows_ticked(app, client, auth, gen, tick, site):
    patient = _enrol(gen, tick, site)
    _answer_baseline_by_web(app, gen.engine, patient.id, until="analgesic_use")
    auth.login(gen.user(site).email)
    form = client.get(_entry_url(gen.engine, patient.id, "baseline")).text
    assert f'name="{NONE_TICK}" value="yes" checked' in form
