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
    """``tick`` as a job that never stops the clock: a failed pass is logged, the next retries.

    While passes keep failing the same way (the database away for an hour, say), the
    traceback is logged once and each further failure is one line with its count; the
    first pass that works again says how many failed. A different failure gets its
    traceback.
    """
    failing: dict[str, object] = {"count": 0, "error": None}

    def job() -> None:
        try:
            report = tick()
        except Exception as error:  # a failed pass must not stop the clock
            same = failing["error"] == _described(error)
            failing["count"] = int(failing["count"]) + 1
            failing["error"] = _described(error)
            if same:
                log.error("%s failed again (%d passes in a row): %s", name, failing["count"], error)
            else:
                log.exception("%s failed", name)
            return
        if failing["count"]:
            log.warning("%s: working again after %d failed passes", name, failing["count"])
            failing.update(count=0, error=None)
        log.info("%s: %s", name, report)

    return job


def _described(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


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
