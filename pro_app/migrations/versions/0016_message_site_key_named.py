"""The foreign key of ``message.site_id`` takes the name the models give it

Migration 0004 named it ``message_site_id_fkey`` on PostgreSQL, where every other key is
named by the models' convention (``fk_<table>_<column>_<referred table>``), so a later
migration dropping it by that name would fail. On SQLite it stays as 0004 made it: SQLite
names no constraint added after its table is made, and changes to it copy the table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:45:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = "0016"
down_revision: Union[str, None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'ALTER TABLE message RENAME CONSTRAINT message_site_id_fkey TO fk_message_site_id_site'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'ALTER TABLE message RENAME CONSTRAINT fk_message_site_id_site TO message_site_id_fkey'
        )
