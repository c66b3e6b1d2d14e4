"""Static files under versioned URLs with a year's cache, and compressed responses."""

import re
from pathlib import Path

import brotli
from flask import url_for

from pro_app.web.static_files import static_version

STATIC = Path(__file__).resolve().parents[2] / "pro_app" / "static"


def linked(page: str, name: str) -> str:
    found = re.search(rf'href="(/static/{re.escape(name)}\?v=[0-9a-f]{{12}})"', page)
    assert found, f"{name} is not linked with a version"
    return found.group(1)


def test_stylesheets_are_linked_by_version_and_cached_for_a_year(client):
    url = linked(client.get("/login").text, "staff.css")
    assert url.endswith("?v=" + static_version(client.application, "staff.css"))
    fresh = client.get(url)
    assert fresh.status_code == 200
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert fresh.data == (STATIC / "staff.css").read_bytes()
    for stale in ("/static/staff.css", "/static/staff.css?v=000000000000"):
        assert client.get(stale).headers["Cache-Control"] == "no-cache"  # revalidated
    assert client.get("/static/nothing.css?v=1").status_code == 404


def test_a_changed_file_gets_a_new_url(app, tmp_path):
    app.static_folder = str(tmp_path)
    (tmp_path / "site.css").write_text("body { color: black }")
    with app.test_request_context():
        before = url_for("static", filename="site.css")
        (tmp_path / "site.css").write_text("body { color: navy }")
        after = url_for("static", filename="site.css")
        missing = url_for("static", filename="absent.css")
    assert before != after and "?v=" in before and "?v=" in after
    assert missing == "/static/absent.css"  # nothing to version: the plain URL


def test_stylesheets_are_compressed_but_pages_holding_secrets_are_not(client):
    page = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in page.headers  # CSRF token beside reflected input: BREACH
    assert b"<!doctype html>" in page.data.lower()
    url = linked(page.data.decode(), "staff.css")
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "br"
    css = (STATIC / "staff.css").read_bytes()
    assert brotli.decompress(packed.get_data()) == css
    assert len(packed.get_data()) < len(css) / 2
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.data == css
