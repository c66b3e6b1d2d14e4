"""The nurse's patient page: figures, answers, messages, and actions on the follow-up."""

import contextlib
import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from pro_app.followup.answer_saving import save_answers
from pro_app.messaging.links import survey_token
from pro_app.messaging.opt_out import set_opt_out
from pro_app.models import (
    AccessLog,
    Alert,
    Message,
    Patient,
    PatientEvent,
    Procedure,
    Response,
    SafetyEvent,
    SurveyInstance,
)
from pro_app.storage.engine import session_scope
from tests.nurse.entry_form import post_entry
from tests.tick_helpers import instances, messages

SECRET = "test-secret"
# A weekday morning in London, outside quiet hours: the baseline text goes at once.
MORNING = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)


@pytest.fixture
def enrolled(gen, tick, clock):
    """A patient of a signed-in nurse's site whose baseline survey has just been sent."""
    clock.move_to(MORNING)
    site = gen.site()
    now = MORNING
    patient = gen.patient(site, now=now, procedure_date=now.date() + timedelta(days=2)).patient
    tick(now)
    return site, patient


def figure(page: str, key: str) -> dict:
    found = re.search(rf'<script type="application/json" id="fig-{key}-data">(.*?)</script>', page)
    return json.loads(found.group(1))


def baseline(engine, patient_id) -> SurveyInstance:
    return next(i for i in instances(engine, patient_id) if i.timepoint == "baseline")


ENTRY = {
    "pain_nrs.worst": "7",
    "pain_nrs.average": "5",
    "pain_nrs.now": "4",
    **{f"red_flags.{item}": "no" for item in ("weakness", "walking", "numbness", "band_pain")},
    **{f"red_flags.{item}": "no" for item in ("severe_back_pain", "fever", "wound", "chest")},
    "red_flags.bladder_bowel": "yes",
    "qol_overall.overall": "3",
    "analgesic_use.medicines-0-drug": "morphine",
    "analgesic_use.medicines-0-amount": "10",
    "analgesic_use.medicines-0-unit": "mg",
    "analgesic_use.medicines-0-pattern": "regular",
    "analgesic_use.medicines-0-doses": "4",
    "analgesic_use.medicine_change": "same",
}


def test_answers_taken_by_phone_are_saved_as_nurse_entered(client, auth, gen, enrolled):
    site, patient = enrolled
    nurse = gen.user(site)
    auth.login(nurse.email)
    instance = baseline(gen.engine, patient.id)
    url = f"/patients/{patient.id}/surveys/{instance.id}/enter"
    form = client.get(url).text
    assert 'name="pain_nrs.worst"' in form and 'name="analgesic_use.medicines-0-drug"' in form
    assert "Ask your nurse" not in form  # the patient's hint, not for the nurse's form
    bad = post_entry(client, url, {**ENTRY, "pain_nrs.worst": "12"})
    assert bad.status_code == 422 and "Nothing has been saved" in bad.text
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).all() == []
    assert post_entry(client, url, ENTRY).status_code == 302
    with Session(gen.engine) as session:
        rows = session.exec(select(Response).order_by(Response.instrument_id)).all()
        done = session.get(SurveyInstance, instance.id)
        flags = session.exec(select(Alert).where(Alert.kind == "red_flag")).all()
    by_instrument = {row.instrument_id: row for row in rows}
    assert set(by_instrument) >= {"pain_nrs", "red_flags", "qol_overall", "analgesic_use"}
    assert {row.channel for row in rows} == {"nurse"}
    assert {row.entered_by_user_id for row in rows} == {nurse.id}
    assert by_instrument["pain_nrs"].scores["worst"] == 7
    assert by_instrument["analgesic_use"].scores["omed"]["omed_mg_per_day"] == 40
    assert done.status == "completed"
    assert len(flags) == 1  # bladder or bowel change
    page = client.get(f"/patients/{patient.id}").text
    assert "entered by nurse" in page
    worst = next(t for t in figure(page, "pain")["data"] if t["name"] == "Worst pain")
    assert worst["y"] == [7]
    assert figure(page, "omed")["data"][-1]["y"] == [40]


def _entry_form_opened(client, auth, gen, enrolled) -> tuple[SurveyInstance, str, str]:
    """A nurse opens the phone-entry form of the baseline: it, the form's address, and
    the answers the form was opened on."""
    site, patient = enrolled
    auth.login(gen.user(site).email)
    instance = baseline(gen.engine, patient.id)
    url = f"/patients/{patient.id}/surveys/{instance.id}/enter"
    opened = re.search(r'name="answers_seen" value="([^"]*)"', client.get(url).text).group(1)
    return instance, url, opened


def test_a_window_closing_while_the_phone_form_is_open_does_not_refuse_the_entry(
    client, auth, gen, enrolled
):
    """The nurse may enter answers after a window closes; its closing while she was on
    the phone refused her save as "saved meanwhile (shown above)", with nothing shown."""
    instance, url, opened = _entry_form_opened(client, auth, gen, enrolled)
    with session_scope(gen.engine) as session:
        session.get(SurveyInstance, instance.id).status = "expired"
    assert client.post(url, data={"answers_seen": opened, **ENTRY}).status_code == 302
    with Session(gen.engine) as session:
        assert session.get(SurveyInstance, instance.id).status == "completed"


