"""A background export in Chromium: asked for on the audit page, its progress shown, the
download link appearing without a reload, the file downloaded once."""

import io
import zipfile
from datetime import timedelta

import pytest

from pro_app import create_app
from pro_app.audit.jobs import WorkerSettings, work_once
from pro_app.config import Settings
from tests.audit.test_audit_exports import ENROLLED, NOW, PROCEDURE, answer
from tests.factories import Factory
from tests.real_browser import chromium, new_page, require_browser, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def engine(sqlite_template, tmp_path):
    engine = sqlite_template.fresh(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def live(engine, gen, tmp_path, clock):
    require_browser()
    clock.move_to(NOW)
    site = gen.site()
    auditor = gen.user(site, role="auditor")
    patient = gen.patient(site, now=ENROLLED, study_id="A0", procedure_date=PROCEDURE).patient
    answer(engine, patient.id, "baseline", 8, 6)
    settings = Settings(
        database_url=str(engine.url), secret_key="browser", export_dir=str(tmp_path / "exports")
    )
    app = create_app({"SETTINGS": settings, "ENGINE": engine})
    with serve(app) as base:
        yield base, auditor, settings


def test_an_auditor_asks_for_an_export_and_downloads_it_when_ready(live, engine):
    base, auditor, settings = live
    worker = WorkerSettings(
        folder=settings.export_folder, keep_for=timedelta(hours=24), secret_key="test-secret"
    )
    with chromium() as browser:
        page = new_page(browser, viewport={"width": 1366, "height": 768}, accept_downloads=True)
        page.goto(base + "/login")
        page.fill("input[name='email']", auditor.email)
        page.fill("input[name='password']", Factory.PASSWORD)
        page.click("button[type='submit']")
        page.goto(base + "/audit/")
        page.click("button:has-text('Make the FHIR bulk data')")
        page.wait_for_selector("#export-jobs >> text=Waiting for a worker")
        assert work_once(engine, worker, lambda: NOW, "worker-1") == 1
        link = page.wait_for_selector("#export-jobs a:has-text('Download')")  # no reload
        with page.expect_download() as download:
            link.click()
        data = download.value.path().read_bytes()
        assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [
            "Questionnaire.ndjson",
            "QuestionnaireResponse.ndjson",
        ]
        page.reload()
        assert "Downloaded" in page.inner_text("#export-jobs")
        assert page.locator("#export-jobs a:has-text('Download')").count() == 0
