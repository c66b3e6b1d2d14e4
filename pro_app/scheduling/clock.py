"""APScheduler as a clock only: one interval job that calls ``run_tick``.

APScheduler's job stores cannot be shared between processes, so jobs live in memory
and the work itself is claimed from the database by ``run_tick``.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)

JOB_OPTIONS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


def _safe(tick: Callable[[], object]) -> Callable[[], None]:
    def job() -> None:
        try:
            report = tick()
            log.info("tick: %s", report)
        except Exception:  # a failed pass must not stop the clock; the next one retries
            log.exception("tick failed")

    return job


def _add_tick(scheduler, tick: Callable[[], object], seconds: int) -> None:
    """One job, first run now, then every ``seconds``; overlapping runs are skipped."""
    scheduler.add_job(
        _safe(tick), "interval", seconds=seconds, id="tick", next_run_time=datetime.now(UTC)
    )


def run_blocking(tick: Callable[[], object], seconds: int = 60) -> None:
    """Run the clock in the foreground (``pro-app scheduler``) until interrupted."""
    scheduler = BlockingScheduler(job_defaults=JOB_OPTIONS)
    _add_tick(scheduler, tick, seconds)
    scheduler.start()


def start_background(tick: Callable[[], object], seconds: int = 60) -> BackgroundScheduler:
    """Run the clock in a thread (the demo server embeds it)."""
    scheduler = BackgroundScheduler(job_defaults=JOB_OPTIONS)
    _add_tick(scheduler, tick, seconds)
    scheduler.start()
    return scheduler
