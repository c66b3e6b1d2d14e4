"""A safety event recorded in error can be withdrawn

Adds ``safety_event.withdrawn_at``, ``withdrawn_by`` and ``withdrawn_reason``: a nurse
marks an event recorded in error (a grade 5 picked by a slip, the wrong patient) with the
reason; it stays on the record, struck through, and leaves the audit and the register's
files. Existing events are not withdrawn.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 08:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = "0015"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # In batch mode SQLite copies the table to add the foreign key, named as on PostgreSQL.
    with op.batch_alter_table('safety_event') as batch:
        batch.add_column(
            sa.Column(
                'withdrawn_at', pro_app.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch.add_column(sa.Column('withdrawn_by', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                'withdrawn_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch.create_foreign_key(
            op.f('fk_safety_event_withdrawn_by_user'), 'user', ['withdrawn_by'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('safety_event') as batch:
        batch.drop_column('withdrawn_reason')
        batch.drop_column('withdrawn_by')
        batch.drop_column('withdrawn_at')
