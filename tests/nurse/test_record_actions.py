"""The patient record's clinical choices: nothing preselected, stopping confirmed and
undoable, pathway actions on alerts (several at once, "could not reach" keeps them open)."""

from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser

import pytest
from sqlmodel import Session, select

from pro_app.alerts import raise_alert
from pro_app.local_time import local_time
from pro_app.models import (
    AccessLog,
    Alert,
    AlertAction,
    Patient,
    PatientEvent,
    Procedure,
    SafetyEvent,
    Site,
)
from pro_app.models.safety import ALERT_ACTION_LABELS
from pro_app.nurse.actions import ALERT_ACTIONS, act_on_alerts
from pro_app.storage.engine import session_scope
from tests.tick_helpers import FlakyChannel, instances, messages

# A weekday morning in London, outside quiet hours: the baseline text goes at once.
MORNING = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)
WENT = {"sent", "delivered"}  # the text left (the dev channel reports it delivered)


class Controls(HTMLParser):
    """The selects (with their options) and checkboxes of a page, by name."""

    def __init__(self, page: str):
        super().__init__()
        self.selects: dict[str, list[dict]] = {}
        self.checkboxes: list[dict] = []
        self._select: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "select":
            self._select = attributes.get("id") or attributes["name"]
            self.selects[self._select] = []
        elif tag == "option" and self._select:
            self.selects[self._select].append(attributes)
        elif tag == "input" and attributes.get("type") == "checkbox":
            self.checkboxes.append(attributes)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


@pytest.fixture
def record(gen, tick, clock, auth):
    """A signed-in nurse, and a patient three days after the procedure whose baseline and
    day-1 surveys were sent (and not answered), with two more open alerts."""
    clock.move_to(MORNING)
    site = gen.site()
    nurse = gen.user(site)
    enrolled = gen.patient(
        site, now=MORNING - timedelta(days=4), procedure_date=(MORNING - timedelta(days=3)).date()
    )
    tick(MORNING - timedelta(days=4))
    tick(MORNING - timedelta(days=2))
    tick(MORNING)  # day 1's window has closed
    alert_ids = [
        open_alert(gen.engine, enrolled.patient, "red_flag", "Red flag: new leg weakness"),
        open_alert(gen.engine, enrolled.patient, "pain_worse", "Worst pain +3"),
    ]
    auth.login(nurse.email)
    return nurse, enrolled.patient, alert_ids


def open_alert(engine, patient, kind: str, summary: str, *, now=MORNING) -> int:
    with session_scope(engine) as session:
        return raise_alert(
            session,
            site=session.get(Site, patient.site_id),
            patient_id=patient.id,
            kind=kind,
            urgency="24h",
            summary=summary,
            dedupe_key=f"{kind}:{patient.id}:{summary}",
            now=now,
        )


def stored(engine, model, *criteria) -> list:
    with Session(engine) as session:
        return list(session.exec(select(model).where(*criteria)))


def test_no_clinical_or_destructive_choice_is_preselected(client, gen, record):
    _nurse, patient, _alerts = record
    controls = Controls(client.get(f"/patients/{patient.id}").text)
    for name in ("ack-action", "stop-reason", "kind", "grade"):
        options = controls.selects[name]
        assert options[0]["value"] == "" and len(options) > 2, name
        assert not any("selected" in option for option in options), name
    codes = [option["value"] for option in controls.selects["ack-action"][1:]]
    assert codes == [kind.code for kind in ALERT_ACTIONS]
    ticks = [box for box in controls.checkboxes if box["name"] == "alert_ids"]
    open_alerts = stored(gen.engine, Alert, Alert.acknowledged_at.is_(None))
    assert len(ticks) == len(open_alerts) >= 2 and not any("checked" in box for box in ticks)
    confirm = next(box for box in controls.checkboxes if box["name"] == "confirm")
    assert "checked" not in confirm