def test_answers_typed_while_a_colleague_paused_follow_up_are_kept_to_save_after_resuming(
    client, auth, gen, enrolled
):
    """The save answered with a redirect and "baseline is cancelled": the answers taken by
    phone, a red flag among them, were in no record and on no page."""
    instance, url, opened = _entry_form_opened(client, auth, gen, enrolled)
    patient_id = instance.patient_id
    assert (
        client.post(f"/patients/{patient_id}/pause", data={"reason": "in hospital"}).status_code
        == 302
    )
    refused = client.post(url, data={"answers_seen": opened, **ENTRY})
    assert refused.status_code == 409
    assert "Follow-up was paused while this form was open" in refused.text
    assert 'name="pain_nrs.worst" value="7" checked' in refused.text  # what she typed
    assert 'name="red_flags.bladder_bowel" value="yes" checked' in refused.text
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).all() == []
    assert client.post(f"/patients/{patient_id}/resume", data={}).status_code == 302
    assert client.post(url, data={"answers_seen": opened, **ENTRY}).status_code == 302
    with Session(gen.engine) as session:
        assert session.get(SurveyInstance, instance.id).status == "completed"
        assert session.exec(select(Alert).where(Alert.kind == "red_flag")).all() != []


def test_a_survey_finished_while_the_phone_form_is_open_says_so(client, auth, gen, enrolled):
    instance, url, opened = _entry_form_opened(client, auth, gen, enrolled)
    with session_scope(gen.engine) as session:  # the patient submits "Check your answers"
        session.get(SurveyInstance, instance.id).status = "completed"
    refused = client.post(url, data={"answers_seen": opened, **ENTRY})
    assert refused.status_code == 409
    assert "The patient finished this survey while this form was open" in refused.text
    assert "(shown above the form)" not in refused.text
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).all() == []


def test_answers_saved_while_the_phone_form_was_open_are_never_overwritten(
    client, auth, gen, enrolled
):
    """The nurse opens the form; the patient answers on the web meanwhile (worst pain 9,
    new weakness); the nurse's save is refused with the patient's answers shown and hers
    kept in the form, so nothing either of them gave is lost."""
    instance, url, opened = _entry_form_opened(client, auth, gen, enrolled)
    with session_scope(gen.engine) as session:
        survey = session.get(SurveyInstance, instance.id)
        for instrument_id, answers in (
            ("pain_nrs", {"worst": 9, "average": 8, "now": 8}),
            ("red_flags", {"weakness": True, **{k: False for k in ("walking", "numbness")}}),
        ):
            save_answers(session, survey, instrument_id, answers, channel="web", now=MORNING)
    stale = client.post(url, data={"answers_seen": opened, **ENTRY})
    assert stale.status_code == 409
    page = stale.text
    assert "Answers for this timepoint were saved while this form was open" in page
    assert "Saved while this form was open" in page
    assert "saved by the patient, on the web" in page
    assert 'name="pain_nrs.worst" value="7" checked' in page  # what the nurse entered is kept
    with Session(gen.engine) as session:
        rows = session.exec(select(Response).where(Response.is_current)).all()
        assert {(r.instrument_id, r.channel) for r in rows} == {
            ("pain_nrs", "web"),
            ("red_flags", "web"),
        }
        assert session.get(SurveyInstance, instance.id).status != "completed"
    # Sent again from the form now showing both, it saves (the nurse has seen them).
    again = re.search(r'name="answers_seen" value="([^"]*)"', page).group(1)
    assert client.post(url, data={"answers_seen": again, **ENTRY}).status_code == 302


def test_a_correction_form_opened_before_another_nurses_correction_is_refused(
    client, auth, gen, enrolled
):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    instance = baseline(gen.engine, patient.id)
    url = f"/patients/{patient.id}/surveys/{instance.id}/enter"
    assert post_entry(client, url, ENTRY).status_code == 302  # answered by phone: completed
    mine = re.search(r'name="answers_seen" value="([^"]*)"', client.get(url).text).group(1)
    theirs = post_entry(
        client, url, {"pain_nrs.worst": "9", "pain_nrs.average": "5", "pain_nrs.now": "4"}
    )
    assert theirs.status_code == 302
    refused = client.post(url, data={"answers_seen": mine, "qol_overall.overall": "6"})
    assert refused.status_code == 409
    with Session(gen.engine) as session:
        pain = session.exec(
            select(Response.answers).where(
                Response.instrument_id == "pain_nrs", Response.is_current
            )
        ).one()
    assert pain["worst"] == 9  # the other nurse's correction stands


def test_the_nurse_sees_why_an_opioid_answer_needs_review(client, auth, gen, enrolled):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    instance = baseline(gen.engine, patient.id)
    slip = {
        **ENTRY,
        "analgesic_use.medicines-0-amount": "10000",
        "analgesic_use.medicines-0-doses": "48",
        "analgesic_use.medicines-1-drug": "other",
        "analgesic_use.medicines-1-name": "Pregabalin",
        "analgesic_use.medicines-1-amount": "75",
        "analgesic_use.medicines-1-unit": "mg",
        "analgesic_use.medicines-1-pattern": "regular",
        "analgesic_use.medicines-1-doses": "2",
    }
    url = f"/patients/{patient.id}/surveys/{instance.id}/enter"
    assert post_entry(client, url, slip).status_code == 302
    with Session(gen.engine) as session:
        saved = session.get(SurveyInstance, instance.id)
        assert (saved.omed_needs_review, saved.omed_implausible) == (True, True)
        assert saved.omed_mg_per_day is None  # kept in the answer, out of the figures
    page = client.get(f"/patients/{patient.id}").text
    assert (
        "480,000 mg/day known (opioids_aware 2020); needs review: morphine 480,000 mg a day "
        "is above the plausible 1,000 mg a day (opioids_aware 2020): check the strength and "
        "doses"
    ) in page
    assert "Pregabalin 75.0 mg" in page  # the co-analgesic is listed, not flagged


