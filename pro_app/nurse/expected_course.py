"""The expected course: the cohort's median and interquartile range at each timepoint.

Drawn behind a patient's line so a nurse sees whether they recover as others do. The
site's own cohort is used when it is large enough, otherwise every site's. Scores are
the key outcomes kept on each survey instance (one query a measure), and the result is
kept for a few minutes per site: the expected course does not need to be live.
"""

import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..audit.statistics import median, quartiles
from ..models import InstanceStatus, Patient, SurveyInstance
from .trajectory import CohortBand

MEASURES = {  # measure: the key outcome on SurveyInstance (see key_outcomes.py)
    "worst_pain": "pain_worst",
    "omed": "omed_mg_per_day",
    "qol": "quality_of_life",
}
MIN_PER_TIMEPOINT = 5  # fewer answers than this at a timepoint: no band drawn there
MIN_SITE_BASELINES = 20  # a site with fewer baseline answers is compared with all sites
CACHE_SECONDS = 600


@dataclass(frozen=True)
class ExpectedCourse:
    label: str  # "This site's patients" or "All sites' patients"
    bands: dict[str, list[CohortBand]]


# Per database (engine), then per site: two apps in one process never share a course.
_cache: "weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, ExpectedCourse]]]" = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def expected_course(
    session: Session, site_id: int, *, clock: Callable[[], float] = time.monotonic
) -> ExpectedCourse:
    """The site's expected course (or the registry's if the site is small), cached."""
    now = clock()
    engine = session.get_bind()
    with _lock:
        cached = _cache.get(engine, {}).get(site_id)
    if cached and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    site_values = _values(session, site_id)
    baselines = len(site_values["worst_pain"].get("baseline", ([], []))[1])
    if baselines >= MIN_SITE_BASELINES:
        course = ExpectedCourse("This site's patients", _bands(site_values))
    else:
        course = ExpectedCourse("All sites' patients", _bands(_values(session, None)))
    with _lock:
        _cache.setdefault(engine, {})[site_id] = (now, course)
    return course


def forget_cached() -> None:
    """Drop cached courses (tests, and after bulk imports)."""
    with _lock:
        _cache.clear()


Values = dict[str, dict[str, tuple[list[int], list[float]]]]


def _values(session: Session, site_id: int | None) -> Values:
    """Key outcomes of completed surveys by measure and timepoint, with their days."""
    by_measure: Values = {m: defaultdict(lambda: ([], [])) for m in MEASURES}
    for measure, column in MEASURES.items():
        value = getattr(SurveyInstance, column)
        statement = select(SurveyInstance.timepoint, SurveyInstance.day_offset, value).where(
            SurveyInstance.status == InstanceStatus.COMPLETED, value.is_not(None)
        )
        if site_id is not None:
            statement = statement.join(Patient, Patient.id == SurveyInstance.patient_id).where(
                Patient.site_id == site_id
            )
        for timepoint, day, number in session.exec(statement):
            days, numbers = by_measure[measure][timepoint]
            days.append(day)
            numbers.append(number)
    return by_measure


def _bands(values: Values) -> dict[str, list[CohortBand]]:
    """A band per timepoint with enough answers, placed at the timepoint's median day."""
    bands: dict[str, list[CohortBand]] = {}
    for measure, by_timepoint in values.items():
        rows = []
        for timepoint, (days, numbers) in by_timepoint.items():
            if len(numbers) < MIN_PER_TIMEPOINT:
                continue
            q1, q3 = quartiles(numbers)
            day = round(median(days))
            rows.append(CohortBand(timepoint, day, q1, median(numbers), q3, len(numbers)))
        bands[measure] = sorted(rows, key=lambda band: band.day)
    return bands