def test_a_missing_choice_is_refused_in_words_and_nothing_is_stored(client, gen, record):
    _nurse, patient, alert_ids = record
    base = f"/patients/{patient.id}"
    refused = {
        f"{base}/alerts/acknowledge": (
            {"alert_ids": alert_ids[0], "action": ""},
            "Choose the action taken.",
        ),
        f"{base}/stop": ({"reason": "", "confirm": "y"}, "Choose why follow-up stops."),
        f"{base}/safety-events": (
            {"kind": "infection", "grade": "", "event_date": MORNING.date().isoformat()},
            "Choose the grade.",
        ),
    }
    for url, (data, message) in refused.items():
        response = client.post(url, data=data)
        assert response.status_code == 422, url
        assert message in response.text, url
    assert stored(gen.engine, AlertAction) == []
    assert {a.acknowledged_at for a in stored(gen.engine, Alert)} == {None}
    assert stored(gen.engine, SafetyEvent) == []
    assert stored(gen.engine, Patient, Patient.id == patient.id)[0].status == "active"


def test_stopping_needs_the_confirmation_box(client, gen, record):
    nurse, patient, _alerts = record
    url = f"/patients/{patient.id}/stop"
    page = client.get(f"/patients/{patient.id}").text  # week 1 to week 52 are still to come
    assert "Stopping cancels the 6 surveys still open or to come" in page
    response = client.post(url, data={"reason": "withdrew"})
    assert response.status_code == 422
    assert "Tick the box to confirm that follow-up stops." in response.text
    assert "<details open><summary>Stop follow-up" in response.text  # the error is in view
    other = client.post(url, data={"reason": "other", "confirm": "y"})
    assert other.status_code == 422 and "Say why follow-up stops." in other.text
    assert {i.status for i in instances(gen.engine, patient.id)} != {"cancelled"}
    confirmed = client.post(url, data={"reason": "withdrew", "note": "by phone", "confirm": "y"})
    assert confirmed.status_code == 302
    (after,) = stored(gen.engine, Patient, Patient.id == patient.id)
    assert (after.status, after.status_reason) == (
        "stopped",
        "The patient withdrew from follow-up: by phone",
    )
    log = stored(gen.engine, AccessLog, AccessLog.action == "stop_follow_up")
    assert [(e.user_id, e.patient_id) for e in log] == [(nurse.id, patient.id)]


def test_restart_replans_only_the_open_windows_logs_it_and_sends_nothing_twice(
    client, gen, tick, clock, auth, record
):
    nurse, patient, _alerts = record
    base = f"/patients/{patient.id}"
    sent_before = messages(gen.engine, direction="out")
    assert len(sent_before) == 2 and {m.status for m in sent_before} <= WENT  # baseline, day 1
    client.post(f"{base}/stop", data={"reason": "withdrew", "confirm": "y"})
    assert client.post(f"{base}/restart", data={"reason": " "}).status_code == 422
    later = MORNING + timedelta(days=8)  # day 11: week 1's window closed while stopped
    clock.move_to(later)
    auth.login(nurse.email)
    response = client.post(f"{base}/restart", data={"reason": "stopped by mistake"})
    assert response.status_code == 302 and response.location.endswith(base)
    page = client.get(base).text
    assert "Their window has closed, so these stay cancelled: week1." in page
    statuses = {i.timepoint: i.status for i in instances(gen.engine, patient.id)}
    assert (statuses["baseline"], statuses["day1"]) == ("expired", "expired")  # as they were
    assert statuses["week1"] == "cancelled"
    later_ones = {"week2", "week4", "week12", "week26", "week52"}
    assert {statuses[t] for t in later_ones} == {"scheduled"}
    (entry,) = stored(gen.engine, AccessLog, AccessLog.action == "restart_follow_up")
    assert (entry.user_id, entry.patient_id, entry.detail) == (
        nurse.id,
        patient.id,
        "stopped by mistake",
    )
    (event,) = stored(gen.engine, PatientEvent, PatientEvent.kind == "follow_up_restarted")
    assert event.detail["window_closed"] == ["week1"]
    assert event.detail["replanned"] == sorted(later_ones, key=list(statuses).index)
    for day in range(8, 16):  # week 2 goes out; nothing sent before goes again
        tick(MORNING + timedelta(days=day))
    sent = [m for m in messages(gen.engine, direction="out") if m.status in WENT]
    keys = [m.idempotency_key for m in sent]
    assert len(keys) == len(set(keys))
    assert [m.id for m in sent[: len(sent_before)]] == [m.id for m in sent_before]
    week2 = next(i for i in instances(gen.engine, patient.id) if i.timepoint == "week2")
    new = sent[len(sent_before) :]  # week 2's invitation and its reminders
    assert {m.instance_id for m in new} == {week2.id} and new[0].idempotency_key == (
        f"invite:{week2.id}"
    )


