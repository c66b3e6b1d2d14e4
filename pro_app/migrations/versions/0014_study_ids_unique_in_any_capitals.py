"""Study ids unique at a site in any mix of capitals

"abc-001" and "ABC-001" were two patients at one site: a patient enrolled twice, once
in capitals, had two records, each with half the follow-up. Enrolment now compares study
ids without regard to capitals, and this unique index on the site and ``lower(study_id)``
holds it in the database too (two nurses enrolling at the same moment included).

A database that already holds such a pair cannot take the index: the upgrade stops
before changing anything and names each pair (site and study ids: no personal data).
Decide for each pair whether it is one patient enrolled twice or two patients, give one
of them another study id, and run the upgrade again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from pro_app.storage.migrate import MigrationRefused


revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PAIRS = sa.text(
    "SELECT site_id, lower(study_id) AS folded, COUNT(*) FROM patient "
    "GROUP BY site_id, lower(study_id) HAVING COUNT(*) > 1 ORDER BY site_id, folded"
)
SPELLINGS = sa.text(
    "SELECT study_id FROM patient WHERE site_id = :site_id AND lower(study_id) = :folded "
    "ORDER BY study_id"
)


def upgrade() -> None:
    connection = op.get_bind()
    pairs = connection.execute(PAIRS).all()
    if pairs:
        named = "; ".join(
            f"site {site_id}: "
            + " and ".join(
                connection.execute(SPELLINGS, {"site_id": site_id, "folded": folded}).scalars()
            )
            for site_id, folded, _count in pairs
        )
        raise MigrationRefused(
            "Study ids that differ only in capitals are enrolled at one site "
            f"({named}). Give one of each another study id "
            "(UPDATE patient SET study_id = '...' WHERE id = ...), then run the upgrade again."
        )
    op.create_index(
        'uq_patient_site_id_lower_study_id',
        'patient',
        ['site_id', sa.text('lower(study_id)')],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index('uq_patient_site_id_lower_study_id', table_name='patient')
