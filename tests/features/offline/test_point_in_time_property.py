"""Property: on random histories the join equals a brute-force oracle written in plain Python.

Small domains (a few keys, timestamps on a 15-minute grid, TTLs of 0 to 6 minutes) make
the interesting cases common: ties on the timestamp broken by the created timestamp (NULL
lowest), full ties, rows appended out of order, entity rows exactly a TTL after a feature
row, keys the views do not have, NULL keys and timestamps, duplicate entity rows, NULL
feature values, and several views over different keys with clashing feature names. Each
table's timestamps come in a random unit and time zone (or naive, meaning UTC).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as pa_ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.features.offline import ViewSource, point_in_time_join

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLAVORS = [("us", "UTC"), ("ns", "Europe/Paris"), ("s", None), ("ms", "Asia/Tokyo")]
Row = dict[str, Any]


@dataclass(frozen=True)
class Spec:
    """A view of the test: its keys, features and column types."""

    name: str
    keys: tuple[str, ...]
    features: tuple[str, ...]
    created: bool


SPECS = (
    Spec("a_view", ("a",), ("x", "y"), created=True),
    Spec("b_view", ("b",), ("z",), created=False),
    Spec("ab_view", ("a", "b"), ("x", "w"), created=True),
)
TYPES = {"a": pa.int64(), "b": pa.string(), "x": pa.int64(), "y": pa.float64()}
TYPES |= {"z": pa.string(), "w": pa.string()}


def sometimes_null(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values``, or NULL about one time in eight."""
    return st.tuples(st.integers(0, 7), values).map(lambda p: None if p[0] == 0 else p[1])


minutes = st.integers(0, 14)
a_keys = st.integers(0, 2)
b_keys = sometimes_null(st.sampled_from(["p", "q"]))
values = {
    "x": sometimes_null(st.integers(-3, 3)),
    "y": sometimes_null(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)),
    "z": sometimes_null(st.sampled_from(["", "u", "v"])),
    "w": sometimes_null(st.text("ab", max_size=2)),
}


def history_row(spec: Spec) -> st.SearchStrategy[Row]:
    key_values = {"a": a_keys, "b": b_keys}
    fields = {"ts": sometimes_null(minutes), **{k: key_values[k] for k in spec.keys}}
    if spec.created:
        fields["created"] = sometimes_null(st.integers(0, 3))
    fields |= {f: values[f] for f in spec.features}
    return st.fixed_dictionaries(fields)


entity_row = st.fixed_dictionaries(
    {
        "a": st.integers(0, 3),  # 3: a key no view has
        "b": sometimes_null(st.sampled_from(["p", "q", "r"])),
        "ts": sometimes_null(minutes),
    }
)


def stamps(rows: list[Row], column: str, flavor: tuple[str, str | None]) -> pa.Array:
    unit, zone = flavor
    moments = [None if r[column] is None else T0 + timedelta(minutes=r[column]) for r in rows]
    if zone is None:  # naive means UTC
        moments = [None if m is None else m.replace(tzinfo=None) for m in moments]
    return pa.array(moments, pa.timestamp(unit, tz=zone))


