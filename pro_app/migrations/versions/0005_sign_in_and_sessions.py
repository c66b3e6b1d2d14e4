"""Sign-in throttling, revocable sessions and forced password changes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:30:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'sign_in_throttle',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', pro_app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('locked_until', pro_app.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttle')),
        sa.UniqueConstraint('scope', 'key', name=op.f('uq_sign_in_throttle_scope_key')),
    )
    op.add_column('user', sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.add_column('user', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('user', 'must_change_password')
    op.drop_column('user', 'session_version')
    op.drop_table('sign_in_throttle')
