"""Background exports: queued, run under a lease, downloaded once by their owner, on both
databases."""

import io
import os
import threading
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from pro_app.audit import exports, jobs
from pro_app.audit.exports import PATIENT_COLUMNS
from pro_app.audit.jobs import (
    LEASE,
    MAX_ATTEMPTS,
    DownloadRefused,
    WorkerSettings,
    claim_next,
    expire_files,
    queue_export,
    recover_interrupted,
    run_claimed,
    take_download,
    work_once,
)
from pro_app.audit.timelines import AuditFilters
from pro_app.models import AccessLog, ExportJob, User
from tests.audit.test_audit_exports import ENROLLED, NOW, PROCEDURE, answer

KEEP = timedelta(hours=24)


@pytest.fixture(autouse=True)
def _audit_day(clock):
    clock.move_to(NOW)


@pytest.fixture
def sites(gen):
    """Site A with two patients who answered, site B with one."""
    site_a, site_b = gen.site(), gen.site()
    for number in range(2):
        patient = gen.patient(
            site_a, now=ENROLLED, study_id=f"A{number}", procedure_date=PROCEDURE
        ).patient
        answer(gen.engine, patient.id, "baseline", 8, 6)
        answer(gen.engine, patient.id, "week4", 4, 2)
    other = gen.patient(site_b, now=ENROLLED, study_id="B0", procedure_date=PROCEDURE).patient
    answer(gen.engine, other.id, "baseline", 7, 0)
    return site_a, site_b


@pytest.fixture
def folder(app):
    return app.extensions["pro_settings"].export_folder


def settings_for(folder) -> WorkerSettings:
    return WorkerSettings(folder=folder, keep_for=KEEP, secret_key="test-secret")


def at(moment: datetime):
    return lambda: moment


def queued(engine, user: User, fmt: str = "xlsx", site_id=None) -> int:
    with Session(engine) as session:
        job = queue_export(session, user, "patients", fmt, AuditFilters(site_id=site_id), NOW)
        session.commit()
        return job.id


def job_row(engine, job_id: int) -> ExportJob:
    with Session(engine) as session:
        return session.get(ExportJob, job_id)


def test_a_job_is_queued_on_the_page_run_and_downloaded_once_by_its_owner(
    app, engine, gen, sites, folder
):
    site_a, site_b = sites
    owner = gen.user(site_a, role="auditor")
    colleague = gen.user(site_a, role="auditor")
    client, other = app.test_client(), app.test_client()
    client.post("/login", data={"email": owner.email, "password": gen.PASSWORD})
    other.post("/login", data={"email": colleague.email, "password": gen.PASSWORD})

    asked = client.post(f"/audit/jobs?site={site_b.id}", data={"level": "patients", "fmt": "xlsx"})
    assert asked.status_code == 303 and asked.location.endswith("#exports")
    assert "Waiting for a worker" in client.get("/audit/").text
    with Session(engine) as session:
        job = session.exec(select(ExportJob).where(ExportJob.user_id == owner.id)).one()
    assert (job.status, job.user_id) == ("queued", owner.id)
    assert AuditFilters(site_id=site_a.id).__dict__ == jobs.filters_from_json(job.filters).__dict__

    assert work_once(engine, settings_for(folder), at(NOW), "worker-1") == 1
    done = job_row(engine, job.id)
    assert done.status == "done" and done.rows_written == done.rows_total == 12  # 2 × 2 × 3
    assert done.expires_at == NOW + KEEP
    assert [path.name for path in folder.iterdir()] == [done.file_name]
    listing = client.get("/audit/jobs").text
    link = f"/audit/jobs/{job.id}/download"
    assert link in listing and "24 hours" in listing
    assert link not in other.get("/audit/jobs").text  # a colleague does not see it

    assert other.get(link).status_code == 404  # not even another auditor of the site
    assert other.head(link).status_code == 404
    # A HEAD (a link checker, a prefetch) says it is there without using the one download.
    checked = client.head(link)
    assert checked.status_code == 200 and "attachment" in checked.headers["Content-Disposition"]
    assert checked.data == b""
    assert job_row(engine, job.id).status == "done" and list(folder.iterdir())
    downloaded = client.get(link)
    assert downloaded.status_code == 200
    assert downloaded.headers["Cache-Control"] == "no-store"
    assert "attachment" in downloaded.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(downloaded.data), read_only=True)
    rows = list(workbook["patients"].iter_rows(values_only=True))
    assert rows[0] == PATIENT_COLUMNS
    assert {row[0] for row in rows[1:]} == {"A0", "A1"}  # scoped to the owner's site
    assert workbook.sheetnames[-1] == "definitions"

    assert list(folder.iterdir()) == []  # deleted as it was handed over
    assert client.get(link).status_code == 410  # once
    assert client.head(link).status_code == 410
    assert "Downloaded" in client.get("/audit/jobs").text
    with Session(engine) as session:
        log = [
            (r.user_id, r.action) for r in session.exec(select(AccessLog).order_by(AccessLog.id))
        ]
    assert (owner.id, "queue_export_patients_xlsx") in log
    assert log[-1] == (owner.id, "download_export_patients_xlsx")
    assert (colleague.id, "download_export_patients_xlsx") not in log


