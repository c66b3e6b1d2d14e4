"""Index survey instances by patient and status (the patient list's last answer and next
survey, sortable over a whole site)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey_instance", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_instance_patient_id_status_completed_at",
            ["patient_id", "status", "completed_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_survey_instance_patient_id_status_due_at",
            ["patient_id", "status", "due_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_instance_patient_id_status_due_at")
        batch_op.drop_index("ix_survey_instance_patient_id_status_completed_at")