def test_paused_follow_up_can_be_stopped_and_restarted(client, gen, record):
    _nurse, patient, _alerts = record
    base = f"/patients/{patient.id}"
    client.post(f"{base}/pause", data={"reason": "in hospital"})
    assert "Follow-up is paused: stopping keeps its surveys cancelled" in client.get(base).text
    stopping = client.post(f"{base}/stop", data={"reason": "died", "confirm": "y"})
    assert stopping.status_code == 302
    (after,) = stored(gen.engine, Patient, Patient.id == patient.id)
    assert (after.status, after.status_reason) == ("stopped", "The patient has died")
    assert client.post(f"{base}/restart", data={"reason": "wrong patient"}).status_code == 302
    statuses = {i.timepoint: i.status for i in instances(gen.engine, patient.id)}
    assert statuses["week1"] == "scheduled" and statuses["baseline"] == "expired"
    (after,) = stored(gen.engine, Patient, Patient.id == patient.id)
    assert after.status == "active"


HOLD_AND_RELEASE = {
    "stop, restart": (
        ("stop", {"reason": "withdrew", "confirm": "y"}),
        ("restart", {"reason": "in error"}),
    ),
    "pause, resume": (("pause", {"reason": "in hospital"}), ("resume", {})),
}


@pytest.mark.parametrize("hold", HOLD_AND_RELEASE)
def test_a_survey_reopened_keeps_its_sent_link_or_gets_one_it_never_got(
    client, gen, tick, clock, auth, hold
):
    """A pause cancelled the invitation still waiting (a morning's queue, a retry); the
    resume set the survey back to sent, and its text never went."""
    (stop, stop_form), (release, release_form) = HOLD_AND_RELEASE[hold]
    clock.move_to(MORNING)
    site = gen.site()
    auth.login(gen.user(site).email)
    sent = gen.patient(site, now=MORNING, procedure_date=MORNING.date()).patient
    waiting = gen.patient(site, now=MORNING, procedure_date=MORNING.date()).patient
    tick(MORNING)  # both baselines go out
    with session_scope(gen.engine) as session:  # the second one's text never left
        for message in messages(gen.engine, patient_id=waiting.id):
            message.status = "pending"
            session.add(message)
    for patient in (sent, waiting):
        assert client.post(f"/patients/{patient.id}/{stop}", data=stop_form).status_code == 302
        assert (
            client.post(f"/patients/{patient.id}/{release}", data=release_form).status_code == 302
        )
    tick(MORNING + timedelta(minutes=5))
    for patient in (sent, waiting):
        (baseline,) = [i for i in instances(gen.engine, patient.id) if i.timepoint == "baseline"]
        assert baseline.status == "sent"
    assert [m.idempotency_key for m in messages(gen.engine, patient_id=sent.id)] == [
        f"invite:{baseline_id(gen.engine, sent.id)}"
    ]
    texts = messages(gen.engine, patient_id=waiting.id)
    key = f"invite:{baseline_id(gen.engine, waiting.id)}"
    assert [m.idempotency_key for m in texts] == [key, f"{key}:v1"]
    assert texts[0].status == "cancelled" and texts[1].status in WENT


