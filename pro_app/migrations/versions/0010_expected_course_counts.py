"""Counts of each key outcome value per site and timepoint, for the expected course

The patient page's expected course used to scan every completed survey of the site. It is
now read from ``expected_course_count``, kept by the app as answers are saved; this
migration creates the table and fills it from the completed survey instances.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 05:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# measure: key outcome column on survey_instance (as pro_app/followup/cohort_counts.py)
MEASURES = {'worst_pain': 'pain_worst', 'omed': 'omed_mg_per_day', 'qol': 'quality_of_life'}


def upgrade() -> None:
    op.create_table(
        'expected_course_count',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('timepoint', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('day_offset', sa.Integer(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id']),
        sa.PrimaryKeyConstraint('site_id', 'measure', 'timepoint', 'day_offset', 'value'),
    )
    for measure, column in MEASURES.items():
        op.execute(
            sa.text(
                "INSERT INTO expected_course_count "
                "(site_id, measure, timepoint, day_offset, value, n) "
                f"SELECT p.site_id, :measure, i.timepoint, i.day_offset, i.{column}, count(*) "
                "FROM survey_instance i JOIN patient p ON p.id = i.patient_id "
                f"WHERE i.status = 'completed' AND i.{column} IS NOT NULL "
                f"GROUP BY p.site_id, i.timepoint, i.day_offset, i.{column}"
            ).bindparams(measure=measure)
        )


def downgrade() -> None:
    op.drop_table('expected_course_count')
