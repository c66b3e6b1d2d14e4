"""Planning and the tick: the right survey at the right time, once."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from notifications import OutgoingSms
from pro_app.followup.survey_pages import survey_pages
from pro_app.messaging.links import LINK_PLACEHOLDER, render_body, survey_token
from pro_app.messaging.outbox import claim_batch
from pro_app.messaging.timing import SendPolicy
from pro_app.models import (
    Alert,
    InstanceStatus,
    MessageStatus,
    Patient,
    PatientEvent,
    Procedure,
    Response,
    SurveyInstance,
)
from pro_app.scheduling.invitations import invite_due
from pro_app.scheduling.plan import (
    DateChange,
    change_procedure_date,
    reopen_follow_up,
    stop_follow_up,
)
from pro_app.scheduling.protocols import timepoints_for
from pro_app.storage.engine import session_scope
from tests.tick_helpers import LINKS, SECRET, FlakyChannel, RecordingChannel, instances, messages

TIMEPOINTS = ["baseline", "day1", "week1", "week2", "week4", "week12", "week26", "week52"]
ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday morning in London (GMT)
PROCEDURE = date(2027, 1, 11)


def test_enrolment_plans_every_timepoint(gen):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    planned = instances(gen.engine, enrolled.patient.id)
    assert sorted(i.timepoint for i in planned) == sorted(TIMEPOINTS)
    assert all(i.status == InstanceStatus.SCHEDULED for i in planned)
    by_id = {i.timepoint: i for i in planned}
    assert by_id["baseline"].due_at == ENROLLED
    assert by_id["baseline"].closes_at == datetime(2027, 1, 12, 0, 0, tzinfo=UTC)
    # Day 1 goes at 10:00 London time the day after the procedure.
    assert by_id["day1"].due_at == datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
    # Week 26 falls in British Summer Time: 10:00 local is 09:00 UTC.
    assert by_id["week26"].due_at == datetime(2027, 7, 12, 9, 0, tzinfo=UTC)
    for instance in planned:
        assert instance.opens_at <= instance.due_at < instance.closes_at


def test_the_tick_invites_once_with_a_working_link(gen, tick):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    channel = RecordingChannel()
    report = tick(ENROLLED, channel)
    assert report.invited == 1
    assert report.delivery.sent == 1
    stored = messages(gen.engine)
    assert len(stored) == 1
    assert LINK_PLACEHOLDER in stored[0].body  # no working link is kept in the database
    assert stored[0].status == MessageStatus.SENT
    assert stored[0].provider_sid == "SM" + "1".zfill(32)
    baseline = instances(gen.engine, enrolled.patient.id)[0]
    token = survey_token(SECRET, baseline.id, baseline.link_version)
    assert f"https://pro.example.test/s/{token}" in channel.sent[0].body
    assert channel.sent[0].to == enrolled.patient.phone_e164
    # A second pass at the same moment, or a minute later, sends nothing more.
    assert tick(ENROLLED, channel).invited == 0
    assert tick(ENROLLED + timedelta(minutes=1), channel).delivery.sent == 0
    assert len(channel.sent) == 1


def test_nothing_is_sent_in_quiet_hours(gen, tick):
    late = datetime(2027, 1, 4, 22, 30, tzinfo=UTC)
    gen.patient(gen.site(), now=late, procedure_date=PROCEDURE)
    channel = RecordingChannel()
    assert tick(late, channel).invited == 0
    assert tick(datetime(2027, 1, 5, 7, 59, tzinfo=UTC), channel).invited == 0
    assert tick(datetime(2027, 1, 5, 8, 0, tzinfo=UTC), channel).invited == 1
    assert len(channel.sent) == 1


def test_a_year_of_follow_up_sends_each_invitation_once(gen, tick):
    site = gen.site()
    answering = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE)
    silent = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE)
    channel = RecordingChannel()
    now = ENROLLED
    while now < ENROLLED + timedelta(days=400):
        tick(now, channel)
        _answer_everything_open(gen.engine, answering.patient.id, now)
        now += timedelta(hours=6)
    invites = messages(gen.engine, kind="invitation")
    assert sorted(m.instance_id for m in invites) == sorted({m.instance_id for m in invites})
    assert len(invites) == 2 * len(TIMEPOINTS)
    done = instances(gen.engine, answering.patient.id)
    assert {i.status for i in done} == {InstanceStatus.COMPLETED}
    missed = instances(gen.engine, silent.patient.id)
    assert {i.status for i in missed} == {InstanceStatus.EXPIRED}
    # The answering patient got no reminders; the silent one got them, within the protocol.
    assert not messages(gen.engine, patient_id=answering.patient.id, kind="reminder")
    plans = {tp.id: tp for tp in timepoints_for("default")}
    silent_reminders = [
        m for m in messages(gen.engine, patient_id=silent.patient.id) if "reminder" in m.kind
    ]
    assert len(silent_reminders) <= sum(len(p.reminder_hours) for p in plans.values())
    assert len(silent_reminders) >= len(TIMEPOINTS)
    with Session(gen.engine) as session:
        alerts = session.exec(select(Alert).where(Alert.patient_id == silent.patient.id)).all()
    # Two misses in a row raise a non-response alert, once per further miss.
    assert [a.kind for a in alerts] == ["non_response"] * (len(TIMEPOINTS) - 1)


def _answer_everything_open(engine, patient_id: int, now: datetime) -> None:
    from pro_app.followup.answer_saving import complete

    with session_scope(engine) as session:
        for instance in session.exec(
            select(SurveyInstance).where(
                SurveyInstance.patient_id == patient_id,
                SurveyInstance.status == InstanceStatus.SENT,
            )
        ):
            complete(session, instance, now=now)


def test_moving_the_procedure_replans_only_unsent_surveys(gen, tick):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    tick(ENROLLED)
    before = {i.timepoint: i for i in instances(gen.engine, enrolled.patient.id)}
    later = date(2027, 1, 18)
    with session_scope(gen.engine) as session:
        procedure = session.get(Procedure, enrolled.procedure.id)
        moved = change_procedure_date(session, procedure, later, user_id=None, now=ENROLLED)
    assert moved.replanned == len(TIMEPOINTS) - 1  # the baseline invitation is already out
    after = {i.timepoint: i for i in instances(gen.engine, enrolled.patient.id)}
    assert after["baseline"].due_at == before["baseline"].due_at
    assert after["baseline"].status == InstanceStatus.SENT
    assert after["day1"].due_at == before["day1"].due_at + timedelta(days=7)
    # The same change again does nothing, and the first one is on record.
    with session_scope(gen.engine) as session:
        procedure = session.get(Procedure, enrolled.procedure.id)
        assert change_procedure_date(session, procedure, later, user_id=None, now=ENROLLED) == (
            DateChange(0, 0, 0, 0)
        )
        events = session.exec(
            select(PatientEvent).where(PatientEvent.kind == "procedure_date_changed")
        ).all()
    assert [e.detail["to"] for e in events] == ["2027-01-18"]
    channel = RecordingChannel()
    for day in range(30):
        tick(ENROLLED + timedelta(days=day, hours=1), channel)
    assert len(messages(gen.engine, kind="invitation")) == len(
        {m.instance_id for m in messages(gen.engine, kind="invitation")}
    )


def test_a_sent_baseline_closes_when_the_procedure_moves_earlier_than_its_window(
    gen, tick, client, monkeypatch
):
    """The baseline asks about pain before the procedure: moved to a date already past,
    the one already sent closes at once, so an answer given later is not kept as a
    baseline; moved to a nearer date still to come, it closes at the end of that day."""
    site = gen.site()
    moved = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    nearer = gen.patient(site, now=ENROLLED, procedure_date=PROCEDURE).patient
    tick(ENROLLED)
    change_at = ENROLLED + timedelta(days=2)  # Wednesday 6 January
    with session_scope(gen.engine) as session:
        for patient, new_date in ((moved, date(2027, 1, 5)), (nearer, date(2027, 1, 7))):
            procedure = session.exec(
                select(Procedure).where(Procedure.patient_id == patient.id)
            ).one()
            change = change_procedure_date(
                session, procedure, new_date, user_id=None, now=change_at
            )
            assert change.closed_early == 1
    baselines = {i.patient_id: i for i in instances(gen.engine) if i.timepoint == "baseline"}
    assert baselines[moved.id].closes_at == change_at
    assert baselines[nearer.id].closes_at == datetime(2027, 1, 8, 0, 0, tzinfo=UTC)
    tick(change_at + timedelta(minutes=5))
    assert _baseline(gen.engine, moved.id).status == InstanceStatus.EXPIRED
    baseline = baselines[moved.id]
    link = f"/s/{survey_token(SECRET, baseline.id, baseline.link_version)}"
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: change_at + timedelta(days=1))
    response = client.post(link, data={"action": "next", "worst": "5"})
    assert response.status_code == 410
    with Session(gen.engine) as session:
        assert session.exec(select(Response)).first() is None
        event = session.exec(select(PatientEvent).where(PatientEvent.patient_id == moved.id)).all()
    assert [e.detail.get("closed_early") for e in event if e.kind == "procedure_date_changed"] == [
        1
    ]


def _baseline(engine, patient_id) -> SurveyInstance:
    return next(i for i in instances(engine, patient_id) if i.timepoint == "baseline")


def _move(engine, patient_id, new_date, now):
    with session_scope(engine) as session:
        procedure = session.exec(select(Procedure).where(Procedure.patient_id == patient_id)).one()
        return change_procedure_date(session, procedure, new_date, user_id=None, now=now)


def test_a_date_typed_wrong_then_corrected_reopens_the_baseline_it_closed(
    gen, tick, client, monkeypatch
):
    """A slip (2026 for 2027) closes the sent baseline, and the pass expires it; the
    corrected date restores its close as planned, so the patient can still answer."""
    patient = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    tick(ENROLLED)
    planned = _baseline(gen.engine, patient.id).closes_at
    slip = ENROLLED + timedelta(hours=1)
    assert _move(gen.engine, patient.id, date(2026, 1, 11), slip).closed_early == 1
    tick(slip + timedelta(minutes=1))
    assert _baseline(gen.engine, patient.id).status == InstanceStatus.EXPIRED
    change = _move(gen.engine, patient.id, PROCEDURE, slip + timedelta(minutes=5))
    assert change.reopened == 1
    baseline = _baseline(gen.engine, patient.id)
    assert (baseline.status, baseline.closes_at, baseline.closes_at_as_planned) == (
        InstanceStatus.SENT,
        planned,
        None,
    )
    link = f"/s/{survey_token(SECRET, baseline.id, baseline.link_version)}"
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", lambda: slip + timedelta(hours=1))
    page = survey_pages(baseline.instruments, baseline=True)[0]
    answers = {item.id: "5" for item in page.items}
    assert client.post(link, data={"action": "next", **answers}).status_code == 302


def test_a_date_moved_earlier_while_paused_closes_the_sent_baseline_for_the_resume(gen, tick):
    patient = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    tick(ENROLLED)
    _pause(gen.engine, patient.id, ENROLLED + timedelta(days=1))
    moved_at = ENROLLED + timedelta(days=2)
    assert _move(gen.engine, patient.id, date(2027, 1, 5), moved_at).closed_early == 1
    resumed = _resume(gen.engine, patient.id, moved_at + timedelta(hours=1))
    assert [i.timepoint for i in resumed.closed] == ["baseline"]
    assert _baseline(gen.engine, patient.id).status == InstanceStatus.CANCELLED


def test_stopping_follow_up_cancels_the_rest(gen, tick):
    enrolled = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    gen_time = ENROLLED + timedelta(minutes=5)
    with session_scope(gen.engine) as session:
        patient = session.get(Patient, enrolled.patient.id)
        cancelled = stop_follow_up(
            session, patient, status="stopped", reason="withdrew", user_id=None, now=gen_time
        )
    assert cancelled == len(TIMEPOINTS)
    assert tick(ENROLLED + timedelta(days=30)).invited == 0
    statuses = {i.status_reason for i in instances(gen.engine, enrolled.patient.id)}
    assert statuses == {"withdrew"}


@pytest.mark.parametrize("jitter", [0.8, 1.0, 1.2])
def test_transient_failures_retry_until_sent_once(gen, tick, monkeypatch, jitter):
    """Through an hour-long outage the text is held, neither failed nor sent; a 503 may
    have been created at the provider, so between tries it is 'unknown' until asked."""
    monkeypatch.setattr("pro_app.messaging.outbox.random.uniform", lambda low, high: jitter)
    gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    channel = FlakyChannel()
    now = ENROLLED
    held = set()
    for _ in range(60):  # an hour-long outage, one tick a minute
        tick(now, channel)
        held.add(messages(gen.engine)[0].status)
        now += timedelta(minutes=1)
    assert channel.refused >= 3 and not channel.sent
    assert held == {MessageStatus.PENDING, MessageStatus.UNKNOWN}
    channel.healthy = True
    for _ in range(40):
        tick(now, channel)
        now += timedelta(minutes=1)
    assert len(channel.sent) == 1
    assert messages(gen.engine)[0].status == MessageStatus.SENT


def test_lost_send_is_reconciled_not_repeated(gen, tick, engine):
    """A process that dies after handing a text over leaves it 'sending'; the next pass
    finds it at the provider instead of sending it again."""
    gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    channel = RecordingChannel()

    invite_due(engine, ENROLLED, secret_key=SECRET, worker="dead")
    claimed = claim_batch(engine, "dead", ENROLLED, SendPolicy(), 10)
    assert len(claimed.ids) == 1
    message = messages(engine)[0]
    assert message.status == MessageStatus.SENDING
    instance = instances(engine)[0]
    body = render_body(message.body, secret_key=SECRET, base_url=LINKS.base_url, instance=instance)
    channel.send(OutgoingSms(to=message.to_number, body=body, idempotency_key="x"))
    # ... and the process died here. Within the lease nobody touches it:
    report = tick(ENROLLED + timedelta(minutes=1), channel)
    assert report.delivery.sent == 0
    # After the lease it is reconciled against what the provider has.
    report = tick(ENROLLED + timedelta(minutes=10), channel)
    assert report.delivery.unknown == 1 and report.delivery.reconciled == 1
    assert len(channel.sent) == 1
    assert messages(engine)[0].status == MessageStatus.SENT
    assert messages(engine)[0].provider_sid is not None


def test_a_lapsed_send_is_asked_about_once_the_provider_has_settled_after_its_lease(
    gen, tick, engine
):
    """The dead sender's last send could start just before its lease ended, and the
    provider may create it later still: it is asked about ``settle_after`` (3 minutes)
    from the lease's end, not from the claim, so a late text is found, not sent again."""
    gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE)
    invite_due(engine, ENROLLED, secret_key=SECRET, worker="dead")
    claimed = claim_batch(engine, "dead", ENROLLED, SendPolicy(), 10)
    channel = RecordingChannel()  # the provider has not created it yet
    report = tick(claimed.lease_ends + timedelta(minutes=2), channel)
    assert (report.delivery.unknown, report.delivery.reconciled) == (1, 0)
    assert messages(engine)[0].status == MessageStatus.UNKNOWN and not channel.sent
    message, instance = messages(engine)[0], instances(engine)[0]
    body = render_body(message.body, secret_key=SECRET, base_url=LINKS.base_url, instance=instance)
    channel.send(OutgoingSms(to=message.to_number, body=body, idempotency_key="x"))  # late
    report = tick(claimed.lease_ends + timedelta(minutes=3), channel)
    assert report.delivery.reconciled == 1
    assert len(channel.sent) == 1
    assert messages(engine)[0].status == MessageStatus.SENT


