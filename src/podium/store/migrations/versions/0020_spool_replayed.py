"""serving: inference spool batches parked from a dead replica's journal

``inference_spool.replayed`` marks a batch parked from a killed replica's journal: its
rows may already be in the log, and the commit skips those (ADR 0046).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inference_spool") as batch:
        batch.add_column(
            sa.Column("replayed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("inference_spool") as batch:
        batch.drop_column("replayed")
