"""Property test: on random write sequences every backend equals a newest-wins dict model."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.features.online import OnlineStore, SQLiteOnlineStore
from podium.features.online.protocol import MAX_EVENT_TS_US, MIN_EVENT_TS_US

KEYS = st.sampled_from(["a", "b", "A", "", "é", "x\x1fy", "7"])
TIMES = st.one_of(
    st.integers(min_value=-3, max_value=3),  # many ties and near-ties
    st.integers(min_value=MIN_EVENT_TS_US, max_value=MAX_EVENT_TS_US),
)
ROWS = st.lists(st.tuples(KEYS, TIMES, st.text(max_size=8)), max_size=12)
CALLS = st.lists(ROWS, min_size=1, max_size=6)


@pytest.fixture(params=["sqlite", "redis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    """Each backend in turn; examples share it, each on a table of its own."""
    if request.param == "sqlite":
        store: OnlineStore = SQLiteOnlineStore(tmp_path / "online.db")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("redis_store")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(calls=CALLS)
def test_writes_and_reads_match_a_newest_wins_model(
    any_store: OnlineStore, calls: list[list[tuple[str, int, str]]]
) -> None:
    table = f"oracle/{uuid.uuid4().hex}"
    model: dict[str, tuple[int, str]] = {}
    for rows in calls:
        expected_written = 0
        for key, ts, payload in rows:
            if key not in model or ts >= model[key][0]:
                model[key] = (ts, payload)
                expected_written += 1
        written = any_store.write(
            table, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
        )
        assert written == expected_written
        every = ["a", "b", "A", "", "é", "x\x1fy", "7", "absent"]
        assert any_store.read(table, every) == [model.get(key) for key in every]
        assert any_store.count(table) == len(model)
    any_store.drop(table)