def test_resending_a_link_revokes_the_old_one(client, auth, gen, enrolled):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    instance = baseline(gen.engine, patient.id)
    old = f"/s/{survey_token(SECRET, instance.id, 0)}"
    assert client.get(old).status_code == 200
    assert client.post(f"/patients/{patient.id}/surveys/{instance.id}/resend").status_code == 302
    sent = messages(gen.engine, instance_id=instance.id, kind="invitation")
    assert [m.idempotency_key for m in sent] == [
        f"invite:{instance.id}",
        f"invite:{instance.id}:v1",
    ]
    assert "{link}" in sent[1].body
    assert client.get(old).status_code == 404
    assert client.get(f"/s/{survey_token(SECRET, instance.id, 1)}").status_code == 200
    page = client.get(f"/patients/{patient.id}").text
    assert "[survey link]" in page and survey_token(SECRET, instance.id, 1) not in page
    # Clicked again before that text has gone: nothing more is queued (one text, not two).
    again = client.post(
        f"/patients/{patient.id}/surveys/{instance.id}/resend", follow_redirects=True
    )
    assert "is already waiting to go" in again.text
    assert len(messages(gen.engine, instance_id=instance.id, kind="invitation")) == 2
    assert client.get(f"/s/{survey_token(SECRET, instance.id, 1)}").status_code == 200


def test_a_link_is_not_replaced_while_a_reminder_with_it_is_checked_with_the_provider(
    client, auth, gen, enrolled
):
    """A reminder whose send had no answer is looked for at the provider by its body,
    link and all: a new link made it look unsent, and it was sent again."""
    site, patient = enrolled
    auth.login(gen.user(site).email)
    instance = baseline(gen.engine, patient.id)
    with session_scope(gen.engine) as session:
        session.add(
            Message(
                patient_id=patient.id,
                instance_id=instance.id,
                direction="out",
                kind="reminder",
                to_number=patient.phone_e164,
                body="A reminder: {link}",
                status="unknown",
                idempotency_key=f"remind:{instance.id}:1",
                created_at=MORNING,
                attempted_at=MORNING,
            )
        )
    refused = client.post(
        f"/patients/{patient.id}/surveys/{instance.id}/resend", follow_redirects=True
    )
    assert "is being sent or checked with the provider" in refused.text
    assert baseline(gen.engine, patient.id).link_version == 0
    assert len(messages(gen.engine, instance_id=instance.id, kind="invitation")) == 1


def test_each_surveys_actions_name_its_timepoint_for_screen_readers(client, auth, gen, enrolled):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    page = client.get(f"/patients/{patient.id}").text
    assert 'Resend link<span class="visually-hidden"> for baseline</span>' in page
    assert 'Enter answers taken by phone<span class="visually-hidden"> at baseline</span>' in page


def test_a_mobile_another_patient_uses_is_taken_with_a_warning(client, auth, gen, enrolled):
    site, patient = enrolled
    gen.patient(site, phone="07400 765432", study_id="PARTNER-1")
    auth.login(gen.user(site).email)
    response = client.post(
        f"/patients/{patient.id}/mobile", data={"mobile": "07400 765432"}, follow_redirects=True
    )
    assert "Mobile number updated. This mobile number is also used by PARTNER-1" in response.text
    with Session(gen.engine) as session:
        assert session.get(Patient, patient.id).phone_e164 == "+447400765432"


def test_a_corrected_mobile_gets_the_link_that_was_waiting_for_the_wrong_one(
    client, auth, gen, enrolled, tick
):
    """The baseline's text, still waiting (a morning's queue, a retry), was cancelled with
    the wrong number and nothing went to the right one."""
    site, patient = enrolled
    with session_scope(gen.engine) as session:
        for message in messages(gen.engine, patient_id=patient.id):
            message.status = "pending"
            session.add(message)
    auth.login(gen.user(site).email)
    response = client.post(
        f"/patients/{patient.id}/mobile", data={"mobile": "07400 765432"}, follow_redirects=True
    )
    assert "Mobile number updated. A fresh link for baseline goes to it." in response.text
    with Session(gen.engine) as session:
        (event,) = session.exec(
            select(PatientEvent).where(PatientEvent.kind == "mobile_corrected")
        ).all()
    assert event.detail["new_links"] == ["baseline"]
    tick(MORNING + timedelta(minutes=5))
    texts = messages(gen.engine, patient_id=patient.id)
    assert [(m.status, m.to_number) for m in texts] == [
        ("cancelled", patient.phone_e164),
        ("delivered", "+447400765432"),  # the dev outbox delivers at once
    ]
    again = client.post(
        f"/patients/{patient.id}/mobile", data={"mobile": "07400 765439"}, follow_redirects=True
    )
    assert "fresh link" not in again.text  # the link went: nothing is cancelled or sent again
    assert len(messages(gen.engine, patient_id=patient.id)) == 2


def test_a_mobile_that_texted_stop_is_taken_opted_out_and_the_nurse_told(
    client, auth, gen, enrolled
):
    site, patient = enrolled
    stopped = gen.patient(site, phone="07400 765432", study_id="PARTNER-1").patient
    with session_scope(gen.engine) as session:  # the number texted STOP
        set_opt_out(session, "+447400765432", [session.get(Patient, stopped.id)], True, MORNING)
    auth.login(gen.user(site).email)
    response = client.post(
        f"/patients/{patient.id}/mobile", data={"mobile": "07400 765432"}, follow_redirects=True
    )
    assert "Mobile number updated. This mobile number texted STOP" in response.text
    with Session(gen.engine) as session:
        assert session.get(Patient, patient.id).sms_opted_out