def test_a_survey_answered_by_text_gets_its_question_again_not_a_link(
    client, gen, tick, clock, auth
):
    """A patient answering by text, whose first question the pause cancelled before it
    went, got a web link on resuming, then reminders about a question never asked."""
    clock.move_to(MORNING)
    site = gen.site()
    auth.login(gen.user(site).email)
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date(), channel="sms")
    patient = patient.patient
    tick(MORNING)
    with session_scope(gen.engine) as session:  # the first question never left
        for message in messages(gen.engine, patient_id=patient.id):
            message.status = "pending"
            session.add(message)
    client.post(f"/patients/{patient.id}/pause", data={"reason": "in hospital"})
    assert client.post(f"/patients/{patient.id}/resume", data={}).status_code == 302
    tick(MORNING + timedelta(minutes=5))
    texts = messages(gen.engine, patient_id=patient.id)
    key = f"invite:{baseline_id(gen.engine, patient.id)}"
    assert [(m.idempotency_key, m.kind, m.status) for m in texts] == [
        (key, "question", "cancelled"),
        (f"{key}:v1", "question", texts[1].status),
    ]
    assert texts[1].status in WENT
    assert "Question 1 of" in texts[1].body and "{link}" not in texts[1].body


def baseline_id(engine, patient_id: int) -> int:
    return next(i.id for i in instances(engine, patient_id) if i.timepoint == "baseline")


def test_restart_respects_an_opt_out(client, gen, tick, clock, auth):
    clock.move_to(MORNING)
    site = gen.site()
    auth.login(gen.user(site).email)
    patient = gen.patient(site, now=MORNING, procedure_date=MORNING.date()).patient
    tick(MORNING, channel=FlakyChannel())  # the baseline text is still waiting
    client.post(f"/patients/{patient.id}/stop", data={"reason": "withdrew", "confirm": "y"})
    with session_scope(gen.engine) as session:
        stored_patient = session.get(Patient, patient.id)
        stored_patient.sms_opted_out = True
        session.add(stored_patient)
    client.post(f"/patients/{patient.id}/restart", data={"reason": "wants to continue"})
    assert "Texts cannot reach this patient" in client.get(f"/patients/{patient.id}").text
    for day in range(0, 9):
        tick(MORNING + timedelta(days=day, minutes=5))
    assert [m.status for m in messages(gen.engine, patient_id=patient.id)] == ["cancelled"]
    statuses = {i.timepoint: i.status for i in instances(gen.engine, patient.id)}
    assert statuses["week1"] == "sent"  # open for a phone call, but not texted


@pytest.mark.parametrize("kind", [k for k in ALERT_ACTIONS if k.closes], ids=lambda k: k.code)
def test_each_closing_action_is_recorded(client, gen, record, kind):
    nurse, patient, (alert_id, other_id) = record
    data = {"alert_ids": alert_id, "action": kind.code, "note": "spoke to the daughter"}
    response = client.post(f"/patients/{patient.id}/alerts/acknowledge", data=data)
    assert response.status_code == 302
    (alert,) = stored(gen.engine, Alert, Alert.id == alert_id)
    assert (alert.action, alert.action_note, alert.acknowledged_by) == (
        kind.code,
        "spoke to the daughter",
        nurse.id,
    )
    (taken,) = stored(gen.engine, AlertAction)
    assert (taken.alert_id, taken.action, taken.user_id) == (alert_id, kind.code, nurse.id)
    assert stored(gen.engine, Alert, Alert.id == other_id)[0].acknowledged_at is None
    page = client.get(f"/patients/{patient.id}").text
    assert f"{escape(kind.label)}: spoke to the daughter" in page