def test_only_background_formats_are_queued_and_a_user_may_have_three_open(app, engine, gen, sites):
    site_a, _ = sites
    auditor = gen.user(site_a, role="auditor")
    client = app.test_client()
    client.post("/login", data={"email": auditor.email, "password": gen.PASSWORD})
    assert client.post("/audit/jobs", data={"level": "patients", "fmt": "csv"}).status_code == 400
    assert client.get("/audit/export/patients.xlsx").status_code == 404  # not in the request
    for _ in range(jobs.MAX_OPEN_PER_USER):
        assert client.post("/audit/jobs", data={"level": "patients", "fmt": "fhir"}).status_code
    refused = client.post("/audit/jobs", data={"level": "patients", "fmt": "fhir"})
    assert refused.status_code == 429 and "already have 3 exports" in refused.text
    nurse = gen.user(site_a)
    as_nurse = app.test_client()
    as_nurse.post("/login", data={"email": nurse.email, "password": gen.PASSWORD})
    assert (
        as_nurse.post("/audit/jobs", data={"level": "patients", "fmt": "xlsx"}).status_code == 403
    )


def test_an_expired_link_is_refused_and_its_file_deleted(engine, gen, sites, folder):
    site_a, _ = sites
    owner = gen.user(site_a, role="auditor")
    job_id = queued(engine, owner, "ndjson", site_a.id)
    work_once(engine, settings_for(folder), at(NOW), "worker-1")
    later = NOW + KEEP + timedelta(seconds=1)
    with Session(engine) as session, pytest.raises(DownloadRefused) as refused:
        take_download(session, owner, job_id, folder, later)
    assert refused.value.status == 410
    assert expire_files(engine, folder, later) == 1
    assert job_row(engine, job_id).status == "expired" and list(folder.iterdir()) == []


def test_an_interrupted_job_is_started_again_then_failed_with_the_reason(
    engine, gen, sites, folder
):
    site_a, _ = sites
    job_id = queued(engine, gen.user(site_a, role="auditor"))
    folder.mkdir(parents=True)
    moment = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        claim = claim_next(engine, "worker-that-dies", moment)
        assert claim is not None and claim.job_id == job_id
        partial = jobs.partial_path(folder, job_id, claim.claim_id)
        partial.write_bytes(b"half a workbook")  # then the worker dies
        assert recover_interrupted(engine, folder, moment + LEASE / 2) == 0  # lease still held
        moment += LEASE + timedelta(seconds=1)
        assert recover_interrupted(engine, folder, moment) == 1
        assert not partial.exists()
        job = job_row(engine, job_id)
        assert job.attempts == attempt
    assert job.status == "failed" and f"Interrupted {MAX_ATTEMPTS} times" in job.error
    assert claim_next(engine, "worker-2", moment) is None


def test_a_restarted_job_finishes_after_its_worker_died(engine, gen, sites, folder):
    site_a, _ = sites
    job_id = queued(engine, gen.user(site_a, role="auditor"))
    assert claim_next(engine, "worker-that-dies", NOW) is not None
    later = NOW + LEASE + timedelta(seconds=1)
    assert work_once(engine, settings_for(folder), at(later), "worker-2") == 1
    job = job_row(engine, job_id)
    assert (job.status, job.attempts, job.error) == ("done", 2, None)


