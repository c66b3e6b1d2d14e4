"""Fixtures shared by the app's tests (the shape of Flask's tutorial conftest).

No test reads the wall clock. ``clock`` (autouse) moves every test to one instant,
``PRO_TEST_CLOCK`` or by default 23:30 on a winter night in London, inside quiet hours; the
clock then runs on from there. The tests' stories (enrolments, procedures, answers) take
place in 2027, after that instant. A test that depends on the time of day, the date or a
zone says so: it passes ``now=`` to the code, or moves the clock with
``clock.move_to(...)``. ``make test`` runs the database tests once more at 21:30 on a
summer evening (British Summer Time) to show that nothing depends on the pinned instant.
"""

import os
from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine
from flask.testing import FlaskClient

from pro_app import create_app
from pro_app.config import Settings
from tests.databases import PostgresDatabase, SqliteTemplate
from tests.factories import Factory

DEFAULT_TEST_CLOCK = "2026-12-02T23:30:00+00:00"


def pinned_instant() -> datetime:
    """The instant every test starts at: ``PRO_TEST_CLOCK`` or the default winter night."""
    instant = datetime.fromisoformat(os.environ.get("PRO_TEST_CLOCK") or DEFAULT_TEST_CLOCK)
    if instant.tzinfo is None:
        raise pytest.UsageError("PRO_TEST_CLOCK needs a zone, e.g. 2027-07-15T20:30:00+00:00")
    return instant


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    """The test's clock, started at the pinned instant; ``clock.move_to(when)`` moves it."""
    with time_machine.travel(pinned_instant(), tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def no_send_policy_from_the_shell(monkeypatch) -> None:
    """The send time and quiet hours are the defaults unless a test sets them: a shell
    or server that exports its own (``PRO_SEND_TIME``, ``PRO_QUIET_*``) changes no test."""
    for name in ("PRO_SEND_TIME", "PRO_QUIET_START", "PRO_QUIET_END"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_database():
    database = PostgresDatabase()
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, sqlite_template):
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        engine = sqlite_template.fresh(tmp_path)
        yield engine
        engine.dispose()
    else:
        database = request.getfixturevalue("postgres_database")
        yield database.engine
        database.truncate()


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request, tmp_path, sqlite_template):
    """A migrated database of the test's own on each backend, free to migrate up and down."""
    if request.param == "sqlite":
        engine = sqlite_template.fresh(tmp_path)
        yield engine
        engine.dispose()
    else:
        database = PostgresDatabase()
        yield database.engine
        database.drop()


@pytest.fixture
def settings(tmp_path, engine) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret",
        public_base_url="https://pro.example.test",
    )


@pytest.fixture
def app(settings, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path / "instance"))
    app = create_app(
        {"TESTING": True, "SETTINGS": settings, "ENGINE": engine, "WTF_CSRF_ENABLED": False}
    )
    yield app


@pytest.fixture
def csrf_app(settings, engine, tmp_path, monkeypatch):
    """The app with CSRF protection on, as in production."""
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path / "instance"))
    return create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine})


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def gen(engine) -> Factory:
    return Factory(engine)


class AuthActions:
    def __init__(self, client: FlaskClient):
        self._client = client

    def login(self, email: str, password: str = Factory.PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def pytest_report_header(config):
    required = os.environ.get("PRO_REQUIRE_POSTGRES", "")
    return [
        f"PRO_REQUIRE_POSTGRES={required or '0'}",
        f"pinned test clock: {pinned_instant().isoformat()}",
    ]
