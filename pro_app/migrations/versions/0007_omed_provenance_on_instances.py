"""Which conversion table produced each timepoint's OMED, and whether it was implausible

Adds the table id and version and the plausibility flag to the key outcomes copied onto
each survey instance, so the audit can refuse to compare OMEDs from different tables
and count the answers above a table's plausibility limits. Table ids and versions are
copied from the current opioid answers' scores (stored with them since they were first
scored); the plausibility flag is only known for answers scored from now on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 02:40:00
"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INSTANCES_PER_SLICE = 5000


def upgrade() -> None:
    for column in (
        sa.Column('omed_implausible', sa.Boolean(), nullable=True),
        sa.Column('omed_table', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('omed_table_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    ):
        op.add_column('survey_instance', column)
    connection = op.get_bind()
    last = connection.execute(sa.text("SELECT max(instance_id) FROM response")).scalar()
    for start in range(0, (last or 0) + 1, INSTANCES_PER_SLICE):
        _copy_tables(connection, start, start + INSTANCES_PER_SLICE)


def _copy_tables(connection, start: int, stop: int) -> None:
    """Copy the table id and version of current opioid answers in one slice of instances."""
    rows = connection.execute(
        sa.text(
            "SELECT instance_id, scores FROM response WHERE is_current "
            "AND instrument_id = 'analgesic_use' "
            "AND instance_id >= :start AND instance_id < :stop"
        ),
        {'start': start, 'stop': stop},
    )
    updates = []
    for instance_id, scores in rows:
        scores = json.loads(scores) if isinstance(scores, (str, bytes)) else scores or {}
        omed = scores.get('omed') if isinstance(scores, dict) else None
        if isinstance(omed, dict) and omed.get('table'):
            updates.append(
                {
                    'id': instance_id,
                    'table': omed['table'],
                    'version': omed.get('table_version') or None,
                }
            )
    if updates:
        connection.execute(
            sa.text(
                "UPDATE survey_instance SET omed_table = :table, omed_table_version = :version "
                "WHERE id = :id"
            ),
            updates,
        )


def downgrade() -> None:
    for column in ('omed_table_version', 'omed_table', 'omed_implausible'):
        op.drop_column('survey_instance', column)