@pytest.mark.parametrize(
    "action",
    [{"action": "called", "note": "spoke to him"}, {"action": "not_reached", "retry_hours": "2"}],
    ids=["closing", "could not reach"],
)
def test_an_action_sent_twice_is_recorded_once(client, gen, record, clock, auth, action):
    """A double click: "could not reach" counted two attempts in the audit, and a closing
    action would be added again to the alert it had just closed."""
    nurse, patient, (alert_id, _other) = record
    url = f"/patients/{patient.id}/alerts/acknowledge"
    data = {"alert_ids": alert_id, **action}
    assert client.post(url, data=data).status_code == 302
    twice = client.post(url, data=data, follow_redirects=True)
    assert "(the form sent twice): not recorded again" in twice.text
    assert len(stored(gen.engine, AlertAction)) == 1
    if action["action"] == "not_reached":  # another time to try again is a new choice
        assert client.post(url, data={**data, "retry_hours": "1"}).status_code == 302
        (alert,) = stored(gen.engine, Alert, Alert.id == alert_id)
        assert alert.next_try_at - MORNING < timedelta(hours=1, minutes=1)
        assert len(stored(gen.engine, AlertAction)) == 2
    if action["action"] == "not_reached":  # a later attempt is one more
        clock.move_to(MORNING + timedelta(hours=2))
        auth.login(nurse.email)
        assert client.post(url, data=data).status_code == 302
        assert len(stored(gen.engine, AlertAction)) == 3


def test_no_action_needs_a_reason(client, gen, record):
    _nurse, patient, (alert_id, _other) = record
    url = f"/patients/{patient.id}/alerts/acknowledge"
    response = client.post(url, data={"alert_ids": alert_id, "action": "no_action"})
    assert response.status_code == 422 and "Say why no action is needed." in response.text
    assert f'value="{alert_id}" id="alert-{alert_id}" checked' in response.text  # kept ticked
    assert stored(gen.engine, AlertAction) == []


def test_could_not_reach_keeps_the_alert_open_with_a_time_to_try_again(client, gen, record):
    nurse, patient, (alert_id, _other) = record
    url = f"/patients/{patient.id}/alerts/acknowledge"
    data = {"alert_ids": alert_id, "action": "not_reached", "note": "no answer"}
    missing = client.post(url, data=data)
    assert missing.status_code == 422 and "Choose when to try again." in missing.text
    assert missing.text.count('value="no answer"') == 1  # kept here, not in the stop form
    assert client.post(url, data={**data, "retry_hours": "2"}).status_code == 302
    (alert,) = stored(gen.engine, Alert, Alert.id == alert_id)
    (attempt,) = stored(gen.engine, AlertAction)
    assert alert.acknowledged_at is None and alert.next_try_at == attempt.next_try_at
    assert timedelta(hours=2) <= alert.next_try_at - MORNING < timedelta(hours=2, minutes=1)
    assert (attempt.action, attempt.note) == ("not_reached", "no answer")
    page = client.get(f"/patients/{patient.id}").text
    assert f"Try again at {local_time(alert.next_try_at, 'Europe/London')}" in page
    assert f'name="alert_ids" value="{alert_id}"' in page  # still open, still tickable
    listed = client.get("/patients/").text  # the day too: "02:30" alone could be today
    assert f"next try {local_time(alert.next_try_at, 'Europe/London')}" in listed
    client.post(url, data={"alert_ids": alert_id, "action": "called", "note": "reached"})
    (alert,) = stored(gen.engine, Alert, Alert.id == alert_id)
    assert (alert.action, alert.next_try_at, alert.acknowledged_by) == ("called", None, nurse.id)
    actions = [a.action for a in stored(gen.engine, AlertAction)]
    assert actions == ["not_reached", "called"]
    page = client.get(f"/patients/{patient.id}").text
    assert "Could not reach: try again: no answer" in page and "Called the patient: reached" in page


def test_several_alerts_are_acknowledged_in_one_step_each_recorded(client, gen, record):
    nurse, patient, (first, second) = record
    third = open_alert(gen.engine, patient, "non_response", "No reply to week 1")
    data = {"alert_ids": [first, third], "action": "referred_mscc", "note": "MSCC team aware"}
    assert client.post(f"/patients/{patient.id}/alerts/acknowledge", data=data).status_code == 302
    done = stored(gen.engine, Alert, Alert.acknowledged_at.is_not(None))
    assert sorted(a.id for a in done) == sorted([first, third])
    assert {(a.action, a.action_note, a.acknowledged_by) for a in done} == {
        ("referred_mscc", "MSCC team aware", nurse.id)
    }
    assert sorted(a.alert_id for a in stored(gen.engine, AlertAction)) == sorted([first, third])
    assert stored(gen.engine, Alert, Alert.id == second)[0].acknowledged_at is None


