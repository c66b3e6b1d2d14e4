"""Long audit exports as background jobs, downloaded once by the user who asked.

A job moves ``queued -> running -> done -> downloaded`` (or ``expired``, ``failed``):

1. **Queue.** An auditor asks on the audit page (or ``pro-app export --background``);
   the job keeps the filters as they were scoped for that user, and the request is
   written to the access log.
2. **Claim.** A worker (``pro-app worker``, or the scheduler) takes the oldest queued job
   under a lease, as the outbox claims texts: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
   the single writer lock on SQLite, then a compare-and-set on the status. Two workers
   never run one job.
3. **Run.** The export is written to a ``.partial`` file under the export folder, read
   in one snapshot. Every thousand answers the worker records the progress and renews
   its lease with a compare-and-set on its claim; a worker that finds its claim taken
   over stops and deletes its file.
4. **Finish.** The file gets a random name and the job ``done`` with an expiry
   (``PRO_EXPORT_KEEP_HOURS``, 24 h by default). A failure is recorded with its reason.
5. **Recover.** A running job whose lease lapsed (its worker died) is queued again, up to
   ``MAX_ATTEMPTS`` runs, then marked failed with the reason; its partial file is deleted.
6. **Download once.** Only the requester may download the file (anyone else gets 404);
   the download is written to the access log and the file is deleted as it is handed
   over. Files not downloaded are deleted at expiry. Files are never kept past that.
"""

import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..models import (
    AccessLog,
    ExportJob,
    ExportJobStatus,
    Patient,
    Procedure,
    Response,
    SurveyInstance,
    User,
)
from ..storage.engine import read_session, session_scope
from .exports import FORMATS, export_chunks
from .progress import Progress
from .timelines import AuditFilters, apply_filters

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
HEARTBEAT_S = 2.0  # at most one progress write a job this often
MAX_ATTEMPTS = 3
MAX_OPEN_PER_USER = 3  # queued or running jobs one user may have at once
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "fhir": "json", "ndjson": "zip"}
OPEN = (ExportJobStatus.QUEUED, ExportJobStatus.RUNNING)
# The only names the worker writes, and so the only files it ever deletes.
OWN_FILE = re.compile(r"\d+-[A-Za-z0-9_-]+\.(?:partial|csv|xlsx|json|zip)")

Clock = Callable[[], datetime]


class JobRefused(ValueError):
    """A job that cannot be queued, with the reason in words."""


class DownloadRefused(LookupError):
    """The file cannot be handed over; ``status`` is the HTTP answer (404 or 410)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


class LeaseLost(RuntimeError):
    """The job's claim was taken over: this worker must stop and record nothing."""


def filters_to_json(filters: AuditFilters) -> str:
    return json.dumps(
        {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in filters.__dict__.items()
        }
    )


def filters_from_json(text: str) -> AuditFilters:
    raw = json.loads(text)
    for key in ("date_from", "date_to"):
        if raw.get(key):
            raw[key] = date.fromisoformat(raw[key])
    return AuditFilters(**raw)


def access_action(verb: str, job: ExportJob) -> str:
    """The access log's action for a job, e.g. ``queue_export_patients_xlsx``."""
    return f"{verb}_export_{job.level}_{job.fmt}"


# --- queue ----------------------------------------------------------------------------------


def queue_export(
    session: Session, user: User, level: str, fmt: str, filters: AuditFilters, now: datetime
) -> ExportJob:
    """Queue an export for ``user`` with filters already scoped to what they may see;
    written to the access log in the caller's transaction."""
    if fmt not in FORMATS.get(level, ()):
        raise JobRefused(f"There is no {fmt} export of {level}.")
    waiting = session.exec(
        select(func.count())
        .select_from(ExportJob)
        .where(ExportJob.user_id == user.id, ExportJob.status.in_(OPEN))
    ).one()
    if waiting >= MAX_OPEN_PER_USER:
        raise JobRefused(
            f"You already have {waiting} exports waiting or running: "
            "wait for one to finish before asking for another."
        )
    job = ExportJob(
        user_id=user.id,
        level=level,
        fmt=fmt,
        filters=filters_to_json(filters),
        filters_text=filters.describe()[:500],
        status=ExportJobStatus.QUEUED,
        created_at=now,
    )
    session.add(job)
    session.flush()
    session.add(
        AccessLog(
            user_id=user.id,
            action=access_action("queue", job),
            detail=f"job {job.id}: {job.filters_text}"[:500],
            at=now,
        )
    )
    return job


