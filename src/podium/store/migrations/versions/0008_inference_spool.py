"""inference spool: parked inference-log batches waiting for the lake

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inference_spool",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_inference_spool_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inference_spool")),
    )
    with op.batch_alter_table("inference_spool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inference_spool_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inference_spool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inference_spool_project_id"))
    op.drop_table("inference_spool")
