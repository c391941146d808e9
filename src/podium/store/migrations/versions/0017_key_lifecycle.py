"""access: key expiry, scopes, rotation with overlap, last use; project quotas

Adds to ``api_keys``: ``expires_at``, ``scopes`` (empty: everything the role allows),
``previous_secret_sha256``/``previous_valid_until`` (the secret before the last rotation,
valid until the overlap ends), ``rotated_at`` and ``last_used_at``; and to ``projects``
their quota, ``rate_limit``/``rate_burst`` (unlimited for existing projects). Existing
keys keep working as they did: no expiry, no scopes.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=1024), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("previous_secret_sha256", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limit", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("rate_burst", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("rate_burst")
        batch_op.drop_column("rate_limit")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("rotated_at")
        batch_op.drop_column("previous_valid_until")
        batch_op.drop_column("previous_secret_sha256")
        batch_op.drop_column("scopes")
        batch_op.drop_column("expires_at")