def _colleague_calls(gen, patient, alert_id: int, *, note: str | None):
    """A colleague at the patient's site closes ``alert_id`` as "called"; the colleague."""
    with Session(gen.engine) as session:
        site = session.get(Site, patient.site_id)
    colleague = gen.user(site)
    with session_scope(gen.engine) as session:
        act_on_alerts(
            session,
            session.get(Patient, patient.id),
            [alert_id],
            action="called",
            note=note,
            retry_hours=None,
            user_id=colleague.id,
            now=MORNING,
        )
    return colleague


def test_an_alert_a_colleague_closed_meanwhile_is_left_and_the_rest_recorded(client, gen, record):
    """Two nurses on one record: the page drawn before a colleague acknowledged alert A.
    Ticking A and B records the action on B, leaves A as the colleague left it, and says
    so, rather than refusing the form as an unknown choice."""
    nurse, patient, (first, second) = record
    colleague = _colleague_calls(gen, patient, first, note=None)
    data = {"alert_ids": [first, second], "action": "seen_in_clinic"}
    response = client.post(
        f"/patients/{patient.id}/alerts/acknowledge", data=data, follow_redirects=True
    )
    assert "1 alert(s) acknowledged: Seen in clinic." in response.text
    assert (
        "1 ticked had been acknowledged meanwhile by a colleague: your action and note are "
        "added to their history." in response.text
    )
    (a,) = stored(gen.engine, Alert, Alert.id == first)
    (b,) = stored(gen.engine, Alert, Alert.id == second)
    assert (a.action, a.acknowledged_by) == ("called", colleague.id)
    assert (b.action, b.acknowledged_by) == ("seen_in_clinic", nurse.id)
    taken = stored(gen.engine, AlertAction, AlertAction.alert_id == first)
    assert [(t.action, t.user_id) for t in taken] == [
        ("called", colleague.id),
        ("seen_in_clinic", nurse.id),
    ]


def test_a_note_on_an_alert_a_colleague_closed_first_is_kept_in_its_history(client, gen, record):
    """The alert's own form answered "already acknowledged", and the second call's note
    (999 advised) was recorded nowhere."""
    nurse, patient, (first, _second) = record
    colleague = _colleague_calls(gen, patient, first, note="spoke to the patient")
    note = "Second call: weakness in both legs now, advised 999"
    data = {"action": "advised_999", "note": note}
    response = client.post(
        f"/patients/{patient.id}/alerts/{first}/acknowledge", data=data, follow_redirects=True
    )
    assert "your action and note are added to their history" in response.text
    (a,) = stored(gen.engine, Alert, Alert.id == first)
    assert (a.action, a.action_note, a.acknowledged_by) == (
        "called",
        "spoke to the patient",
        colleague.id,
    )
    (added,) = stored(
        gen.engine, AlertAction, AlertAction.alert_id == first, AlertAction.user_id == nurse.id
    )
    assert (added.action, added.note) == ("advised_999", note)
    page = client.get(f"/patients/{patient.id}").text
    assert f"Also: {escape(ALERT_ACTION_LABELS['advised_999'])}: {note}" in page
    summary = client.get(f"/patients/{patient.id}/summary").text
    assert f"Also: {escape(ALERT_ACTION_LABELS['advised_999'])}: {note}" in summary


def test_another_patients_alert_cannot_be_ticked(client, gen, record):
    _nurse, patient, (mine, _other) = record
    someone = gen.patient(gen.site(), now=MORNING).patient
    theirs = open_alert(gen.engine, someone, "red_flag", "Red flag: fever")
    data = {"alert_ids": [mine, theirs], "action": "called"}
    response = client.post(f"/patients/{patient.id}/alerts/acknowledge", data=data)
    assert response.status_code == 422
    assert stored(gen.engine, AlertAction) == []


