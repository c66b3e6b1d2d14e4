"""Current answers and the key outcomes of each timepoint

Marks the current answer of each questionnaire (at most one per instance), and copies
each timepoint's key outcomes (pain, opioid use, quality of life, channel) from its
current answers onto the survey instance, so the audit reads one row per timepoint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:10:00
"""
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# As in pro_app/key_outcomes.py when this revision was written.
KEY_OUTCOMES = {
    'pain_worst': ('pain_nrs', ('worst',)),
    'pain_average': ('pain_nrs', ('average',)),
    'omed_mg_per_day': ('analgesic_use', ('omed', 'omed_mg_per_day')),
    'any_opioid': ('analgesic_use', ('omed', 'any_opioid')),
    'omed_needs_review': ('analgesic_use', ('omed', 'needs_review')),
    'quality_of_life': ('qol_overall', ('overall',)),
}
CHANNEL_FROM = ('pain_nrs', 'qol_overall', 'analgesic_use')  # the first answered
INSTANCES_PER_SLICE = 5000


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN: a batch copy of the tables (SQLite) would trip the
    # foreign key from a correction to the answer it supersedes.
    op.add_column('response', sa.Column('is_current', sa.Boolean(), server_default=sa.true(), nullable=False))
    # An answer that a later row supersedes is no longer current.
    op.execute(
        "UPDATE response SET is_current = false WHERE id IN "
        "(SELECT supersedes_id FROM response WHERE supersedes_id IS NOT NULL)"
    )
    # Two first answers saved at once (a double tap, before saves queued on a lock): the
    # later one is current, as it was for the survey pages.
    op.execute(
        "UPDATE response SET is_current = false WHERE is_current AND EXISTS "
        "(SELECT 1 FROM response AS later WHERE later.instance_id = response.instance_id "
        "AND later.instrument_id = response.instrument_id AND later.is_current "
        "AND later.id > response.id)"
    )
    op.create_index('uq_response_current_answer', 'response', ['instance_id', 'instrument_id'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
    for column in (
        sa.Column('pain_worst', sa.Float(), nullable=True),
        sa.Column('pain_average', sa.Float(), nullable=True),
        sa.Column('omed_mg_per_day', sa.Float(), nullable=True),
        sa.Column('any_opioid', sa.Boolean(), nullable=True),
        sa.Column('omed_needs_review', sa.Boolean(), nullable=True),
        sa.Column('quality_of_life', sa.Float(), nullable=True),
        sa.Column('answer_channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    ):
        op.add_column('survey_instance', column)
    _copy_key_outcomes()


def _copy_key_outcomes() -> None:
    """Copy in slices of instance ids, so memory stays small on a large database."""
    connection = op.get_bind()
    last = connection.execute(sa.text("SELECT max(instance_id) FROM response")).scalar()
    for start in range(0, (last or 0) + 1, INSTANCES_PER_SLICE):
        _copy_slice(connection, start, start + INSTANCES_PER_SLICE)


def _copy_slice(connection, start: int, stop: int) -> None:
    sources = sorted({source for source, _ in KEY_OUTCOMES.values()})
    rows = connection.execute(
        sa.text(
            "SELECT instance_id, instrument_id, channel, scores FROM response "
            "WHERE is_current AND instrument_id IN :sources "
            "AND instance_id >= :start AND instance_id < :stop ORDER BY id"
        ).bindparams(sa.bindparam('sources', expanding=True)),
        {'sources': sources, 'start': start, 'stop': stop},
    )
    found: dict[int, dict] = {}
    channels: dict[int, dict[str, str]] = {}
    for instance_id, instrument_id, channel, scores in rows:
        scores = json.loads(scores) if isinstance(scores, (str, bytes)) else scores or {}
        values = found.setdefault(instance_id, {})
        for column, (source, path) in KEY_OUTCOMES.items():
            if source == instrument_id:
                value = scores
                for key in path:
                    value = value.get(key) if isinstance(value, dict) else None
                values[column] = value
        channels.setdefault(instance_id, {})[instrument_id] = channel
    if not found:
        return
    for instance_id, values in found.items():
        by_source = channels[instance_id]
        values['answer_channel'] = next(
            (by_source[source] for source in CHANNEL_FROM if source in by_source), None
        )
    columns = list(KEY_OUTCOMES) + ['answer_channel']
    update = sa.text(
        "UPDATE survey_instance SET "
        + ", ".join(f"{column} = :{column}" for column in columns)
        + " WHERE id = :id"
    ).bindparams(
        *(sa.bindparam(c, type_=sa.Boolean()) for c in ('any_opioid', 'omed_needs_review'))
    )
    connection.execute(
        update,
        [
            {'id': instance_id, **{column: values.get(column) for column in columns}}
            for instance_id, values in found.items()
        ],
    )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason.
    for column in ('answer_channel', 'quality_of_life', 'omed_needs_review', 'any_opioid',
                   'omed_mg_per_day', 'pain_average', 'pain_worst'):
        op.drop_column('survey_instance', column)
    op.drop_index('uq_response_current_answer', table_name='response')
    op.drop_column('response', 'is_current')
