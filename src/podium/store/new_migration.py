"""Developer tool: autogenerate a migration from the tables of every area.

Usage: ``python -m podium.store.new_migration "add deployments"``. It imports every
area's tables (the one place allowed to), diffs them against a scratch SQLite database
upgraded to head, and writes the script to ``store/migrations/versions``.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from podium.store.base import Base
from podium.store.database import _MIGRATIONS, Database

TABLE_MODULES = (
    "podium.access.tables",
    "podium.tracking.tables",
    "podium.data.catalog.rows",
    "podium.events.tables",
    "podium.registry.tables",
    "podium.features.tables",
    "podium.serving.control.tables",
    "podium.serving.log.spool_tables",
    "podium.monitoring.tables",
    "podium.pipelines.tables",
    "podium.batch.tables",
    "podium.events.schemas.tables",
    "podium.events.bus.tables",
    "podium.serving.control.review_tables",
    "podium.data.pii_tables",
)


def main(message: str) -> None:
    for module in TABLE_MODULES:
        importlib.import_module(module)
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        db.upgrade()
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with db.engine.connect() as conn:
            config.attributes["connection"] = conn
            config.attributes["target_metadata"] = Base.metadata
            count = len(list((_MIGRATIONS / "versions").glob("*.py")))
            command.revision(config, message=message, autogenerate=True, rev_id=f"{count + 1:04d}")
        db.dispose()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "change")
