"""SIGKILL of ``podium up`` in the middle of a feature materialization.

A materialization writes the online store in batches of 50,000 entities (each batch one
transaction; a row older than the stored one never replaces it), then records the run and
its ``features.materialized`` event in one metadata transaction. The test kills the server
once some batches are in the online store and before the run is recorded. Guarantees:

* no run and no event for the killed materialization (nothing half-recorded);
* every online row already written is whole and holds the entity's latest values;
* after a restart, materializing again leaves every entity's latest values online (0
  lost), with one run and one event (0 duplicated).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psycopg

from podium.config import Settings
from podium.features.definitions import Entity, Feature, FeatureView
from podium.platform import Installation
from tests.conftest import postgres_database
from tests.faults.conftest import podium_up, server_environment, wait_for

ENTITIES = 300_000  # six batches of 50,000
NOW = datetime(2026, 12, 1, tzinfo=UTC)
CUSTOMER = Entity("customer", join_keys=["customer_id"])
STATS = FeatureView(
    "customer_stats",
    entities=[CUSTOMER],
    source="raw.customers",
    timestamp_field="event_ts",
    features=[Feature("spend", "float64")],
)


def _rows() -> pd.DataFrame:
    """Two rows per customer: the latest one's spend is the customer id."""
    ids = np.arange(ENTITIES, dtype=np.int64)
    return pd.DataFrame(
        {
            "customer_id": np.concatenate([ids, ids]),
            "event_ts": [NOW - timedelta(days=2)] * ENTITIES + [NOW - timedelta(days=1)] * ENTITIES,
            "spend": np.concatenate([-ids.astype(np.float64), ids.astype(np.float64)]),
        }
    )


def _online(home: Path) -> dict[str, float]:
    """customer id -> spend, as the online store holds it now."""
    path = home / "online.db"
    if not path.exists():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        tables = [
            t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'ft_%'")
        ]
        found: dict[str, float] = {}
        for table in tables:
            for key, payload in conn.execute(f'SELECT key, payload FROM "{table}"'):
                found[str(key)] = json.loads(payload)["spend"]
    return found


def _count(home: Path) -> int:
    path = home / "online.db"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        tables = [
            t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'ft_%'")
        ]
        return sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)


def _recorded(database: str) -> tuple[int, int]:
    """(materialization runs, features.materialized events) in the metadata database."""
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as conn:
        runs = conn.execute("SELECT count(*) FROM feature_materializations").fetchone()
        events = conn.execute(
            "SELECT count(*) FROM events_outbox WHERE type = 'features.materialized'"
        ).fetchone()
    assert runs is not None and events is not None
    return int(runs[0]), int(events[0])


def test_a_materialization_killed_midway_is_unrecorded_and_completes_on_the_next_run(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with postgres_database("podium_faults_mat") as database:
        installation = Installation(Settings(home=home, database_url=database))
        try:
            platform = installation.platform("default", user="local:test")
            platform.data.write("raw.customers", _rows(), mode="overwrite")
            platform.features.apply([CUSTOMER, STATS])
        finally:
            installation.close()
        env = server_environment(home, database_url=database, scheduler="off")
        body = {"end": NOW.isoformat()}

        with podium_up(env) as server:
            client = httpx.Client(base_url=server.url, headers=server.headers, timeout=300)
            threading.Thread(
                target=lambda: _swallow(client.post, "/v1/features/materialize", json=body),
                daemon=True,
            ).start()
            wait_for(lambda: 0 < _count(home) < ENTITIES, 120, "a first online batch")
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=30)

        partial = _online(home)
        assert 0 < len(partial) < ENTITIES, "the kill did not land mid-materialization"
        assert all(spend == float(int(key)) for key, spend in partial.items())  # whole, latest
        assert _recorded(database) == (0, 0)  # nothing recorded for the killed run

        with (
            podium_up(env) as server,
            httpx.Client(base_url=server.url, headers=server.headers, timeout=300) as client,
        ):
            again = client.post("/v1/features/materialize", json=body)
            assert again.status_code == 200, again.text
        final = _online(home)
        assert len(final) == ENTITIES  # 0 lost
        assert all(spend == float(int(key)) for key, spend in final.items())
        assert _recorded(database) == (1, 1)  # 0 duplicated
        print(f"online rows at the kill: {len(partial)} of {ENTITIES}")


def _swallow(call: object, *args: object, **kwargs: object) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
        call(*args, **kwargs)  # type: ignore[operator]
