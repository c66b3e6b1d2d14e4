"""Partial indexes for the tick's idle pass

The expiry pass asks for surveys still open or planned whose window has closed: with a
year of history almost every row has a closed window, but nearly all of them are
completed or expired, and PostgreSQL cannot see that the two conditions exclude each
other, so it could choose to scan the table. A partial index on ``closes_at`` over the
open and planned rows only (the pass reads it in ``closes_at`` order) stays as small as
the surveys in flight and answers "nothing to expire" from its first page. The
``(status, closes_at)`` index stays: SQLite, which has no statistics unless ANALYZE has
run, prefers it to the partial one and finds the same nothing with it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:40:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# As in pro_app/models/followup.py when this revision was written.
NOT_FINISHED = sa.text("status IN ('scheduled', 'sent', 'in_progress')")


def upgrade() -> None:
    op.create_index(
        'ix_survey_instance_unfinished_closes_at',
        'survey_instance',
        ['closes_at', 'id'],
        unique=False,
        postgresql_where=NOT_FINISHED,
        sqlite_where=NOT_FINISHED,
    )


def downgrade() -> None:
    op.drop_index('ix_survey_instance_unfinished_closes_at', table_name='survey_instance')
