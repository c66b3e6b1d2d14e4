"""Fixtures shared by the app's tests (the shape of Flask's tutorial conftest)."""

import os

import pytest
from flask.testing import FlaskClient

from pro_app import create_app
from pro_app.config import Settings
from tests.databases import PostgresDatabase, SqliteTemplate
from tests.factories import Factory


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
    return f"PRO_REQUIRE_POSTGRES={required or '0'}"
