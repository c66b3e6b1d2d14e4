"""Every action taken on an alert, and when to try again after failing to reach the patient

Adds ``alert.next_try_at`` (set by "Could not reach: try again", which leaves the alert
open) and the ``alert_action`` table: one row per action a nurse took on an alert, the
closing one and every unsuccessful attempt before it. Alerts acknowledged before this
revision have their closing action copied in, so the history is complete.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column(
        'alert', sa.Column('next_try_at', pro_app.models.types.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_table(
        'alert_action',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column('next_try_at', pro_app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('at', pro_app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_action_alert_id_alert')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_alert_action_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_action')),
    )
    op.create_index(op.f('ix_alert_action_alert_id'), 'alert_action', ['alert_id'], unique=False)
    op.execute(
        "INSERT INTO alert_action (alert_id, action, note, user_id, at) "
        "SELECT id, action, action_note, acknowledged_by, acknowledged_at FROM alert "
        "WHERE acknowledged_at IS NOT NULL AND acknowledged_by IS NOT NULL AND action IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_alert_action_alert_id'), table_name='alert_action')
    op.drop_table('alert_action')
    op.drop_column('alert', 'next_try_at')
