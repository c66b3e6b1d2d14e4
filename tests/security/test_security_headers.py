"""HSTS in production; the staff pages' CSP allows no inline script or style."""

import pytest

from pro_app import create_app
from pro_app.config import Settings

HSTS = "Strict-Transport-Security"


def make_client(engine, *, production: bool):
    settings = Settings(
        database_url=str(engine.url),
        secret_key="test-secret",
        public_base_url="https://pro.example.test",
        production=production,
    )
    return create_app({"TESTING": True, "SETTINGS": settings, "ENGINE": engine}).test_client()


@pytest.mark.parametrize("path", ["/login", "/s/" + "x" * 32, "/healthz", "/no-such-page"])
def test_production_answers_with_hsts_everywhere(engine, tmp_path, monkeypatch, path):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    response = make_client(engine, production=True).get(path, base_url="https://pro.example.test")
    assert response.headers[HSTS] == "max-age=31536000; includeSubDomains"


def test_development_sends_no_hsts(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PRO_INSTANCE_DIR", str(tmp_path))
    assert HSTS not in make_client(engine, production=False).get("/login").headers


def test_staff_pages_allow_no_inline_script_or_style(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in policy