def _a_number_that_texted_stop(gen, site) -> Patient:
    """A patient at ``site`` on 07400 765432, which has texted STOP."""
    stranger = gen.patient(site, phone="07400 765432", study_id="OTHER-1").patient
    with session_scope(gen.engine) as session:
        set_opt_out(session, "+447400765432", [session.get(Patient, stranger.id)], True, MORNING)
    return stranger


def test_a_mistyped_mobile_that_texted_stop_takes_its_opt_out_away_when_corrected(
    client, auth, gen, enrolled
):
    """The STOP was the mistyped number's, never the patient's: with the right number
    back, texts are on again. A patient's own STOP stays when their mobile changes."""
    site, patient = enrolled
    stranger = _a_number_that_texted_stop(gen, site)
    auth.login(gen.user(site).email)
    right = "0" + patient.phone_e164.removeprefix("+44")
    client.post(f"/patients/{patient.id}/mobile", data={"mobile": "07400 765432"})
    fixed = client.post(
        f"/patients/{patient.id}/mobile", data={"mobile": right}, follow_redirects=True
    )
    assert "Texts are on again for this patient" in fixed.text
    with Session(gen.engine) as session:
        assert not session.get(Patient, patient.id).sms_opted_out
        assert session.get(Patient, stranger.id).sms_opted_out  # the number's own STOP stays
        events = session.exec(
            select(PatientEvent.kind)
            .where(PatientEvent.patient_id == patient.id)
            .order_by(PatientEvent.id)
        ).all()
    assert events[-3:] == ["sms_opt_out", "mobile_corrected", "sms_opt_in"]
    # The stranger texted STOP themselves: a new mobile does not turn their texts on.
    own = client.post(
        f"/patients/{stranger.id}/mobile", data={"mobile": "07400 111999"}, follow_redirects=True
    )
    assert "Texts stay off for this patient, who texted STOP" in own.text
    with Session(gen.engine) as session:
        assert session.get(Patient, stranger.id).sms_opted_out


def test_a_patients_own_stop_after_a_carried_one_stays_when_the_mobile_is_corrected(
    client, auth, gen, enrolled
):
    """The record took a number that had texted STOP; then the patient, on it, texted STOP
    too. That second STOP added nothing (the record was opted out already), so a later
    correction of the mobile turned texts back on against the patient's own wish."""
    site, patient = enrolled
    stranger = _a_number_that_texted_stop(gen, site)
    auth.login(gen.user(site).email)
    client.post(f"/patients/{patient.id}/mobile", data={"mobile": "07400 765432"})
    with session_scope(gen.engine) as session:
        on_number = [session.get(Patient, p.id) for p in (patient, stranger)]
        set_opt_out(session, "+447400765432", on_number, True, MORNING + timedelta(hours=1))
    fixed = client.post(
        f"/patients/{patient.id}/mobile", data={"mobile": "07911 123456"}, follow_redirects=True
    )
    assert "Texts stay off for this patient, who texted STOP" in fixed.text
    with Session(gen.engine) as session:
        assert session.get(Patient, patient.id).sms_opted_out


def test_saving_the_same_channel_or_mobile_says_nothing_changed(client, auth, gen, enrolled):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    base = f"/patients/{patient.id}"
    same = client.post(f"{base}/channel", data={"channel": patient.channel}, follow_redirects=True)
    assert "Nothing changed: the patient is already asked this way." in same.text
    assert "Channel changed" not in same.text
    national = "0" + patient.phone_e164.removeprefix("+44")  # the same number, written nationally
    same = client.post(f"{base}/mobile", data={"mobile": national}, follow_redirects=True)
    assert "Nothing changed: this is the mobile number already kept." in same.text
    assert "Mobile number updated" not in same.text
    with Session(gen.engine) as session:
        kinds = session.exec(select(PatientEvent.kind)).all()
    assert not {"channel_changed", "mobile_corrected"} & set(kinds)
    changed = client.post(f"{base}/channel", data={"channel": "sms"}, follow_redirects=True)
    assert "Channel changed; it applies from the next survey." in changed.text


def test_channel_mobile_pause_and_resume(client, auth, gen, enrolled):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    base = f"/patients/{patient.id}"
    client.post(f"{base}/channel", data={"channel": "sms"})
    client.post(f"{base}/mobile", data={"mobile": "not a number"})
    with Session(gen.engine) as session:
        stored = session.get(Patient, patient.id)
        assert (stored.channel, stored.phone_e164) == ("sms", patient.phone_e164)
        stored.phone_problem = "Twilio error 21211: invalid number"
        session.add(stored)
        session.commit()
    client.post(f"{base}/mobile", data={"mobile": "07911 123456"})
    client.post(f"{base}/pause", data={"reason": "in hospital"})
    with Session(gen.engine) as session:
        stored = session.get(Patient, patient.id)
        kinds = [e.kind for e in session.exec(select(PatientEvent).order_by(PatientEvent.id))]
    assert (stored.phone_e164, stored.phone_problem, stored.status) == (
        "+447911123456",
        None,
        "paused",
    )
    assert {"channel_changed", "mobile_corrected", "follow_up_paused"} <= set(kinds)
    assert {i.status for i in instances(gen.engine, patient.id)} == {"cancelled"}
    client.post(f"{base}/resume")
    statuses = [i.status for i in instances(gen.engine, patient.id)]
    assert statuses[0] == "sent" and set(statuses[1:]) == {"scheduled"}


