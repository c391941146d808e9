"""monitoring: min_requests of alert rules, predictions of reference profiles

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitoring_alert_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_requests", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("monitoring_references", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predictions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitoring_references", schema=None) as batch_op:
        batch_op.drop_column("predictions")
    with op.batch_alter_table("monitoring_alert_rules", schema=None) as batch_op:
        batch_op.drop_column("min_requests")
