"""event bus: consumer groups, acknowledgements and dead letters of the embedded bus

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_bus_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_bus_messages")),
    )
    with op.batch_alter_table("event_bus_messages", schema=None) as batch_op:
        batch_op.create_index("ix_event_bus_messages_topic_id", ["topic", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_bus_messages_published_at"), ["published_at"], unique=False
        )

    op.create_table(
        "event_bus_groups",
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("visibility_timeout", sa.Float(), nullable=False),
        sa.Column("max_deliveries", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "name", name=op.f("pk_event_bus_groups")),
    )

    op.create_table(
        "event_bus_pending",
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("group_name", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("visible_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "topic", "group_name", "message_id", name=op.f("pk_event_bus_pending")
        ),
    )
    with op.batch_alter_table("event_bus_pending", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_bus_pending_visible", ["topic", "group_name", "visible_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("event_bus_pending", schema=None) as batch_op:
        batch_op.drop_index("ix_event_bus_pending_visible")
    op.drop_table("event_bus_pending")
    op.drop_table("event_bus_groups")
    with op.batch_alter_table("event_bus_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_bus_messages_published_at"))
        batch_op.drop_index("ix_event_bus_messages_topic_id")
    op.drop_table("event_bus_messages")
