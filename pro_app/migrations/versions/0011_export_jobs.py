"""Export jobs: long audit exports made in the background, downloaded once by their requester

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = "0011"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    moment = pro_app.models.types.UTCDateTime(timezone=True)
    op.create_table(
        'export_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('level', text(length=16), nullable=False),
        sa.Column('fmt', text(length=8), nullable=False),
        sa.Column('filters', text(length=1000), nullable=False),
        sa.Column('filters_text', text(length=500), nullable=False),
        sa.Column('status', text(length=16), nullable=False),
        sa.Column('rows_written', sa.Integer(), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', text(length=64), nullable=True),
        sa.Column('claimed_until', moment, nullable=True),
        sa.Column('file_name', text(length=120), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.Column('error', text(length=500), nullable=True),
        sa.Column('created_at', moment, nullable=False),
        sa.Column('started_at', moment, nullable=True),
        sa.Column('finished_at', moment, nullable=True),
        sa.Column('expires_at', moment, nullable=True),
        sa.Column('downloaded_at', moment, nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_export_job_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')),
    )
    op.create_index(op.f('ix_export_job_user_id'), 'export_job', ['user_id'], unique=False)
    op.create_index(
        'ix_export_job_status_claimed_until', 'export_job', ['status', 'claimed_until'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_export_job_status_claimed_until', table_name='export_job')
    op.drop_index(op.f('ix_export_job_user_id'), table_name='export_job')
    op.drop_table('export_job')
