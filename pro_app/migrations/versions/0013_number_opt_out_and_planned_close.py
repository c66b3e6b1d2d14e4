"""A number's opt-out kept for the number; a survey's close before a date move

Adds the ``number_opt_out`` table: a number that texted STOP (or that the provider
reported unsubscribed) until it texts START. Numbers opted out on a patient record before
this revision are copied in, with the earliest opt-out time. Adds
``survey_instance.closes_at_as_planned``: when moving a procedure date brings a sent
survey's close in, its close before, so moving the date back restores it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'number_opt_out',
        sa.Column('phone_e164', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('opted_out_at', pro_app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('phone_e164', name=op.f('pk_number_opt_out')),
    )
    op.add_column(
        'survey_instance',
        sa.Column(
            'closes_at_as_planned', pro_app.models.types.UTCDateTime(timezone=True), nullable=True
        ),
    )
    op.execute(
        "INSERT INTO number_opt_out (phone_e164, opted_out_at) "
        "SELECT phone_e164, MIN(COALESCE(sms_opted_out_at, CURRENT_TIMESTAMP)) FROM patient "
        "WHERE sms_opted_out AND phone_e164 IS NOT NULL GROUP BY phone_e164"
    )


def downgrade() -> None:
    op.drop_column('survey_instance', 'closes_at_as_planned')
    op.drop_table('number_opt_out')
