"""Counts of each key outcome value per site and timepoint, kept as answers are saved.

The nurse's expected course (``pro_app.nurse.expected_course``) is the cohort's median and
quartiles at each timepoint. Scanning every completed survey of the site on a page view
grows with the site, so the values of completed timepoints are counted in
``expected_course_count`` instead: ``complete`` adds a timepoint's values, and a correction
to a completed timepoint (nurse entry) moves its count from the old value to the new one,
in the same transaction as the answer. Every channel saves through ``save_answers`` and
``complete``, so web, text and phone answers count alike. ``recount`` rebuilds the table
from the survey instances (after a bulk load that bypassed the app).
"""

from collections import Counter
from functools import cache

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from ..models import ExpectedCourseCount, InstanceStatus, Patient, SurveyInstance

# Measure drawn on the patient page: the key outcome on SurveyInstance (see key_outcomes.py).
MEASURES = {
    "worst_pain": "pain_worst",
    "omed": "omed_mg_per_day",
    "qol": "quality_of_life",
}

# (measure, timepoint, day_offset, value)
Key = tuple[str, str, int, float]

_TABLE = ExpectedCourseCount.__table__
_KEY_COLUMNS = ("site_id", "measure", "timepoint", "day_offset", "value")
_PARAMETERS = tuple(f"key_{name}" for name in _KEY_COLUMNS)


def counted_values(instance: SurveyInstance) -> Counter[Key]:
    """What a survey instance adds to the counts: its key outcomes once it is completed."""
    if instance.status != InstanceStatus.COMPLETED:
        return Counter()
    return Counter(
        (measure, instance.timepoint, instance.day_offset, float(value))
        for measure, column in MEASURES.items()
        if (value := getattr(instance, column)) is not None
    )


def update_counts(
    session: Session, site_id: int, before: Counter[Key], after: Counter[Key]
) -> None:
    """Move one instance's contribution from ``before`` to ``after``.

    Rows are touched in key order, so two transactions never wait for each other in a cycle.
    """
    change = Counter(after)
    change.subtract(before)
    for key in sorted(k for k, delta in change.items() if delta):
        values = dict(zip(_PARAMETERS, (site_id, *key), strict=True)) | {"delta": change[key]}
        dialect = session.get_bind().dialect.name
        statement = _add(dialect) if change[key] > 0 else _take()
        session.execute(statement, values)


@cache
def _take():
    """Lower one count, never below zero."""
    pairs = zip(_KEY_COLUMNS, _PARAMETERS, strict=True)
    matches = [_TABLE.c[name] == bindparam(key) for name, key in pairs]
    return (
        update(_TABLE)
        .where(*matches, _TABLE.c.n >= -bindparam("delta"))
        .values(n=_TABLE.c.n + bindparam("delta"))
    )


@cache
def _add(dialect: str):
    """Raise one count, creating its row the first time the value is seen."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert_for(_TABLE).values(
        {name: bindparam(key) for name, key in zip(_KEY_COLUMNS, _PARAMETERS, strict=True)}
        | {"n": bindparam("delta")}
    )
    return statement.on_conflict_do_update(
        index_elements=list(_KEY_COLUMNS), set_={"n": _TABLE.c.n + statement.excluded.n}
    )


def value_counts(session: Session, site_id: int | None) -> list[tuple[str, str, int, float, int]]:
    """(measure, timepoint, day_offset, value, count) of a site, or of every site (None)."""
    columns = (_TABLE.c.measure, _TABLE.c.timepoint, _TABLE.c.day_offset, _TABLE.c.value)
    if site_id is not None:
        statement = select(*columns, _TABLE.c.n).where(_TABLE.c.site_id == site_id, _TABLE.c.n > 0)
    else:
        total = func.sum(_TABLE.c.n)
        statement = select(*columns, total).group_by(*columns).having(total > 0)
    return [tuple(row) for row in session.execute(statement)]


def recount(engine: Engine) -> None:
    """Rebuild every count from the completed survey instances, in one transaction."""
    with engine.begin() as connection:
        connection.execute(delete(_TABLE))
        for measure, column in MEASURES.items():
            value = SurveyInstance.__table__.c[column]
            keys = (
                Patient.__table__.c.site_id,
                SurveyInstance.__table__.c.timepoint,
                SurveyInstance.__table__.c.day_offset,
                value,
            )
            rows = (
                select(keys[0], literal(measure), keys[1], keys[2], value, func.count())
                .select_from(
                    SurveyInstance.__table__.join(
                        Patient.__table__,
                        Patient.__table__.c.id == SurveyInstance.__table__.c.patient_id,
                    )
                )
                .where(
                    and_(
                        SurveyInstance.__table__.c.status == InstanceStatus.COMPLETED.value,
                        value.is_not(None),
                    )
                )
                .group_by(*keys)
            )
            connection.execute(insert(_TABLE).from_select([*_KEY_COLUMNS, "n"], rows))
