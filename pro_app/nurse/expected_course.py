"""The expected course: the cohort's median and interquartile range at each timepoint.

Drawn behind a patient's line so a nurse sees whether they recover as others do. The
site's own cohort is used when it is large enough, otherwise every site's. The values are
read from the counts that saving answers keeps (``pro_app.followup.cohort_counts``): a few
rows per timepoint, whatever the size of the site, and exact, since the median and
quartiles of a set of values follow from how often each value occurs.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session

from ..followup.cohort_counts import MEASURES, value_counts
from .trajectory import CohortBand

MIN_PER_TIMEPOINT = 5  # fewer answers than this at a timepoint: no band drawn there
MIN_SITE_BASELINES = 20  # a site with fewer baseline answers is compared with all sites


@dataclass(frozen=True)
class ExpectedCourse:
    label: str  # "This site's patients" or "All sites' patients"
    bands: dict[str, list[CohortBand]]


@dataclass
class _Tally:
    """How often each value, and each day, occurs at one measure's timepoint."""

    values: Counter = field(default_factory=Counter)
    days: Counter = field(default_factory=Counter)


Tallies = dict[str, dict[str, _Tally]]


def expected_course(session: Session, site_id: int) -> ExpectedCourse:
    """The site's expected course, or the registry's if the site has few baselines."""
    own = _tallies(value_counts(session, site_id))
    baseline = own["worst_pain"].get("baseline")
    if baseline is not None and baseline.values.total() >= MIN_SITE_BASELINES:
        return ExpectedCourse("This site's patients", _bands(own))
    return ExpectedCourse("All sites' patients", _bands(_tallies(value_counts(session, None))))


def _tallies(rows) -> Tallies:
    tallies: Tallies = {measure: defaultdict(_Tally) for measure in MEASURES}
    for measure, timepoint, day, value, count in rows:
        tally = tallies[measure][timepoint]
        tally.values[value] += count
        tally.days[day] += count
    return tallies


def _bands(tallies: Tallies) -> dict[str, list[CohortBand]]:
    """A band per timepoint with enough answers, placed at the timepoint's median day."""
    bands: dict[str, list[CohortBand]] = {}
    for measure, by_timepoint in tallies.items():
        rows = []
        for timepoint, tally in by_timepoint.items():
            n = tally.values.total()
            if n < MIN_PER_TIMEPOINT:
                continue
            values = _Ordered(tally.values)
            day = round(_Ordered(tally.days).median())
            middle = values.median()
            rows.append(
                CohortBand(timepoint, day, values.quantile(0.25), middle, values.quantile(0.75), n)
            )
        bands[measure] = sorted(rows, key=lambda band: band.day)
    return bands


class _Ordered:
    """The sorted list that counted values stand for, read by position without building it.

    Median and quantiles match ``pro_app.audit.statistics`` (R type 7) value for value.
    """

    def __init__(self, counts: Counter):
        self.items = sorted((value, n) for value, n in counts.items() if n > 0)
        self.size = sum(n for _, n in self.items)

    def __getitem__(self, position: int) -> float:
        for value, n in self.items:
            if position < n:
                return value
            position -= n
        raise IndexError(position)

    def median(self) -> float:
        mid = self.size // 2
        if self.size % 2:
            return float(self[mid])
        return (self[mid - 1] + self[mid]) / 2

    def quantile(self, p: float) -> float:
        position = (self.size - 1) * p
        lower = int(position)
        upper = min(lower + 1, self.size - 1)
        return self[lower] + (position - lower) * (self[upper] - self[lower])
