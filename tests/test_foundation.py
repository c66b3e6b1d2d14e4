"""Configuration, health check, migrations and sign-in."""

from datetime import datetime

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from pro_app import create_app
from pro_app.accounts.passwords import WeakPasswordError, hash_password, verify_password
from pro_app.config import ConfigError, Settings
from pro_app.models import Message
from pro_app.storage.engine import make_engine
from pro_app.storage.migrate import schema_differences
from pro_app.storage.upsert import row_values


def test_models_and_migrations_agree(engine):
    assert schema_differences(engine) == []


def test_every_foreign_key_is_named_as_the_models_name_it(engine):
    """A later migration drops or alters a constraint by its name, on both databases."""
    inspector = inspect(engine)
    named = {
        (table, key["name"])
        for table in inspector.get_table_names()
        for key in inspector.get_foreign_keys(table)
    }
    expected = {
        (table.name, constraint.name)
        for table in SQLModel.metadata.sorted_tables
        for constraint in table.foreign_key_constraints
    }
    if engine.dialect.name == "sqlite":  # added to a made table by 0004, which names none
        expected.discard(("message", "fk_message_site_id_site"))
    assert named >= expected


def test_production_refuses_to_start_without_secret_key(tmp_path):
    env = {"PRO_ENV": "production", "PRO_INSTANCE_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env(env)


PRODUCTION = {
    "PRO_ENV": "production",
    "SECRET_KEY": "s" * 32,
    "PUBLIC_BASE_URL": "https://pro.example.org",
}


@pytest.mark.parametrize("address", ["pro.example.org", "", "https://", "ftp://pro.example.org"])
def test_production_needs_an_https_address_with_a_host(tmp_path, address):
    """Survey links and Twilio's signatures are made from it: "pro.example.org/s/..."
    or "https:/s/..." would reach no one."""
    env = PRODUCTION | {"PRO_INSTANCE_DIR": str(tmp_path), "PUBLIC_BASE_URL": address}
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be the https:// address"):
        Settings.from_env(env)
    assert Settings.from_env(PRODUCTION | {"PRO_INSTANCE_DIR": str(tmp_path)}).production


def test_production_needs_a_long_secret_key_and_an_environment_it_knows(tmp_path):
    env = PRODUCTION | {"PRO_INSTANCE_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="at least 32 characters"):
        Settings.from_env(env | {"SECRET_KEY": "short"})
    with pytest.raises(ConfigError, match="PRO_ENV must be 'production' or 'development'"):
        Settings.from_env(env | {"PRO_ENV": "prod"})  # not quietly development


def test_development_keeps_one_secret_key_in_instance(tmp_path):
    env = {"PRO_INSTANCE_DIR": str(tmp_path)}
    first = Settings.from_env(env).secret_key
    assert (tmp_path / "secret_key").read_text() == first
    assert Settings.from_env(env).secret_key == first
    assert Settings.from_env(env).database_url == f"sqlite:///{tmp_path / 'pro_app.sqlite3'}"


def test_twilio_backend_needs_credentials(tmp_path):
    env = {"PRO_INSTANCE_DIR": str(tmp_path), "SMS_BACKEND": "twilio"}
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID"):
        Settings.from_env(env)
    env |= {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x"}
    with pytest.raises(ConfigError, match="TWILIO_FROM"):
        Settings.from_env(env)
    env["TWILIO_FROM"] = "+447400123456"
    assert Settings.from_env(env).sms_backend == "twilio"


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"


def test_healthz_503_when_database_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    dead = make_engine("postgresql://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    settings = Settings(database_url=str(dead.url), secret_key="x")
    app = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": dead})
    with pytest.raises(OperationalError):
        dead.connect()
    assert app.test_client().get("/healthz").status_code == 503


def test_healthz_503_until_the_migrations_are_applied(tmp_path, monkeypatch):
    """An empty database answers, but every page would fail: not healthy until
    `pro-app db upgrade` (a database one release ahead, during a rollout, still is)."""
    from sqlalchemy import text

    from pro_app.storage.migrate import upgrade

    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    settings = Settings(database_url=str(engine.url), secret_key="x")
    client = create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine}).test_client()
    empty = client.get("/healthz")
    assert (empty.status_code, empty.json["database"]) == (503, "not migrated")
    upgrade(engine)
    assert client.get("/healthz").status_code == 200
    with engine.begin() as connection:  # a newer release has migrated it further
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert client.get("/healthz").status_code == 200
    engine.dispose()


def test_passwords_are_argon2_and_verify():
    hashed = hash_password("a long enough secret")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough secret")
    assert not verify_password(hashed, "a long enough secreT")
    with pytest.raises(WeakPasswordError):
        hash_password("short")


def test_login_and_logout(client, auth, gen):
    site = gen.site()
    user = gen.user(site)
    assert client.get("/patients/").status_code == 302
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/patients/")
    assert client.get("/patients/").status_code == 200
    auth.logout()
    assert client.get("/patients/").status_code == 302


def test_head_of_the_sign_in_pages_answers_as_get(client, gen):
    """An uptime monitor's HEAD of the sign-in page is 200, as its GET is."""
    assert client.head("/login").status_code == 200
    auth_user = gen.user(gen.site())
    client.post("/login", data={"email": auth_user.email, "password": gen.PASSWORD})
    assert client.head("/account/password").status_code == 200


def test_wrong_password_is_refused(client, auth, gen):
    user = gen.user(gen.site())
    response = auth.login(user.email, "not the password")
    assert response.status_code == 401
    assert b"do not match" in response.data
    assert client.get("/patients/").status_code == 302


def test_login_form_needs_csrf_token(csrf_app, gen):
    user = gen.user(gen.site())
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": gen.PASSWORD})
    assert response.status_code == 400
    page = client.get("/login").data.decode()
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": user.email, "password": gen.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_login_does_not_redirect_off_site(client, gen):
    user = gen.user(gen.site())
    response = client.post(
        "/login?next=//evil.example/x", data={"email": user.email, "password": gen.PASSWORD}
    )
    assert response.headers["Location"] == "/patients/"


def test_auditor_cannot_open_patient_pages(client, auth, gen):
    site = gen.site()
    auditor = gen.user(site, role="auditor")
    auth.login(auditor.email)
    assert client.get("/patients/").status_code == 403


def test_an_inserted_row_takes_the_models_defaults_as_a_model_object_gives_them():
    """Every table's defaults for the fields a caller leaves out (times aside)."""
    for model in SQLModel.__subclasses__():
        if not hasattr(model, "__table__"):
            continue
        given = {"id": 7, "not_a_field": 1}
        expected = model(**given).model_dump(exclude={"id"})
        row = row_values(model, given)
        assert set(row) == set(expected), model.__name__
        for name, value in row.items():
            if not isinstance(value, datetime):
                assert value == expected[name], (model.__name__, name)
    message = row_values(Message, {"direction": "in", "body": "hi"})
    assert (message["attempts"], message["body"], message["sent_at"]) == (0, "hi", None)
    assert isinstance(message["created_at"], datetime)
