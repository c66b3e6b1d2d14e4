"""APScheduler as a clock only: one interval job that calls ``run_tick``, and optional
other passes (the export worker's) on their own intervals.

APScheduler's job stores cannot be shared between processes, so jobs live in memory
and the work itself is claimed from the database by ``run_tick`` (and the export jobs
by their own claim).
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)

JOB_OPTIONS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


#: Other passes by name: (the pass, seconds between runs).
Passes = Mapping[str, tuple[Callable[[], object], int]]


def _safe(tick: Callable[[], object], name: str = "tick") -> Callable[[], None]:
    def job() -> None:
        try:
            report = tick()
            log.info("%s: %s", name, report)
        except Exception:  # a failed pass must not stop the clock; the next one retries
            log.exception("%s failed", name)

    return job


def _add_tick(scheduler, tick: Callable[[], object], seconds: int, others: Passes | None) -> None:
    """One job per pass, first run now, then every ``seconds``; overlapping runs of a
    pass are skipped."""
    for name, (work, every) in {"tick": (tick, seconds), **(others or {})}.items():
        scheduler.add_job(
            _safe(work, name), "interval", seconds=every, id=name, next_run_time=datetime.now(UTC)
        )


def run_blocking(
    tick: Callable[[], object], seconds: int = 60, others: Passes | None = None
) -> None:
    """Run the clock in the foreground (``pro-app scheduler``) until interrupted."""
    scheduler = BlockingScheduler(job_defaults=JOB_OPTIONS)
    _add_tick(scheduler, tick, seconds, others)
    scheduler.start()


def start_background(
    tick: Callable[[], object],
    seconds: int = 60,
    others: Passes | None = None,
) -> BackgroundScheduler:
    """Run the clock in a thread (the demo server embeds it)."""
    scheduler = BackgroundScheduler(job_defaults=JOB_OPTIONS)
    _add_tick(scheduler, tick, seconds, others)
    scheduler.start()
    return scheduler
