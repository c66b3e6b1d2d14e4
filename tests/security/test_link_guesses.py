"""The survey-link guess limit: counted in the database, fair to real links."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.followup.link_guesses import GUESS_LIMIT, GUESS_WINDOW
from pro_app.messaging.links import survey_token
from pro_app.models import SurveyLinkMiss
from tests.tick_helpers import SECRET, instances

ENROLLED = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
GUESSER = {"REMOTE_ADDR": "203.0.113.7"}


class Clock:
    """The time the survey pages read, moved by the test."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(ENROLLED + timedelta(hours=1))
    monkeypatch.setattr("pro_app.web.patient_survey.utcnow", clock)
    return clock


@pytest.fixture
def link(gen, tick, clock) -> str:
    gen.patient(gen.site(), now=ENROLLED)
    tick(ENROLLED)
    instance = instances(gen.engine)[0]
    return f"/s/{survey_token(SECRET, instance.id, instance.link_version)}"


def guess(client, number: int):
    return client.get(f"/s/{number:032d}", environ_base=GUESSER)


def exhaust(client) -> None:
    for number in range(GUESS_LIMIT):
        assert guess(client, number).status_code == 404


def test_the_limit_holds_across_workers_and_restarts(app, settings, engine, link, clock):
    exhaust(app.test_client())
    # Another worker, or the same service after a restart: a new app on the same database.
    other = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine})
    refused = guess(other.test_client(), 999)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= GUESS_WINDOW.total_seconds()
    assert "Too many attempts" in refused.text


def test_a_real_link_opens_from_a_guessing_address(client, link, clock):
    exhaust(client)
    assert guess(client, 999).status_code == 429
    assert client.get(link, environ_base=GUESSER).status_code == 200
    # Other addresses are not affected by this one's guesses.
    assert client.get(f"/s/{1:032d}", environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code == (
        404
    )


def test_the_limit_lifts_when_old_misses_leave_the_window(client, gen, link, clock):
    exhaust(client)
    clock.now += GUESS_WINDOW - timedelta(seconds=30)
    refused = guess(client, 999)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 30
    clock.now += timedelta(seconds=31)
    assert guess(client, 1000).status_code == 404
    with Session(gen.engine) as session:
        kept = session.exec(select(SurveyLinkMiss)).all()
    assert len(kept) == 1  # expired misses are removed as new ones come in


def test_misses_past_the_limit_are_not_stored_and_no_address_is_kept(client, gen, link, clock):
    exhaust(client)
    for number in range(100, 130):
        assert guess(client, number).status_code == 429
    with Session(gen.engine) as session:
        misses = session.exec(select(SurveyLinkMiss)).all()
    assert len(misses) == GUESS_LIMIT
    assert all("203.0.113.7" not in miss.client_key for miss in misses)
    assert {miss.at for miss in misses} == {clock.now}
