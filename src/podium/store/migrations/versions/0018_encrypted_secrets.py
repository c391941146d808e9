"""security: encrypted secrets at rest

Webhook URLs (which may carry credentials) and signing secrets are stored sealed with the
installation's encryption key (``enc:v1:<base64 envelope>``, ADR 0035), longer than their
clear text, so both columns become TEXT. Rows written before stay in clear and still read
(a value without the ``enc:v1:`` prefix is plaintext); ``podium encryption rotate`` seals
them. The migration cannot seal them itself: the key is not the database's to know.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column(
            "url", existing_type=sa.String(length=2048), type_=sa.Text(), existing_nullable=False
        )
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=256), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    # Sealed values do not fit the old widths: run with encryption off and re-create the
    # webhooks before downgrading past this revision.
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.Text(), type_=sa.String(length=256), existing_nullable=False
        )
        batch_op.alter_column(
            "url", existing_type=sa.Text(), type_=sa.String(length=2048), existing_nullable=False
        )
