"""Exact arithmetic on stored figures, so that a threshold is met exactly when it is.

A stored figure (a dose, an OMED, a pain score) is read as the decimal it was written
as: ``3.2`` is 16/5, not the binary float just below it. Comparisons are then made on
fractions, so (4.0 - 3.2) / 3.2 is exactly 1/4 and meets a 25% threshold, which the same
sum in floating point (0.2499...) does not.
"""

from fractions import Fraction

Number = int | float | str | Fraction


def exact(value: Number) -> Fraction:
    """The exact value of a stored figure: a float as the shortest decimal it prints as."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise TypeError("a yes/no answer is not a figure")
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def rose_by(baseline: Number, value: Number, fraction: Number) -> bool:
    """Whether ``value`` is up by at least ``fraction`` of ``baseline`` (any rise from 0)."""
    start, now = exact(baseline), exact(value)
    return now > start and now - start >= exact(fraction) * start


def fell_by(baseline: Number, value: Number, fraction: Number) -> bool:
    """Whether ``value`` is down by at least ``fraction`` of ``baseline`` (never from 0)."""
    start, now = exact(baseline), exact(value)
    return start > 0 and start - now >= exact(fraction) * start