@pytest.mark.parametrize("status", ["paused", "stopped"])
def test_the_procedure_date_can_be_corrected_while_follow_up_is_held(
    client, auth, gen, enrolled, status
):
    """The form was offered only while follow-up was active, though the date is a fact the
    audit counts from and a held follow-up is planned again from it."""
    site, patient = enrolled
    auth.login(gen.user(site).email)
    base = f"/patients/{patient.id}"
    if status == "paused":
        client.post(f"{base}/pause", data={"reason": "in hospital"})
    else:
        client.post(f"{base}/stop", data={"reason": "withdrew", "confirm": "y"})
    assert client.get(base).text.count("Change the procedure date") == 1
    new_date = (MORNING + timedelta(days=9)).date()
    moved = client.post(
        f"{base}/procedure-date",
        data={"procedure_date": new_date.isoformat()},
        follow_redirects=True,
    )
    when = "when follow-up resumes" if status == "paused" else "if follow-up restarts"
    assert when in moved.text
    with Session(gen.engine) as session:
        stored = session.get(Patient, patient.id)
        procedure = session.exec(select(Procedure).where(Procedure.patient_id == patient.id)).one()
    assert (stored.status, procedure.procedure_date) == (status, new_date)


def test_resuming_names_the_surveys_whose_window_closed_during_the_pause(
    client, auth, gen, enrolled, clock
):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    base = f"/patients/{patient.id}"
    client.post(f"{base}/pause", data={"reason": "in hospital"})
    first = baseline(gen.engine, patient.id)
    clock.move_to(first.closes_at + timedelta(days=1))
    auth.login(gen.user(site).email)
    resumed = client.post(f"{base}/resume", follow_redirects=True)
    assert "Their window has closed, so these stay cancelled: baseline" in resumed.text
    assert baseline(gen.engine, patient.id).status == "cancelled"


def test_safety_events_before_the_procedure_are_refused(client, auth, gen, enrolled):
    site, patient = enrolled  # the procedure is two days from now
    auth.login(gen.user(site).email)
    url = f"/patients/{patient.id}/safety-events"
    today = MORNING.date()
    for day in (today - timedelta(days=400), today):
        data = {"kind": "cement_leakage", "grade": "1", "event_date": day.isoformat()}
        response = client.post(url, data=data, follow_redirects=True)
        assert "cannot come before the procedure date" in response.text
    with Session(gen.engine) as session:
        assert session.exec(select(SafetyEvent)).all() == []


def test_the_procedure_date_cannot_move_past_a_recorded_safety_event(client, auth, gen, clock):
    """The move was saved, and the register's rows gave the infection -2 days after its
    procedure; one recorded in error no longer holds the date back."""
    clock.move_to(MORNING)
    site = gen.site()
    procedure_day = MORNING.date() - timedelta(days=3)
    patient = gen.patient(site, now=MORNING, procedure_date=procedure_day).patient
    auth.login(gen.user(site).email)
    base = f"/patients/{patient.id}"
    infection = {
        "kind": "infection",
        "grade": "2",
        "event_date": (procedure_day + timedelta(days=1)).isoformat(),
    }
    assert client.post(f"{base}/safety-events", data=infection).status_code == 302
    later = {"procedure_date": (procedure_day + timedelta(days=2)).isoformat()}
    refused = client.post(f"{base}/procedure-date", data=later, follow_redirects=True)
    assert "A safety event (infection) is recorded on" in refused.text
    assert "the date was not changed" in refused.text
    with Session(gen.engine) as session:
        assert session.exec(select(Procedure)).one().procedure_date == procedure_day
        event_id = session.exec(select(SafetyEvent)).one().id
    withdrawn = client.post(
        f"{base}/safety-events/{event_id}/withdraw", data={"reason": "wrong patient"}
    )
    assert withdrawn.status_code == 302
    assert client.post(f"{base}/procedure-date", data=later).status_code == 302
    with Session(gen.engine) as session:
        assert session.exec(select(Procedure)).one().procedure_date == procedure_day + timedelta(
            days=2
        )


def test_a_refused_safety_event_comes_back_with_what_was_typed(client, auth, gen, enrolled):
    """Refused by the rules (a date before the procedure) or by the form (notes too long):
    a 422 with the form as typed, and nothing stored or cut short."""
    site, patient = enrolled
    auth.login(gen.user(site).email)
    url = f"/patients/{patient.id}/safety-events"
    typed = {
        "kind": "cement_leakage",
        "grade": "1",
        "symptomatic": "no",
        "event_date": (MORNING.date() - timedelta(days=30)).isoformat(),
        "notes": "small leak seen on the check film",
    }
    response = client.post(url, data=typed)
    assert response.status_code == 422
    assert "cannot come before the procedure date" in response.text
    assert "small leak seen on the check film" in response.text
    assert re.search(r'<option selected value="cement_leakage">', response.text)
    assert "<details open><summary>Record a safety event" in response.text
    too_long = {**typed, "event_date": MORNING.date().isoformat(), "notes": "x" * 2001}
    response = client.post(url, data=too_long)
    assert response.status_code == 422
    with Session(gen.engine) as session:
        assert session.exec(select(SafetyEvent)).all() == []


def test_a_grade_5_event_stops_follow_up_so_nothing_is_texted_to_the_patients_phone(
    client, auth, gen, tick, clock
):
    """Grade 5 is a death related to the event: no more surveys go to the phone (a
    family would get them); the nurse is told, and a restart undoes it."""
    clock.move_to(MORNING)
    site = gen.site()
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date() - timedelta(days=3))
    auth.login(gen.user(site).email)
    response = client.post(
        f"/patients/{patient.patient.id}/safety-events",
        data={"kind": "infection", "grade": "5", "event_date": MORNING.date().isoformat()},
        follow_redirects=True,
    )
    assert "Follow-up has stopped (the patient has died)" in response.text
    with Session(gen.engine) as session:
        stopped = session.get(Patient, patient.patient.id)
        waiting = session.exec(
            select(SurveyInstance).where(SurveyInstance.status == "scheduled")
        ).all()
    assert (stopped.status, stopped.status_reason) == ("stopped", "The patient has died")
    assert waiting == []
    assert tick(MORNING + timedelta(days=30)).delivery.sent == 0


