"""Delivery fencing: staff notices addressed to a site, attempt times, site alerts

Adds ``message.site_id`` (a notice to a site's staff, such as the on-call text, carries
the site instead of a patient), ``message.attempted_at`` (when the text was last handed
to the provider, the start of the window searched when its outcome is unknown) and the
``site_alert`` table (problems staff must fix that belong to no patient).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
import pro_app.models.types


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot add a constraint to a table, but takes one inline with the column.
        op.execute('ALTER TABLE message ADD COLUMN site_id INTEGER REFERENCES site (id)')
    else:
        op.add_column('message', sa.Column('site_id', sa.Integer(), nullable=True))
        op.create_foreign_key('message_site_id_fkey', 'message', 'site', ['site_id'], ['id'])
    op.add_column(
        'message',
        sa.Column('attempted_at', pro_app.models.types.UTCDateTime(), nullable=True),
    )
    op.create_table(
        'site_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('created_at', pro_app.models.types.UTCDateTime(), nullable=False),
        sa.Column('acknowledged_at', pro_app.models.types.UTCDateTime(), nullable=True),
        sa.Column('acknowledged_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['acknowledged_by'], ['user.id']),
        sa.ForeignKeyConstraint(['site_id'], ['site.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    op.create_index('ix_site_alert_site_id', 'site_alert', ['site_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_site_alert_site_id', table_name='site_alert')
    op.drop_table('site_alert')
    op.drop_column('message', 'attempted_at')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('message_site_id_fkey', 'message', type_='foreignkey')
    op.drop_column('message', 'site_id')
