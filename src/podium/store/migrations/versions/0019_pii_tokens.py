"""data: pii columns tokenized

``pii_columns`` names the lake columns stored as tokens; ``pii_tokens`` is the vault of
their clear values, sealed under the tokenization key (ADR 0045).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pii_columns",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=256), nullable=False),
        sa.Column("column_name", sa.String(length=256), nullable=False),
        sa.Column("marked_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_pii_columns_project_id_projects")
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "table_name", "column_name", name=op.f("pk_pii_columns")
        ),
    )
    op.create_table(
        "pii_tokens",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("sealed_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_pii_tokens_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "token", name=op.f("pk_pii_tokens")),
    )


def downgrade() -> None:
    op.drop_table("pii_tokens")
    op.drop_table("pii_columns")