def test_a_safety_event_recorded_in_error_is_kept_struck_through_and_left_out_of_the_audit(
    client, auth, gen, tick, clock
):
    """Grade 5 picked by a slip: the nurse marks it recorded in error, with why; it stays on
    the record, struck through, leaves the audit's counts and the register's rows, and the
    nurse is told to restart the follow-up it stopped."""
    from pro_app.audit.report import build_report
    from pro_app.audit.safety_rows import safety_rows
    from pro_app.audit.timelines import AuditFilters

    clock.move_to(MORNING)
    site = gen.site()
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date() - timedelta(days=3))
    auth.login(gen.user(site).email)
    base = f"/patients/{patient.patient.id}"
    day = MORNING.date().isoformat()
    client.post(
        f"{base}/safety-events", data={"kind": "infection", "grade": "5", "event_date": day}
    )
    with Session(gen.engine) as session:
        (event,) = session.exec(select(SafetyEvent)).all()
    url = f"{base}/safety-events/{event.id}/withdraw"
    blank = client.post(url, data={"reason": ""}, follow_redirects=True)
    assert "Say why the event was recorded in error." in blank.text  # a reason is needed
    with Session(gen.engine) as session:
        assert session.get(SafetyEvent, event.id).withdrawn_at is None
    done = client.post(url, data={"reason": "meant grade 2"}, follow_redirects=True)
    assert "marked as recorded in error" in done.text and "restart it" in done.text
    assert (
        "<del>" in done.text and "Recorded in error" in done.text and "meant grade 2" in done.text
    )
    again = client.post(url, data={"reason": "again"}, follow_redirects=True)
    assert "already marked as recorded in error" in again.text  # once
    with Session(gen.engine) as session:
        kept = session.get(SafetyEvent, event.id)
        report = build_report(session, AuditFilters(), MORNING)
        rows = list(safety_rows(session, AuditFilters()))
        kinds = session.exec(select(PatientEvent.kind)).all()
    assert (kept.withdrawn_reason, kept.grade) == ("meant grade 2", 5)  # kept as it was
    assert sum(report.safety.values()) == 0 and rows == []
    assert "safety_event_withdrawn" in kinds
    # The right event can then be recorded (the withdrawn one is no twin of it).
    right = {"kind": "infection", "grade": "5", "event_date": day}
    assert client.post(f"{base}/safety-events", data=right).status_code == 302
    # Another site's nurse cannot reach it.
    auth.logout()
    auth.login(gen.user(gen.site()).email)
    assert client.post(url, data={"reason": "x"}).status_code == 404


def test_symptomatic_is_recorded_for_cement_leakage_only(client, auth, gen, clock):
    clock.move_to(MORNING)
    site = gen.site()
    procedure = MORNING.date() - timedelta(days=3)
    patient = gen.patient(site, now=MORNING, procedure_date=procedure).patient
    auth.login(gen.user(site).email)
    day = MORNING.date().isoformat()
    data = {"kind": "infection", "grade": "2", "symptomatic": "no", "event_date": day}
    response = client.post(f"/patients/{patient.id}/safety-events", data=data)
    assert response.status_code == 422
    assert "for cement leakage only" in response.text
    leak = {"kind": "cement_leakage", "grade": "1", "event_date": day}  # symptomatic left blank
    response = client.post(f"/patients/{patient.id}/safety-events", data=leak)
    assert response.status_code == 422
    assert "Say whether the cement leakage was symptomatic." in response.text
    with Session(gen.engine) as session:
        assert session.exec(select(SafetyEvent)).all() == []


def _safety_events_url(client, auth, gen, clock) -> str:
    """A nurse signed in at a patient's record three days after the procedure: where its
    safety events are recorded."""
    clock.move_to(MORNING)
    site = gen.site()
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date() - timedelta(days=3))
    auth.login(gen.user(site).email)
    return f"/patients/{patient.patient.id}/safety-events"


def test_a_safety_event_sent_twice_is_recorded_once(client, auth, gen, clock):
    """The back button, a double click: the same event, grade and date is one event."""
    url = _safety_events_url(client, auth, gen, clock)
    event = {"kind": "infection", "grade": "2", "event_date": MORNING.date().isoformat()}
    assert client.post(url, data=event).status_code == 302
    again = client.post(url, data=event)
    assert again.status_code == 422 and "This event is already recorded" in again.text
    assert client.post(url, data={**event, "grade": "3"}).status_code == 302  # a different one
    with Session(gen.engine) as session:
        assert [e.grade for e in session.exec(select(SafetyEvent))] == [2, 3]


def test_two_other_events_on_one_day_are_told_apart_by_their_notes(client, auth, gen, clock):
    """ "Other" says what it was in its notes: a rash after a urinary retention, both
    grade 2 on one day, was refused as the same event, one short in the audit."""
    url = _safety_events_url(client, auth, gen, clock)
    other = {"kind": "other", "grade": "2", "event_date": MORNING.date().isoformat()}
    retention = {**other, "notes": "urinary retention, catheterised"}
    assert client.post(url, data=retention).status_code == 302
    assert client.post(url, data={**other, "notes": "rash over the back"}).status_code == 302
    again = client.post(url, data={**retention, "notes": " urinary retention, catheterised "})
    assert again.status_code == 422 and "and the same notes" in again.text
    with Session(gen.engine) as session:
        assert len(session.exec(select(SafetyEvent)).all()) == 2


