"""Survey link misses, counted in the database for the guess limit

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:45:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'survey_link_miss',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('at', pro_app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_link_miss')),
    )
    op.create_index(op.f('ix_survey_link_miss_at'), 'survey_link_miss', ['at'], unique=False)
    op.create_index(
        'ix_survey_link_miss_client_key_at', 'survey_link_miss', ['client_key', 'at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_survey_link_miss_client_key_at', table_name='survey_link_miss')
    op.drop_index(op.f('ix_survey_link_miss_at'), table_name='survey_link_miss')
    op.drop_table('survey_link_miss')