def _reminders(engine, patient_id) -> list[str]:
    return [m.kind for m in messages(engine, patient_id=patient_id) if "reminder" in m.kind]


def _pause(engine, patient_id, now):
    with session_scope(engine) as session:
        stop_follow_up(
            session,
            session.get(Patient, patient_id),
            status="paused",
            reason="in hospital",
            user_id=None,
            now=now,
        )


def _resume(engine, patient_id, now):
    with session_scope(engine) as session:
        return reopen_follow_up(
            session, session.get(Patient, patient_id), cancelled_reason="in hospital", now=now
        )


def test_a_survey_open_again_after_a_pause_is_reminded_from_then_on(gen, tick):
    """Baseline reminders fall 24 h and 72 h after the invitation. Paused across the
    first, the survey gets the second once resumed, and not the first late."""
    patient = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    tick(ENROLLED)
    _pause(gen.engine, patient.id, ENROLLED + timedelta(hours=1))
    resumed = _resume(gen.engine, patient.id, ENROLLED + timedelta(hours=30))
    assert resumed.reopened[0].timepoint == "baseline"
    tick(ENROLLED + timedelta(hours=31))
    assert _reminders(gen.engine, patient.id) == []
    tick(ENROLLED + timedelta(hours=72, minutes=5))
    assert _reminders(gen.engine, patient.id) == ["last_reminder"]


def test_a_survey_a_date_correction_reopens_is_reminded_again(gen, tick):
    patient = gen.patient(gen.site(), now=ENROLLED, procedure_date=PROCEDURE).patient
    tick(ENROLLED)
    slip = ENROLLED + timedelta(hours=1)
    _move(gen.engine, patient.id, date(2026, 1, 11), slip)
    tick(slip + timedelta(minutes=1))  # the pass expires the baseline the slip closed
    assert _move(gen.engine, patient.id, PROCEDURE, slip + timedelta(minutes=5)).reopened == 1
    tick(ENROLLED + timedelta(hours=24, minutes=5))
    assert _reminders(gen.engine, patient.id) == ["reminder"]