def test_cement_leakage_sent_twice_is_recorded_once_whichever_symptoms(client, auth, gen, clock):
    """Two leakages on one day, one symptomatic and one not, are two events; sending
    either again is refused (the twin was looked up without its symptoms, so the second
    symptomless one went in)."""
    url = _safety_events_url(client, auth, gen, clock)
    leak = {"kind": "cement_leakage", "grade": "1", "event_date": MORNING.date().isoformat()}
    assert client.post(url, data={**leak, "symptomatic": "yes"}).status_code == 302
    assert client.post(url, data={**leak, "symptomatic": "no"}).status_code == 302
    for symptoms in ("no", "yes"):
        assert client.post(url, data={**leak, "symptomatic": symptoms}).status_code == 422
    with Session(gen.engine) as session:
        assert [e.symptomatic for e in session.exec(select(SafetyEvent))] == [True, False]


def test_a_safety_event_sent_twice_at_once_is_recorded_once(gen, clock, monkeypatch):
    """A double click sends two requests together: each looked for the other's event
    before either had written it, and PostgreSQL kept both."""
    if gen.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes its write lock at BEGIN, so the two queue already")
    from pro_app.nurse import actions

    clock.move_to(MORNING)
    site = gen.site()
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date() - timedelta(days=3))
    nurse = gen.user(site)
    both_looked = threading.Barrier(2, timeout=2)
    looked_up = actions._recorded_twin

    def look_then_wait(*args):
        found = looked_up(*args)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_looked.wait()  # the other has looked too (unless it waits on the lock)
        return found

    monkeypatch.setattr(actions, "_recorded_twin", look_then_wait)
    outcomes = []

    def record():
        try:
            with session_scope(gen.engine) as session:
                actions.record_safety_event(
                    session,
                    session.get(Patient, patient.patient.id),
                    session.get(Procedure, patient.procedure.id),
                    kind="infection",
                    grade=2,
                    event_date=MORNING.date(),
                    symptomatic=None,
                    notes=None,
                    user_id=nurse.id,
                    now=MORNING,
                )
            outcomes.append("recorded")
        except actions.ActionRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["recorded", "refused"]
    with Session(gen.engine) as session:
        assert len(session.exec(select(SafetyEvent)).all()) == 1


def test_a_past_procedure_gets_safety_events_on_the_figure(client, auth, gen, tick, clock):
    clock.move_to(MORNING)
    site = gen.site()
    now = MORNING
    patient = gen.patient(site, now=now, procedure_date=now.date() - timedelta(days=3)).patient
    auth.login(gen.user(site).email)
    event_day = now.date() - timedelta(days=1)
    client.post(
        f"/patients/{patient.id}/safety-events",
        data={
            "kind": "cement_leakage",
            "grade": "2",
            "event_date": event_day.isoformat(),
            "symptomatic": "yes",
            "notes": "leak into the disc",
        },
    )
    with Session(gen.engine) as session:
        (event,) = session.exec(select(SafetyEvent)).all()
    assert (event.kind, event.grade, event.symptomatic) == ("cement_leakage", 2, True)
    page = client.get(f"/patients/{patient.id}").text
    marks = next(t for t in figure(page, "pain")["data"] if t["name"] == "Safety events")
    assert marks["x"] == [2] and "Cement leakage, grade 2" in marks["customdata"][0]
    assert "leak into the disc" in page


def test_a_safety_event_dated_today_is_taken_in_the_first_hour_of_a_summer_day(
    client, auth, gen, clock
):
    # 00:30 BST on 15 July is 23:30 UTC on 14 July: the nurse's "today" is the 15th.
    just_after_midnight = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)
    clock.move_to(just_after_midnight)
    site = gen.site()
    procedure_day = just_after_midnight.date() - timedelta(days=5)
    patient = gen.patient(site, now=just_after_midnight, procedure_date=procedure_day).patient
    auth.login(gen.user(site).email)
    url = f"/patients/{patient.id}/safety-events"
    for day, refused in (("2027-07-15", False), ("2027-07-16", True)):
        data = {"kind": "cement_leakage", "grade": "2", "event_date": day, "symptomatic": "yes"}
        response = client.post(url, data=data, follow_redirects=True)
        assert ("The event date is in the future." in response.text) is refused, day
    with Session(gen.engine) as session:
        dates = [e.event_date.isoformat() for e in session.exec(select(SafetyEvent))]
    assert dates == ["2027-07-15"]


def test_views_write_the_access_log(client, auth, gen, enrolled):
    site, patient = enrolled
    nurse = gen.user(site)
    auth.login(nurse.email)
    client.get(f"/patients/{patient.id}")
    with Session(gen.engine) as session:
        (entry,) = session.exec(select(AccessLog)).all()
    assert (entry.user_id, entry.patient_id, entry.action) == (nurse.id, patient.id, "view_patient")


