"""Descriptive statistics for the audit page: medians, quartiles, means and their 95% intervals.

Every function accepts ints or floats and ignores ``None`` entries (missing answers), which are
filtered out before anything is computed; ``n`` always counts the remaining values.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
_T_975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
_Z_975 = 1.959964
# Largest n for which the median interval is found with exact binomial sums.
_EXACT_MEDIAN_CI_MAX_N = 1000

Values = Sequence[float | None]


def _clean(values: Values) -> list[float]:
    """The values without ``None`` entries, sorted ascending."""
    if None in values:
        values = [v for v in values if v is not None]
    return sorted(values)


def _median_of_sorted(ordered: list[float]) -> float:
    n = len(ordered)
    mid = n // 2
    if n % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2


def _quantile_of_sorted(ordered: list[float], p: float) -> float:
    """Linear interpolation between order statistics (R type 7, numpy's default)."""
    position = (len(ordered) - 1) * p
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = position - lower
    return ordered[lower] + fraction * (ordered[upper] - ordered[lower])


def median(values: Values) -> float | None:
    """The median, or None when there are no values. ``None`` entries are ignored."""
    ordered = _clean(values)
    if not ordered:
        return None
    return _median_of_sorted(ordered)


def quartiles(values: Values) -> tuple[float, float] | None:
    """Q1 and Q3 by linear interpolation (R type 7), or None when empty. Ignores ``None``."""
    ordered = _clean(values)
    if not ordered:
        return None
    return _quantile_of_sorted(ordered, 0.25), _quantile_of_sorted(ordered, 0.75)


def _mean_sd_of(cleaned: list[float]) -> tuple[float, float | None] | None:
    n = len(cleaned)
    if n == 0:
        return None
    mean = math.fsum(cleaned) / n
    if n == 1:
        return mean, None
    variance = math.fsum((v - mean) ** 2 for v in cleaned) / (n - 1)
    return mean, math.sqrt(variance)


def mean_sd(values: Values) -> tuple[float, float | None] | None:
    """Mean and sample SD (n - 1 denominator); SD is None for one value, None when empty.

    ``None`` entries are ignored.
    """
    return _mean_sd_of(_clean(values))


def t_quantile_975(df: int) -> float:
    """Two-sided 95% critical value of Student's t with ``df`` degrees of freedom.

    Tabulated for 1..30; above that the Cornish-Fisher expansion around the normal quantile.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = _Z_975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def mean_ci95(values: Values) -> tuple[float, float, float] | None:
    """Mean with its 95% t interval as (mean, low, high); None for fewer than two values.

    ``None`` entries are ignored.
    """
    cleaned = _clean(values)
    moments = _mean_sd_of(cleaned)
    if moments is None:
        return None
    mean, sd = moments
    if sd is None:
        return None
    n = len(cleaned)
    half_width = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half_width, mean + half_width


def _median_ci_rank(n: int) -> int | None:
    """The largest j whose order statistics x(j), x(n-j+1) cover the median with >= 95%.

    Exact binomial(n, 1/2) sums up to 1000 values, the normal approximation above.
    None when even the extreme pair (j = 1) falls short.
    """
    if n > _EXACT_MEDIAN_CI_MAX_N:
        return max(1, math.floor(n / 2 - 0.98 * math.sqrt(n)))
    total = 2**n
    # Coverage of (x(j), x(n-j+1)) is (total - 2 * tail) / total with tail = sum C(n, k), k < j;
    # coverage >= 0.95  <=>  20 * (total - 2 * tail) >= 19 * total  <=>  total >= 40 * tail.
    best = None
    tail = 0
    for j in range(1, n // 2 + 1):
        tail += math.comb(n, j - 1)
        if total < 40 * tail:
            break
        best = j
    return best


def median_ci95(values: Values) -> tuple[float, float | None, float | None] | None:
    """Median with a distribution-free 95% interval from order statistics.

    Returns (median, low, high), with low and high None when fewer than six values leave no
    pair of order statistics reaching 95% coverage; None when empty. ``None`` entries are
    ignored.
    """
    ordered = _clean(values)
    n = len(ordered)
    if n == 0:
        return None
    centre = _median_of_sorted(ordered)
    j = _median_ci_rank(n)
    if j is None:
        return centre, None, None
    return centre, float(ordered[j - 1]), float(ordered[n - j])


def share(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when the denominator is 0."""
    if denominator == 0:
        return None
    return numerator / denominator


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one outcome at one timepoint."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    mean: float | None
    sd: float | None


def summarise(values: Values) -> Summary:
    """Count, median, quartiles, mean and SD; fields None where not computable."""
    cleaned = _clean(values)
    moments = _mean_sd_of(cleaned)
    return Summary(
        n=len(cleaned),
        median=_median_of_sorted(cleaned) if cleaned else None,
        q1=_quantile_of_sorted(cleaned, 0.25) if cleaned else None,
        q3=_quantile_of_sorted(cleaned, 0.75) if cleaned else None,
        mean=moments[0] if moments else None,
        sd=moments[1] if moments else None,
    )


@dataclass(frozen=True)
class ChangeSummary:
    """Change from baseline: median and mean, each with its 95% interval."""

    n: int
    median: float | None
    median_low: float | None
    median_high: float | None
    mean: float | None
    mean_low: float | None
    mean_high: float | None


def summarise_change(values: Values) -> ChangeSummary:
    """Median and mean change with 95% intervals; fields None where not computable."""
    cleaned = _clean(values)
    median_part = median_ci95(cleaned)
    mean_part = mean_ci95(cleaned)
    moments = _mean_sd_of(cleaned)
    return ChangeSummary(
        n=len(cleaned),
        median=median_part[0] if median_part else None,
        median_low=median_part[1] if median_part else None,
        median_high=median_part[2] if median_part else None,
        mean=moments[0] if moments else None,
        mean_low=mean_part[1] if mean_part else None,
        mean_high=mean_part[2] if mean_part else None,
    )
