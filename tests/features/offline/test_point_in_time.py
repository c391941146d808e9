"""Point-in-time joins on small, readable examples (the property test covers the rest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from podium.errors import InvalidInputError
from podium.features.offline import ViewSource, point_in_time_join

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
US = pa.timestamp("us", tz="UTC")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def view(
    *features: str,
    name: str = "stats",
    relation: str = "SELECT * FROM stats",
    keys: tuple[str, ...] = ("customer_id",),
    created: str | None = None,
    ttl: timedelta | None = None,
) -> ViewSource:
    return ViewSource(name, relation, keys, "event_ts", created, ttl, features)


def entity(ids: list[int], minutes: list[float], **extra: list[object]) -> pa.Table:
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "event_timestamp": pa.array([at(m) for m in minutes], US),
            **extra,
        }
    )


STATS = pa.table(
    {
        "customer_id": pa.array([1, 1, 1, 2], pa.int64()),
        "event_ts": pa.array([at(0), at(10), at(20), at(5)], US),
        "spend": [10.0, 20.0, 30.0, 50.0],
    }
)


def test_latest_row_at_or_before_the_event_wins() -> None:
    rows = entity([1, 1, 1, 1, 2], [-1, 0, 9, 10, 100])
    out = point_in_time_join(rows, [view("spend")], sources={"stats": STATS})
    # before any row: NULL; exactly at a row's time: that row (inclusive); future rows unseen
    assert out.column("spend").to_pylist() == [None, 10.0, 10.0, 20.0, 50.0]


def test_ttl_is_inclusive_at_both_ends_and_never_falls_back_to_older_rows() -> None:
    ttl = timedelta(minutes=5)
    edge = timedelta(minutes=15, microseconds=1)  # 1 µs past the ttl after the 10-minute row
    rows = pa.table(
        {
            "customer_id": pa.array([1, 1, 1], pa.int64()),
            "event_timestamp": pa.array([at(15), T0 + edge, at(10)], US),
        }
    )
    out = point_in_time_join(rows, [view("spend", ttl=ttl)], sources={"stats": STATS})
    # at(15): the 10-minute row is exactly ttl old and qualifies; 1 µs later it is too old,
    # and the older rows (minute 0) do not take its place.
    assert out.column("spend").to_pylist() == [20.0, None, 20.0]


def test_zero_ttl_only_takes_rows_from_the_same_instant() -> None:
    rows = entity([1, 1], [10, 11])
    out = point_in_time_join(rows, [view("spend", ttl=timedelta(0))], sources={"stats": STATS})
    assert out.column("spend").to_pylist() == [20.0, None]


def test_ties_on_the_timestamp_go_to_the_latest_created_row() -> None:
    history = pa.table(
        {
            "customer_id": pa.array([7, 7, 7, 7], pa.int64()),
            "event_ts": pa.array([at(0)] * 4, US),
            "created": pa.array([at(3), None, at(5), at(1)], US),
            "plan": ["b", "z", "c", "a"],
        }
    )
    out = point_in_time_join(
        entity([7], [1]), [view("plan", created="created")], sources={"stats": history}
    )
    assert out.column("plan").to_pylist() == ["c"]


def test_full_ties_are_broken_the_same_way_whatever_the_row_order() -> None:
    history = pa.table(
        {
            "customer_id": pa.array([7, 7, 7], pa.int64()),
            "event_ts": pa.array([at(0)] * 3, US),
            "score": [2, None, 9],
        }
    )
    results = {
        tuple(
            point_in_time_join(
                entity([7], [1]), [view("score")], sources={"stats": history.take(order)}
            )
            .column("score")
            .to_pylist()
        )
        for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0])
    }
    assert results == {(9,)}


def test_rows_come_back_once_in_input_order_with_their_columns_unchanged() -> None:
    paris = timezone(timedelta(hours=1))
    ts = pa.array([at(30).astimezone(paris), at(1), at(30).astimezone(paris)], US)
    rows = pa.table(
        {
            "label": ["x", "y", "x"],
            "customer_id": pa.array([2, 1, 2], pa.int32()),
            "event_timestamp": ts.cast(pa.timestamp("ns", tz="Europe/Paris")),
        }
    )
    out = point_in_time_join(rows, [view("spend")], sources={"stats": STATS})
    assert out.column_names == ["label", "customer_id", "event_timestamp", "spend"]
    assert out.select(rows.column_names).equals(rows)
    assert out.column("spend").to_pylist() == [50.0, 10.0, 50.0]


def test_naive_timestamps_are_utc_and_precision_is_the_microsecond() -> None:
    naive_ns = pa.timestamp("ns")
    history = pa.table(
        {
            "customer_id": pa.array([1, 1], pa.int64()),
            # 999 ns past the entity's microsecond: the same microsecond, so it qualifies
            "event_ts": pa.array([0, 1_000_000_999], naive_ns),
            "spend": [1.0, 2.0],
        }
    )
    rows = pa.table(
        {
            "customer_id": pa.array([1, 1], pa.int64()),
            "event_timestamp": pa.array(
                [datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(1970, 1, 1, 1, tzinfo=UTC)],
                pa.timestamp("us", tz="Asia/Tokyo"),
            ),
        }
    )
    out = point_in_time_join(rows, [view("spend")], sources={"stats": history})
    assert out.column("spend").to_pylist() == [2.0, 2.0]


def test_several_views_with_different_keys_and_clashing_names() -> None:
    plans = pa.table(
        {
            "region": ["eu", "us"],
            "event_ts": pa.array([at(0), at(0)], US),
            "spend": [100.0, 200.0],
            "label": ["gold", "silver"],
        }
    )
    rows = entity([1, 2], [15, 15], region=["us", "asia"], label=[True, False])
    out = point_in_time_join(
        rows,
        [
            view("spend"),
            view("spend", "label", name="plans", relation="SELECT * FROM p", keys=("region",)),
        ],
        sources={"stats": STATS, "p": plans},
    )
    assert out.column_names[-3:] == ["stats__spend", "plans__spend", "plans__label"]
    assert out.column("stats__spend").to_pylist() == [20.0, 50.0]
    assert out.column("plans__spend").to_pylist() == [200.0, None]
    assert out.column("plans__label").to_pylist() == ["silver", None]
    assert out.column("label").to_pylist() == [True, False]


def test_a_relation_may_be_any_query_over_the_sources() -> None:
    rows = entity([1, 1], [15, 25])
    relation = "SELECT customer_id, event_ts, spend * 2 AS double_spend FROM stats WHERE spend < 25"
    out = point_in_time_join(
        rows, [view("double_spend", relation=relation)], sources={"stats": STATS}
    )
    assert out.column("double_spend").to_pylist() == [40.0, 40.0]


def test_an_empty_entity_frame_gives_an_empty_result_with_the_feature_columns() -> None:
    out = point_in_time_join(entity([], []), [view("spend")], sources={"stats": STATS})
    assert out.num_rows == 0
    assert out.column_names == ["customer_id", "event_timestamp", "spend"]


def test_a_delta_table_with_late_rows_is_read_as_a_dataset(tmp_path: Path) -> None:
    uri = str(tmp_path / "stats")
    write_deltalake(uri, STATS)
    late = pa.table(
        {
            "customer_id": pa.array([1, 2], pa.int64()),
            "event_ts": pa.array([at(5), at(1)], US),
            "spend": [15.0, None],
        }
    )
    write_deltalake(uri, late, mode="append")  # arrives after newer rows were written
    dataset = DeltaTable(uri).to_pyarrow_dataset()
    rows = entity([1, 2, 2], [7, 3, 6])
    out = point_in_time_join(rows, [view("spend")], sources={"stats": dataset})
    assert out.column("spend").to_pylist() == [15.0, None, 50.0]


def test_a_given_connection_is_used_and_left_clean() -> None:
    con = duckdb.connect()
    try:
        out = point_in_time_join(
            entity([1], [10]), [view("spend")], sources={"stats": STATS}, con=con
        )
        assert out.column("spend").to_pylist() == [20.0]
        assert con.sql("SELECT 41 + 1").fetchall() == [(42,)]
        with pytest.raises(duckdb.CatalogException):
            con.sql("FROM stats")
    finally:
        con.close()


def test_the_engine_connection_cannot_read_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("customer_id,event_ts,spend\n1,2026-03-01 12:00:00,1.0\n")
    relation = f"SELECT * FROM read_csv('{secret}')"
    with pytest.raises(InvalidInputError, match="cannot be read"):
        point_in_time_join(entity([1], [10]), [view("spend", relation=relation)], sources={})