def test_the_printable_summary_has_the_record_without_forms_nav_or_messages(client, gen, record):
    nurse, patient, (alert_id, _other) = record
    client.post(
        f"/patients/{patient.id}/alerts/acknowledge",
        data={"alert_ids": alert_id, "action": "advised_999", "note": "ambulance called"},
    )
    client.post(
        f"/patients/{patient.id}/safety-events",
        data={
            "kind": "infection",
            "grade": "2",
            "event_date": (MORNING - timedelta(days=1)).date().isoformat(),
            "notes": "wound red",
        },
    )
    detail = client.get(f"/patients/{patient.id}").text
    assert f'href="/patients/{patient.id}/summary"' in detail
    page = client.get(f"/patients/{patient.id}/summary").text
    assert patient.study_id in page and "RFA with kyphoplasty" in page
    for key in ("pain", "omed", "qol"):
        assert f'id="fig-{key}-data"' in page
    assert "Surveys and answers" in page and "day1" in page.replace("day 1", "day1")
    assert "Advised 999 / A&amp;E: ambulance called" in page
    assert "Worst pain +3" in page and "Open" in page
    assert "Infection" in page and "wound red" in page
    assert "<form" not in page and "<nav" not in page and "<select" not in page
    assert "Messages</h2>" not in page and 'class="messages"' not in page
    sample = messages(gen.engine, patient_id=patient.id)[0]
    assert sample.body[:30] not in page
    assert "data-print" in page and "/static/print.js" in page and "print.css" in page
    log = stored(gen.engine, AccessLog, AccessLog.action == "print_patient")
    assert [(e.user_id, e.patient_id) for e in log] == [(nurse.id, patient.id)]


def test_another_sites_nurse_cannot_act_restart_or_print(client, gen, record, auth):
    _nurse, patient, (alert_id, _other) = record
    auth.logout()
    auth.login(gen.user(gen.site()).email)
    base = f"/patients/{patient.id}"
    assert client.get(f"{base}/summary").status_code == 404
    for url, data in {
        f"{base}/alerts/acknowledge": {"alert_ids": alert_id, "action": "called"},
        f"{base}/restart": {"reason": "x"},
        f"{base}/stop": {"reason": "died", "confirm": "y"},
    }.items():
        assert client.post(url, data=data).status_code == 404, url
    assert stored(gen.engine, AlertAction) == []
    assert stored(gen.engine, AccessLog) == []


def test_moving_the_date_while_stopped_schedules_nothing_and_a_restart_plans_from_it(gen):
    """Enrolled 10 days after the procedure (baseline, day 1 and week 1 had closed), then
    stopped; the date is corrected to today. Nothing is scheduled while stopped, and the
    restart plans each timepoint as for a patient enrolled today with today's date."""
    from pro_app.nurse.actions import move_procedure_date, restart, stop

    site = gen.site()
    today = MORNING.date()
    moved = gen.patient(site, now=MORNING, procedure_date=today - timedelta(days=10)).patient
    fresh = gen.patient(site, now=MORNING, procedure_date=today).patient
    with session_scope(gen.engine) as session:
        patient = session.get(Patient, moved.id)
        stop(session, patient, "withdrew", None, user_id=None, now=MORNING)
        procedure = session.exec(select(Procedure).where(Procedure.patient_id == moved.id)).one()
        move_procedure_date(session, procedure, today, user_id=None, now=MORNING)
    assert "scheduled" not in {i.status for i in instances(gen.engine, moved.id)}
    later = MORNING + timedelta(hours=1)
    with session_scope(gen.engine) as session:
        patient = session.get(Patient, moved.id)
        restart(session, patient, "back in touch", secret_key="s", user_id=None, now=later)
    planned = {i.timepoint: (i.status, i.due_at) for i in instances(gen.engine, moved.id)}
    expected = {i.timepoint: (i.status, i.due_at) for i in instances(gen.engine, fresh.id)}
    for timepoint in ("day1", "week1", "week2", "week4", "week12"):
        assert planned[timepoint] == expected[timepoint], timepoint