def test_two_workers_never_run_one_job(engine, gen, sites, folder):
    site_a, _ = sites
    job_id = queued(engine, gen.user(site_a, role="auditor"))
    start = threading.Barrier(2)
    claims = []

    def worker(name):
        start.wait()
        claims.append(claim_next(engine, name, NOW))

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claim is None for claim in claims) == [False, True]
    first = next(claim for claim in claims if claim)

    # The first worker stalls past its lease; the job is taken over and run again.
    later = NOW + LEASE + timedelta(seconds=1)
    recover_interrupted(engine, folder, later)
    second = claim_next(engine, "worker-2", later)
    assert second is not None and second.job_id == job_id
    assert (
        run_claimed(engine, first, WorkerSettings(folder, KEEP, "test-secret"), at(later)) == "lost"
    )  # records nothing
    assert job_row(engine, job_id).status == "running"
    assert (
        run_claimed(engine, second, WorkerSettings(folder, KEEP, "test-secret"), at(later))
        == "done"
    )
    job = job_row(engine, job_id)
    assert [path.name for path in folder.iterdir()] == [job.file_name]


def test_a_malformed_resource_fails_the_job_with_the_reason(
    engine, gen, sites, folder, monkeypatch
):
    site_a, _ = sites
    job_id = queued(engine, gen.user(site_a, role="auditor"), "ndjson")
    made = exports.to_questionnaire_response

    def broken(*args, **kwargs):
        resource = made(*args, **kwargs)
        resource["item"][0]["answer"] = [{"valueInteger": "8"}]  # text where a number goes
        return resource

    monkeypatch.setattr(exports, "to_questionnaire_response", broken)
    work_once(engine, settings_for(folder), at(NOW), "worker-1")
    job = job_row(engine, job_id)
    assert job.status == "failed" and "FhirStructureError" in job.error
    assert "valueInteger has a value of the wrong type" in job.error
    assert list(folder.iterdir()) == []


def test_the_export_command_queues_a_background_job(runner, engine, gen, sites):
    site_a, _ = sites
    auditor = gen.user(site_a, role="auditor")
    result = runner.invoke(
        args=["export", "--format", "ndjson", "--background", "--as", auditor.email]
    )
    assert result.exit_code == 0, result.output
    assert "Queued export 1" in result.output
    job = job_row(engine, 1)
    assert (job.user_id, job.level, job.fmt, job.status) == (
        auditor.id,
        "patients",
        "ndjson",
        "queued",
    )
    assert jobs.filters_from_json(job.filters).site_id == site_a.id
    neither = runner.invoke(args=["export", "--format", "xlsx", "--as", auditor.email])
    assert neither.exit_code != 0 and "--background" in neither.output


def test_stray_files_are_deleted_but_nothing_else_in_the_folder(engine, folder):
    folder.mkdir(parents=True)
    stray, fresh = folder / "7-abcdef.partial", folder / "8-fedcba.partial"
    other = folder / "notes.txt"
    for path, written in ((stray, NOW - LEASE * 2), (other, NOW - LEASE * 2), (fresh, NOW)):
        path.write_bytes(b"left by a crash")
        os.utime(path, (written.timestamp(), written.timestamp()))
    expire_files(engine, folder, NOW)
    assert not stray.exists()
    assert fresh.exists()  # may be a worker's file still being written
    assert other.exists()  # not a name the worker writes: never deleted


def test_the_lease_is_kept_alive_while_a_job_runs_and_a_takeover_is_noticed(engine, gen, sites):
    site_a, _ = sites
    job_id = queued(engine, gen.user(site_a, role="auditor"))
    claim = claim_next(engine, "worker-1", NOW)
    short = timedelta(milliseconds=200)
    with jobs._Heartbeat(engine, claim, at(NOW), short) as heartbeat:
        for _ in range(100):  # renewed from the thread within a quarter of the lease
            if job_row(engine, job_id).claimed_until == NOW + short:
                break
            threading.Event().wait(0.05)
        assert job_row(engine, job_id).claimed_until == NOW + short
        with Session(engine) as session:  # another worker takes the job over
            session.get(ExportJob, job_id).claimed_by = "worker-2/0000"
            session.commit()
        for _ in range(100):
            if heartbeat.lost:
                break
            threading.Event().wait(0.05)
        with pytest.raises(jobs.LeaseLost):
            heartbeat(10)


def test_the_worker_runs_queued_jobs_until_stopped(engine, gen, sites, folder):
    site_a, _ = sites
    job_id = queued(engine, gen.user(site_a, role="auditor"), "fhir")
    stop = threading.Event()
    worker = threading.Thread(
        target=jobs.run_forever,
        args=(engine, settings_for(folder), at(NOW)),
        kwargs={"poll_s": 0.05, "stop": stop},
    )
    worker.start()
    try:
        for _ in range(400):
            if job_row(engine, job_id).status == "done":
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert job_row(engine, job_id).status == "done"