def source_table(spec: Spec, rows: list[Row], flavor: tuple[str, str | None], cuts: int) -> Any:
    columns = {k: pa.array([r[k] for r in rows], TYPES[k]) for k in spec.keys}
    columns["ts"] = stamps(rows, "ts", flavor)
    if spec.created:
        columns["created"] = stamps(rows, "created", flavor)
    columns |= {f: pa.array([r[f] for r in rows], TYPES[f]) for f in spec.features}
    table = pa.table(columns)
    step = max(1, len(rows) // (cuts + 1))
    chunks = [table.slice(i, step) for i in range(0, len(rows), step)] or [table]
    table = pa.concat_tables(chunks)  # several record batches, as files would give
    return pa_ds.dataset(table) if cuts % 2 else table


def rank(value: Any) -> tuple[Any, ...]:
    """Sort key with NULL lowest, as ``DESC NULLS LAST`` picks."""
    return (0,) if value is None else (1, value)


def oracle(spec: Spec, ttl: int | None, history: list[Row], row: Row) -> tuple[Any, ...]:
    """The features for one entity row, by definition, by looking at every history row."""
    nothing = (None,) * len(spec.features)
    if row["ts"] is None:
        return nothing
    qualifying = [
        h
        for h in history
        if h["ts"] is not None
        and h["ts"] <= row["ts"]
        and all(h[k] is not None and h[k] == row[k] for k in spec.keys)
    ]
    if not qualifying:
        return nothing

    def order(h: Row) -> tuple[Any, ...]:
        created = rank(h["created"]) if spec.created else ()
        return (h["ts"], created, *(rank(h[f]) for f in spec.features))

    best = max(qualifying, key=order)
    if ttl is not None and best["ts"] < row["ts"] - ttl:
        return nothing  # the latest row is too old; an older one never takes its place
    return tuple(best[f] for f in spec.features)


def result_names(specs: Sequence[Spec]) -> list[str]:
    counts = [f for s in specs for f in s.features]
    entity_columns = {"a", "b", "event_timestamp"}
    return [
        f"{s.name}__{f}" if counts.count(f) > 1 or f in entity_columns else f
        for s in specs
        for f in s.features
    ]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(SPECS), min_size=1, max_size=3, unique=True))
    histories = [draw(st.lists(history_row(s), max_size=25)) for s in chosen]
    # Entity rows at or shortly after history rows (TTL edges, ties), plus arbitrary ones.
    pool = [h for history in histories for h in history if h["ts"] is not None]
    rows = draw(st.lists(entity_row, max_size=8))
    for _ in range(draw(st.integers(1, 15)) if pool else 0):
        near = draw(st.sampled_from(pool))
        row = draw(entity_row)
        rows.append({**row, **near, "ts": near["ts"] + draw(st.integers(0, 7))})
    return {
        "specs": chosen,
        "histories": histories,
        "ttls": [draw(st.none() | st.integers(0, 6)) for _ in chosen],
        "flavors": [draw(st.sampled_from(FLAVORS)) for _ in chosen],
        "cuts": [draw(st.integers(0, 3)) for _ in chosen],
        "entity": draw(st.permutations(rows)),
        "entity_flavor": draw(st.sampled_from(FLAVORS)),
    }


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection for all examples (a fresh one per call is tested elsewhere)."""
    connection = duckdb.connect(":memory:", config={"threads": 2})
    yield connection
    connection.close()


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenarios())
def test_join_equals_the_brute_force_oracle(
    con: duckdb.DuckDBPyConnection, case: dict[str, Any]
) -> None:
    specs: list[Spec] = case["specs"]
    rows: list[Row] = case["entity"]
    entity = pa.table(
        {
            "a": pa.array([r["a"] for r in rows], pa.int64()),
            "b": pa.array([r["b"] for r in rows], pa.string()),
            "event_timestamp": stamps(rows, "ts", case["entity_flavor"]),
        }
    )
    views, sources = [], {}
    for i, spec in enumerate(specs):
        ttl = case["ttls"][i]
        sources[f"src_{i}"] = source_table(
            spec, case["histories"][i], case["flavors"][i], case["cuts"][i]
        )
        views.append(
            ViewSource(
                name=spec.name,
                relation=f"SELECT * FROM src_{i}",
                join_keys=spec.keys,
                timestamp_field="ts",
                created_timestamp_field="created" if spec.created else None,
                ttl=None if ttl is None else timedelta(minutes=ttl),
                features=spec.features,
            )
        )

    out = point_in_time_join(entity, views, sources=sources, con=con)

    assert out.select(entity.column_names).equals(entity)
    names = result_names(specs)
    assert out.column_names == [*entity.column_names, *names]
    expected: list[list[Any]] = [[] for _ in names]
    for row in rows:
        found = [
            value
            for i, spec in enumerate(specs)
            for value in oracle(spec, case["ttls"][i], case["histories"][i], row)
        ]
        for column, value in zip(expected, found, strict=True):
            column.append(value)
    for name, column in zip(names, expected, strict=True):
        assert out.column(name).to_pylist() == column, name
