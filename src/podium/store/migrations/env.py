"""Alembic environment: podium passes an open connection in ``config.attributes``.

To write a new migration, run ``python -m podium.store.new_migration "message"``.
"""

from __future__ import annotations

from alembic import context

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=attributes.get("target_metadata"),
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
