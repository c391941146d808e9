"""schema registry: subjects and their versioned JSON Schemas

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schema_subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("compatibility", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_schema_subjects_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schema_subjects")),
        sa.UniqueConstraint("project_id", "name", name="uq_schema_subjects_name"),
    )
    with op.batch_alter_table("schema_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schema_subjects_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "schema_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["schema_subjects.id"],
            name=op.f("fk_schema_versions_subject_id_schema_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schema_versions")),
        sa.UniqueConstraint("subject_id", "version", name="uq_schema_versions_version"),
        sa.UniqueConstraint("subject_id", "fingerprint", name="uq_schema_versions_fingerprint"),
    )
    with op.batch_alter_table("schema_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schema_versions_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("schema_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schema_versions_subject_id"))

    op.drop_table("schema_versions")
    with op.batch_alter_table("schema_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schema_subjects_project_id"))

    op.drop_table("schema_subjects")
