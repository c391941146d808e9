"""A push records ``table.updated`` for its source table's commit and ``features.pushed``,
on SQLite and Redis online stores; a refused push records neither."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import redis
from sqlalchemy import select

from podium.config import Settings
from podium.errors import InvalidInputError
from podium.events.tables import EventRow
from podium.events.webhooks import EVENT_TYPES
from podium.platform import Installation, Platform
from tests.features.conftest import seed


@pytest.fixture
def pushing(tmp_path: Path, online_url: str) -> Iterator[tuple[Installation, Platform]]:
    """An installation (its outbox is read directly) and a platform on ``online_url``."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'podium.db'}",
        online_store_url=online_url,
    )
    installation = Installation(settings)
    project = f"t-{uuid.uuid4().hex[:10]}"
    yield installation, installation.platform(project, user="local:test")
    installation.close()
    if online_url.startswith("redis"):
        client = redis.Redis.from_url(online_url)
        keys = list(client.scan_iter(match=f"podium:online:{project}/*"))
        if keys:
            client.unlink(*keys)
        client.close()


def _events(installation: Installation, p: Platform) -> list[tuple[str, dict[str, object]]]:
    project_id = installation.projects.get(p.project).id
    with installation.db.read() as session:
        rows = session.scalars(
            select(EventRow)
            .where(
                EventRow.project_id == project_id,
                EventRow.type.in_(["table.updated", "features.pushed"]),
            )
            .order_by(EventRow.id)
        ).all()
        return [(row.type, dict(row.payload)) for row in rows]


def _rows(customer: int, plan: object = "pro") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [customer],
            "event_ts": [datetime.now(UTC)],
            "tenure_months": [5],
            "monthly_charges": [22.5],
            "plan": [plan],
        }
    )


def test_a_push_records_the_table_commit_then_features_pushed(
    pushing: tuple[Installation, Platform],
) -> None:
    installation, p = pushing
    seed(p)
    p.features.materialize(end=datetime.now(UTC))
    before = len(_events(installation, p))
    pushed = p.features.push("customer_stats", _rows(7))
    version = p.data.version("raw.customers")

    assert _events(installation, p)[before:] == [
        ("table.updated", {"table": "raw.customers", "version": version, "operation": "append"}),
        (
            "features.pushed",
            {
                "view": "customer_stats",
                "rows": 1,
                "online_rows": pushed["online_rows"],
                "table": "raw.customers",
                "version": version,
            },
        ),
    ]
    assert pushed["online_rows"] == 1
    assert "features.pushed" in EVENT_TYPES


def test_a_refused_push_records_nothing(pushing: tuple[Installation, Platform]) -> None:
    installation, p = pushing
    seed(p)
    before = _events(installation, p)
    with pytest.raises(InvalidInputError):
        p.features.push("customer_stats", _rows(8, plan=3))
    assert _events(installation, p) == before