def jobs_for(session: Session, user: User, limit: int = 10) -> list[ExportJob]:
    """The user's own latest jobs, newest first (never anyone else's)."""
    return list(
        session.exec(
            select(ExportJob)
            .where(ExportJob.user_id == user.id)
            .order_by(ExportJob.id.desc())
            .limit(limit)
        )
    )


# --- claim, run, finish ---------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    job_id: int
    claim_id: str


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}"


def claim_next(engine: Engine, worker: str, now: datetime, lease: timedelta = LEASE):
    """Lease the oldest queued job under a new claim id; None if there is none."""
    claim_id = f"{worker[:47]}/{secrets.token_hex(8)}"
    with session_scope(engine) as session:
        job_id = session.exec(
            select(ExportJob.id)
            .where(ExportJob.status == ExportJobStatus.QUEUED)
            .order_by(ExportJob.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if job_id is None:
            return None
        # Compare-and-set: on SQLite, where FOR UPDATE is ignored, this is the claim.
        claimed = session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.status == ExportJobStatus.QUEUED)
            .values(
                status=ExportJobStatus.RUNNING,
                claimed_by=claim_id,
                claimed_until=now + lease,
                attempts=ExportJob.attempts + 1,
                started_at=now,
                rows_written=0,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None
    return Claim(job_id, claim_id)


def _held(claim: Claim):
    return (
        ExportJob.id == claim.job_id,
        ExportJob.status == ExportJobStatus.RUNNING,
        ExportJob.claimed_by == claim.claim_id,
    )


def _set_if_held(engine: Engine, claim: Claim, **values) -> bool:
    """Update the job if this claim still holds it (compare-and-set); True if it did."""
    with session_scope(engine) as session:
        result = session.execute(
            update(ExportJob)
            .where(*_held(claim))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def answers_to_export(session: Session, filters: AuditFilters) -> int:
    """How many current answers the export will read (the progress bar's total)."""
    statement = (
        select(func.count(Response.id))
        .join(SurveyInstance, SurveyInstance.id == Response.instance_id)
        .join(Procedure, Procedure.id == SurveyInstance.procedure_id)
        .join(Patient, Patient.id == Procedure.patient_id)
        .where(Response.is_current)
    )
    return session.exec(apply_filters(statement, filters)).one()


class _Heartbeat:
    """Records progress and renews the lease, at most every ``HEARTBEAT_S`` seconds; and,
    from a thread, renews the lease every quarter of it while the job runs, so a long
    step without progress (a workbook being zipped) does not lose the claim."""

    def __init__(self, engine: Engine, claim: Claim, clock: Clock, lease: timedelta):
        self.engine, self.claim, self.clock, self.lease = engine, claim, clock, lease
        self.last = time.monotonic()
        self.lost = False
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._keep_alive, name=f"export-job-{claim.job_id}-lease", daemon=True
        )

    def __enter__(self) -> "_Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()

    def _keep_alive(self) -> None:
        while not self.stop.wait(self.lease.total_seconds() / 4):
            try:
                renewed = _set_if_held(
                    self.engine, self.claim, claimed_until=self.clock() + self.lease
                )
            except Exception:  # the next renewal, or the progress write, tries again
                log.exception("export job %s: could not renew the lease", self.claim.job_id)
                continue
            if not renewed:
                self.lost = True
                return

    def __call__(self, count: int, force: bool = False) -> None:
        if self.lost:
            raise LeaseLost(f"job {self.claim.job_id} was taken over")
        if not force and time.monotonic() - self.last < HEARTBEAT_S:
            return
        self.last = time.monotonic()
        if not _set_if_held(
            self.engine,
            self.claim,
            rows_written=count,
            claimed_until=self.clock() + self.lease,
        ):
            raise LeaseLost(f"job {self.claim.job_id} was taken over")


def partial_path(folder: Path, job_id: int, claim_id: str) -> Path:
    return folder / f"{job_id}-{claim_id.rsplit('/', 1)[-1]}.partial"


def run_claimed(engine: Engine, claim: Claim, settings: "WorkerSettings", clock: Clock) -> str:
    """Run a claimed job to its file; returns the job's status afterwards (or ``lost``)."""
    folder, keep_for, lease = settings.folder, settings.keep_for, settings.lease
    with Session(engine) as session:
        job = session.get(ExportJob, claim.job_id)
        level, fmt, filters = job.level, job.fmt, filters_from_json(job.filters)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = partial_path(folder, claim.job_id, claim.claim_id)
    try:
        with _Heartbeat(engine, claim, clock, lease) as heartbeat, read_session(engine) as reading:
            total = answers_to_export(reading, filters) if level == "patients" else None
            if not _set_if_held(engine, claim, rows_total=total):
                raise LeaseLost(f"job {claim.job_id} was taken over")
            progress = Progress(heartbeat)
            chunks = export_chunks(
                reading, level, fmt, filters, clock(), progress, secret_key=settings.secret_key
            )
            size = _write(chunks, partial)
            heartbeat(progress.count, force=True)
        final = folder / f"{claim.job_id}-{secrets.token_urlsafe(16)}.{EXTENSIONS[fmt]}"
        partial.replace(final)
        now = clock()
        done = _set_if_held(
            engine,
            claim,
            status=ExportJobStatus.DONE,
            file_name=final.name,
            size_bytes=size,
            rows_written=progress.count,
            finished_at=now,
            expires_at=now + keep_for,
            claimed_by=None,
            claimed_until=None,
            error=None,
        )
        if not done:
            final.unlink(missing_ok=True)
            raise LeaseLost(f"job {claim.job_id} was taken over before it was recorded")
        return ExportJobStatus.DONE
    except LeaseLost:
        log.warning("export job %s: claim taken over; its file is deleted", claim.job_id)
        partial.unlink(missing_ok=True)
        return "lost"
    except Exception as exc:  # recorded on the job for the auditor, and logged in full
        log.exception("export job %s failed", claim.job_id)
        partial.unlink(missing_ok=True)
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        _set_if_held(
            engine,
            claim,
            status=ExportJobStatus.FAILED,
            error=f"The export stopped: {reason}"[:500],
            finished_at=clock(),
            claimed_by=None,
            claimed_until=None,
        )
        return ExportJobStatus.FAILED


def _write(chunks, path: Path) -> int:
    written = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        for chunk in chunks:
            data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
            handle.write(data)
            written += len(data)
    return written


# --- recover and expire ---------------------------------------------------------------------


def recover_interrupted(engine: Engine, folder: Path, now: datetime) -> int:
    """Jobs whose worker stopped (lease lapsed): queued again, or failed after
    ``MAX_ATTEMPTS`` runs, with the reason; their partial files are deleted."""
    with session_scope(engine) as session:
        lapsed = session.exec(
            select(ExportJob)
            .where(ExportJob.status == ExportJobStatus.RUNNING, ExportJob.claimed_until < now)
            .with_for_update(skip_locked=True)
        ).all()
        for job in lapsed:
            if job.claimed_by:
                partial_path(folder, job.id, job.claimed_by).unlink(missing_ok=True)
            if job.attempts >= MAX_ATTEMPTS:
                job.status = ExportJobStatus.FAILED
                job.finished_at = now
                job.error = (
                    f"Interrupted {job.attempts} times before it finished (the worker stopped "
                    "or ran out of time): ask again with narrower filters, or tell the "
                    "operations team."
                )
            else:
                job.status = ExportJobStatus.QUEUED
                job.error = "Interrupted (the worker stopped); started again."
            job.claimed_by, job.claimed_until = None, None
        return len(lapsed)


def expire_files(engine: Engine, folder: Path, now: datetime) -> int:
    """Delete the files of finished jobs past their expiry, and any file in the export
    folder that no job is waiting to hand over (left by a crash)."""
    with session_scope(engine) as session:
        expired = session.exec(
            select(ExportJob)
            .where(ExportJob.status == ExportJobStatus.DONE, ExportJob.expires_at <= now)
            .with_for_update(skip_locked=True)
        ).all()
        for job in expired:
            if job.file_name:
                (folder / job.file_name).unlink(missing_ok=True)
            job.status, job.file_name = ExportJobStatus.EXPIRED, None
        keep = set(
            session.exec(
                select(ExportJob.file_name).where(
                    ExportJob.status == ExportJobStatus.DONE, ExportJob.file_name.is_not(None)
                )
            )
        )
        running = session.exec(
            select(ExportJob.id, ExportJob.claimed_by).where(
                ExportJob.status == ExportJobStatus.RUNNING
            )
        ).all()
    keep |= {partial_path(folder, job_id, claim or "").name for job_id, claim in running}
    if folder.is_dir():
        for path in folder.iterdir():
            if (
                OWN_FILE.fullmatch(path.name)
                and path.name not in keep
                and path.is_file()
                and _older_than(path, LEASE, now)
            ):
                path.unlink(missing_ok=True)
    return len(expired)


def _older_than(path: Path, age: timedelta, now: datetime) -> bool:
    """Whether the file was last written more than ``age`` before ``now`` (so a worker
    that is still writing it, whose job this pass did not see, keeps it)."""
    return now.timestamp() - path.stat().st_mtime > age.total_seconds()


# --- download -------------------------------------------------------------------------------


@dataclass
class Download:
    job: ExportJob
    handle: BinaryIO


def ready_download(
    session: Session, user: User, job_id: int, folder: Path, now: datetime
) -> tuple[ExportJob, Path]:
    """The job and its file if ``user`` may take it now, without taking it (for a HEAD:
    a link checker or a prefetch must not use up the one download); refused as
    ``take_download`` refuses."""
    job = session.get(ExportJob, job_id)
    if job is None or job.user_id != user.id:
        raise DownloadRefused(404, "No such export.")
    if job.status == ExportJobStatus.DOWNLOADED:
        raise DownloadRefused(410, "This export was already downloaded: ask for it again.")
    if job.status != ExportJobStatus.DONE or job.expires_at <= now or not job.file_name:
        raise DownloadRefused(410, "This export is no longer available: ask for it again.")
    path = folder / job.file_name
    if not path.is_file():
        raise DownloadRefused(410, "This export is no longer available: ask for it again.")
    return job, path


def take_download(session: Session, user: User, job_id: int, folder: Path, now: datetime):
    """The finished file, opened for ``user`` who asked for it: the job is marked
    downloaded and the file deleted (it stays readable through the open handle), all
    recorded in the access log. Anyone else gets 404; an expired or used link 410."""
    job, path = ready_download(session, user, job_id, folder, now)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DownloadRefused(
            410, "This export is no longer available: ask for it again."
        ) from None
    taken = session.execute(
        update(ExportJob)
        .where(ExportJob.id == job.id, ExportJob.status == ExportJobStatus.DONE)
        .values(status=ExportJobStatus.DOWNLOADED, downloaded_at=now, file_name=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # another request took it first
        handle.close()
        raise DownloadRefused(410, "This export was already downloaded: ask for it again.")
    session.add(
        AccessLog(
            user_id=user.id,
            action=access_action("download", job),
            detail=f"job {job.id}: {job.filters_text}"[:500],
            at=now,
        )
    )
    session.commit()
    path.unlink(missing_ok=True)
    session.refresh(job)
    return Download(job, handle)


# --- the worker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSettings:
    folder: Path
    keep_for: timedelta
    secret_key: str  # the app's: it keys the FHIR exports' response ids
    lease: timedelta = LEASE


def work_once(engine: Engine, settings: WorkerSettings, clock: Clock, worker: str) -> int:
    """One pass: recover interrupted jobs, delete expired files, then run queued jobs
    until none is left; returns how many were run."""
    recover_interrupted(engine, settings.folder, clock())
    expire_files(engine, settings.folder, clock())
    ran = 0
    while (claim := claim_next(engine, worker, clock(), settings.lease)) is not None:
        run_claimed(engine, claim, settings, clock)
        ran += 1
    return ran


def run_forever(
    engine: Engine,
    settings: WorkerSettings,
    clock: Clock,
    poll_s: float = 2.0,
    stop: threading.Event | None = None,
) -> None:
    """``pro-app worker``: a pass, then a wait of ``poll_s`` while nothing is queued."""
    worker, stop = worker_name(), stop or threading.Event()
    while not stop.is_set():
        try:
            ran = work_once(engine, settings, clock, worker)
        except Exception:  # a failed pass must not stop the worker; the next one retries
            log.exception("export worker pass failed")
            ran = 0
        if not ran:
            stop.wait(poll_s)
