"""The scheduling clock: APScheduler calls the pass at once and then on its interval."""

import logging
import threading

from pro_app.scheduling.clock import JOB_OPTIONS, start_background


def test_the_clock_runs_a_pass_at_once_and_survives_a_failing_one():
    calls = []
    second = threading.Event()

    def tick():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")  # logged; the clock keeps going
        second.set()

    scheduler = start_background(tick, seconds=1)
    try:
        assert second.wait(timeout=10)
    finally:
        scheduler.shutdown(wait=False)
    assert len(calls) >= 2


def test_passes_never_overlap_and_missed_ones_coalesce():
    assert JOB_OPTIONS["max_instances"] == 1
    assert JOB_OPTIONS["coalesce"] is True


def test_other_passes_run_beside_the_tick_on_their_own_interval():
    ticked, exported = threading.Event(), threading.Event()
    scheduler = start_background(ticked.set, seconds=60, others={"exports": (exported.set, 60)})
    try:
        assert ticked.wait(timeout=10) and exported.wait(timeout=10)
        assert {job.id for job in scheduler.get_jobs()} == {"tick", "exports"}
    finally:
        scheduler.shutdown(wait=False)


def test_the_scheduler_loads_protocols_and_instruments_before_its_first_pass(app):
    """Reading the YAML is paid once at start, not by the first pass with work to do."""
    from pro_app.scheduling.protocols import timepoints_for
    from pro_app.scheduling.tick import tick_for_app
    from surveys.loader import _registry

    timepoints_for.cache_clear()
    _registry.cache_clear()
    tick_for_app(app)
    assert timepoints_for.cache_info().currsize >= 1
    assert _registry.cache_info().currsize == 1


def test_an_outage_logs_its_traceback_once_then_a_line_a_pass(caplog):
    """The database away for an hour is one traceback, not sixty."""
    from pro_app.scheduling.clock import _safe

    outcomes = iter(["down", "down", "down", "other", "ok", "down"])

    def tick():
        match next(outcomes):
            case "down":
                raise ConnectionError("database away")
            case "other":
                raise ValueError("a different fault")
        return "3 sent"

    job = _safe(tick, "tick")
    caplog.set_level(logging.INFO, logger="pro_app.scheduling.clock")
    for _ in range(6):
        job()
    lines = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines == [
        ("ERROR", "tick failed", True),
        ("ERROR", "tick failed again (2 passes in a row): database away", False),
        ("ERROR", "tick failed again (3 passes in a row): database away", False),
        ("ERROR", "tick failed", True),  # a new fault shows its traceback
        ("WARNING", "tick: working again after 4 failed passes", False),
        ("INFO", "tick: 3 sent", False),
        ("ERROR", "tick failed", True),  # a new outage starts afresh
    ]
