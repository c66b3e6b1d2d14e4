"""Exact arithmetic on stored figures, so that a threshold is met exactly when it is.

A stored figure (a dose, an OMED, a pain score) is read as the decimal it was written
as: ``3.2`` is 16/5, not the binary float just below it. Sums are fractions; thresholds
are compared by integer cross-multiplication of the figures' numerators and
denominators, so (4.0 - 3.2) / 3.2 is exactly 1/4 and meets a 25% threshold, which the
same sum in floating point (0.2499...) does not.
"""

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

Number = int | float | str | Fraction


def ratio(value: Number) -> tuple[int, int]:
    """A stored figure as (numerator, denominator), the denominator positive."""
    if isinstance(value, bool):
        raise TypeError("a yes/no answer is not a figure")
    if isinstance(value, int):
        return value, 1
    if isinstance(value, float):
        return _float_ratio(value)
    return Fraction(value).as_integer_ratio()


@lru_cache(maxsize=8192)
def _float_ratio(value: float) -> tuple[int, int]:
    """The decimal a float prints as, exactly (stored figures repeat, so this is cached)."""
    return Decimal(repr(value)).as_integer_ratio()


def exact(value: Number) -> Fraction:
    """The exact value of a stored figure: a float as the shortest decimal it prints as."""
    if isinstance(value, Fraction):
        return value
    return Fraction(*ratio(value))


def compare_change(start: Number, end: Number, threshold: Number) -> int:
    """The sign of (end - start) - threshold, exactly: 1 above, 0 at, -1 below."""
    (ns, ds), (ne, de), (nt, dt) = ratio(start), ratio(end), ratio(threshold)
    # (ne/de - ns/ds) - nt/dt, over the positive denominator de * ds * dt
    difference = (ne * ds - ns * de) * dt - nt * de * ds
    return (difference > 0) - (difference < 0)


def rose_by(baseline: Number, value: Number, fraction: Number) -> bool:
    """Whether ``value`` is up by at least ``fraction`` of ``baseline`` (any rise from 0)."""
    (nb, db), (nv, dv), (nf, df) = ratio(baseline), ratio(value), ratio(fraction)
    rise = nv * db - nb * dv  # (value - baseline) x db x dv
    return rise > 0 and rise * df >= nf * nb * dv


def fell_by(baseline: Number, value: Number, fraction: Number) -> bool:
    """Whether ``value`` is down by at least ``fraction`` of ``baseline`` (never from 0)."""
    (nb, db), (nv, dv), (nf, df) = ratio(baseline), ratio(value), ratio(fraction)
    fall = nb * dv - nv * db  # (baseline - value) x db x dv
    return nb > 0 and fall * df >= nf * nb * dv