def test_another_sites_nurse_gets_404_for_every_page_and_action(client, auth, gen, enrolled):
    _site, patient = enrolled
    instance = baseline(gen.engine, patient.id)
    auth.login(gen.user(gen.site()).email)
    base = f"/patients/{patient.id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/surveys/{instance.id}/enter").status_code == 404
    posts = {
        f"{base}/surveys/{instance.id}/resend": {},
        f"{base}/surveys/{instance.id}/enter": ENTRY,
        f"{base}/channel": {"channel": "sms"},
        f"{base}/mobile": {"mobile": "07911 123456"},
        f"{base}/pause": {"reason": "x"},
        f"{base}/resume": {},
        f"{base}/stop": {"reason": "other"},
        f"{base}/procedure-date": {"procedure_date": "2027-02-01"},
        f"{base}/safety-events": {"kind": "infection", "grade": "1", "event_date": "2027-02-01"},
        f"{base}/safety-events/1/withdraw": {"reason": "not theirs to withdraw"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 404, url
    with Session(gen.engine) as session:
        stored = session.get(Patient, patient.id)
        assert (stored.channel, stored.status) == ("link", "active")
        assert session.exec(select(Response)).all() == []
        assert session.exec(select(SafetyEvent)).all() == []
        assert session.exec(select(AccessLog)).all() == []
    assert len(messages(gen.engine, direction="out")) == 1


def test_a_survey_of_another_patient_is_not_reachable_through_mine(client, auth, gen, enrolled):
    site, patient = enrolled
    other = gen.patient(site, now=MORNING).patient
    theirs = baseline(gen.engine, other.id)
    auth.login(gen.user(site).email)
    assert client.get(f"/patients/{patient.id}/surveys/{theirs.id}/enter").status_code == 404
    assert client.post(f"/patients/{patient.id}/surveys/{theirs.id}/resend").status_code == 404


def test_a_pause_reason_too_long_is_refused_not_cut(client, auth, gen, enrolled):
    site, patient = enrolled
    auth.login(gen.user(site).email)
    response = client.post(f"/patients/{patient.id}/pause", data={"reason": "x" * 201})
    assert response.status_code == 422 and "Why pause" in response.text
    with Session(gen.engine) as session:
        assert session.get(Patient, patient.id).status == "active"
    client.post(f"/patients/{patient.id}/pause", data={"reason": "in hospital"})
    with Session(gen.engine) as session:
        stored = session.get(Patient, patient.id)
    assert (stored.status, stored.status_reason) == ("paused", "in hospital")


def test_a_completed_survey_is_corrected_as_a_new_nurse_entered_version(
    client, auth, gen, tick, clock
):
    """The patient rings: week 1's worst pain was 8, not 5. The correction supersedes the
    web answer, keeps the survey completed and answered by web, and the worsening check
    runs again on it (day 1 was 7 against a baseline of 5: two rises in a row now)."""
    from tests.followup.test_worsening import ENROLLED, answer

    site = gen.site()
    patient = gen.patient(site, now=ENROLLED, procedure_date=datetime(2027, 1, 11).date()).patient
    for timepoint, worst in (("baseline", 5), ("day1", 7), ("week1", 5)):
        answer(gen.engine, tick, timepoint, worst, 3)
    week1 = next(i for i in instances(gen.engine, patient.id) if i.timepoint == "week1")
    clock.move_to(week1.completed_at + timedelta(days=1))
    auth.login(gen.user(site).email)
    url = f"/patients/{patient.id}/surveys/{week1.id}/enter"
    assert (
        'Correct answers<span class="visually-hidden"> at week1'
        in client.get(f"/patients/{patient.id}").text
    )
    page = client.get(url).text
    assert "<h1>Correct answers" in page
    unchanged = {"pain_nrs.worst": "5", "pain_nrs.average": "5", "pain_nrs.now": "5"}
    response = post_entry(client, url, unchanged, follow_redirects=True)
    assert "No answer for week1 changed" in response.text
    response = post_entry(client, url, {**unchanged, "pain_nrs.worst": "8"}, follow_redirects=True)
    assert "Answers for week1 corrected (Pain in the treated area); it stays completed." in (
        response.text
    )
    with Session(gen.engine) as session:
        rows = session.exec(
            select(Response)
            .where(Response.instance_id == week1.id, Response.instrument_id == "pain_nrs")
            .order_by(Response.id)
        ).all()
        after = session.get(SurveyInstance, week1.id)
        alerts = session.exec(select(Alert).where(Alert.kind == "pain_worse")).all()
        events = session.exec(
            select(PatientEvent).where(PatientEvent.kind == "answers_corrected")
        ).all()
    assert [(r.answers["worst"], r.channel, r.is_current) for r in rows] == [
        (5, "web", False),
        (8, "nurse", True),
    ]
    assert rows[1].supersedes_id == rows[0].id and rows[1].entered_by_user_id is not None
    assert (after.status, after.completed_at, after.answer_channel) == (
        "completed",
        week1.completed_at,
        "web",
    )
    assert after.pain_worst == 8
    assert [a.instance_id for a in alerts] == [week1.id]
    assert [e.detail for e in events] == [{"timepoint": "week1", "questionnaires": ["pain_nrs"]}]


def test_phone_entry_keeps_what_the_patient_already_answered_as_theirs(gen, tick):
    """The patient saved their pain on the web; the nurse's call takes the rest. The
    pain, unchanged in the form, stays the patient's web answer, not a nurse's copy."""
    from pro_app.followup.answer_saving import save_answers
    from pro_app.nurse.phone_entry import save_entry

    site = gen.site()
    nurse = gen.user(site)
    procedure = MORNING.date() + timedelta(days=7)
    patient = gen.patient(site, now=MORNING, procedure_date=procedure).patient
    tick(MORNING)
    baseline = next(i for i in instances(gen.engine, patient.id) if i.timepoint == "baseline")
    pain = {"worst": 6, "average": 5, "now": 4}
    with session_scope(gen.engine) as session:
        instance = session.get(SurveyInstance, baseline.id)
        save_answers(session, instance, "pain_nrs", pain, channel="web", now=MORNING)
    with session_scope(gen.engine) as session:
        instance = session.get(SurveyInstance, baseline.id)
        entry = {"pain_nrs": pain, "qol_overall": {"overall": 7}}
        save_entry(session, instance, entry, user_id=nurse.id, now=MORNING)
    with Session(gen.engine) as session:
        rows = session.exec(select(Response).order_by(Response.id)).all()
    assert [(r.instrument_id, r.channel, r.is_current) for r in rows] == [
        ("pain_nrs", "web", True),
        ("qol_overall", "nurse", True),
    ]
