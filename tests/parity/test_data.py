"""``p.data`` both ways: every method of the Data protocol, the same assertions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from podium.data.types import ColumnInfo, TableVersion
from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Platform
from tests.parity.assertions import fails


def frame(start: int, stop: int) -> pd.DataFrame:
    ids = range(start, stop)
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "plan": ["monthly" if i % 3 else "yearly" for i in ids],
            "charges": [20.0 + i / 4 for i in ids],
        }
    )


def ids(table: pa.Table) -> list[int]:
    return sorted(table.column("customer_id").to_pylist())


def test_write_read_and_time_travel(platform: Platform) -> None:
    data = platform.data
    assert data.write("raw.customers", frame(0, 5)) == TableVersion("raw.customers", 0, 5)
    before = datetime.now(UTC)
    arrow = pa.Table.from_pandas(frame(5, 8), preserve_index=False)
    assert data.write("raw.customers", arrow).version == 1
    merged = data.write("raw.customers", frame(7, 10), mode="merge", keys=["customer_id"])
    assert merged.version == 2
    assert ids(data.read("raw.customers")) == list(range(10))
    assert ids(data.read("raw.customers", version=0)) == list(range(5))
    assert ids(data.read("raw.customers", as_of=before)) == list(range(5))
    assert data.read("raw.customers", columns=["plan"]).column_names == ["plan"]
    assert data.tables() == ["raw.customers"]
    assert data.version("raw.customers") == 2
    assert data.ref("raw.customers") == "raw.customers@2"
    assert [h.version for h in data.history("raw.customers")] == [0, 1, 2]
    assert data.history("raw.customers")[0].operation == "WRITE"


def test_delete_restore_and_changes(platform: Platform) -> None:
    data = platform.data
    data.write("raw.customers", frame(0, 6))
    deleted = data.delete("raw.customers", "customer_id >= 4")
    assert deleted.version == 1
    assert ids(data.read("raw.customers")) == [0, 1, 2, 3]
    changed = data.changes("raw.customers", since_version=1)
    assert sorted(changed.column("_change_type").to_pylist()) == ["delete", "delete"]
    assert data.restore("raw.customers", 0).version == 2
    assert ids(data.read("raw.customers")) == list(range(6))


def test_append_stream(platform: Platform) -> None:
    committed: list[int] = []
    batches = [frame(0, 3), pa.Table.from_pandas(frame(3, 5), preserve_index=False)]
    versions = platform.data.append_stream(
        "raw.events", batches, max_rows=3, on_commit=lambda v: committed.append(v.version)
    )
    assert [v.version for v in versions] == committed
    assert sum(v.rows_written for v in versions) == 5
    assert ids(platform.data.read("raw.events")) == list(range(5))


def test_sql_views_and_table_info(platform: Platform) -> None:
    data = platform.data
    data.write("raw.customers", frame(0, 6), partition_by=["plan"])
    counted = data.sql("SELECT plan, count(*) AS n FROM raw.customers GROUP BY plan ORDER BY plan")
    assert counted.to_pylist() == [{"plan": "monthly", "n": 4}, {"plan": "yearly", "n": 2}]
    view = data.create_view("curated.yearly", "SELECT * FROM raw.customers WHERE plan = 'yearly'")
    assert view == TableVersion("curated.yearly", 0, 2)
    info = data.table_info("raw.customers")
    assert (info.name, info.version, info.row_count) == ("raw.customers", 0, 6)
    assert info.partition_columns == ["plan"]
    assert ColumnInfo("customer_id", "int64", True) in info.schema


def test_optimize_and_vacuum(platform: Platform) -> None:
    data = platform.data
    for start in range(0, 9, 3):
        data.write("raw.customers", frame(start, start + 3))
    result = data.optimize("raw.customers")
    assert (result.name, result.files_removed, result.files_added) == ("raw.customers", 3, 1)
    assert ids(data.read("raw.customers")) == list(range(9))
    stale = data.vacuum("raw.customers", retain_hours=0, enforce_retention=False)
    assert len(stale) == 3
    assert data.vacuum("raw.customers", dry_run=True) == []


def test_bad_input_fails_the_same_way(platform: Platform) -> None:
    data = platform.data
    with fails(NotFoundError):
        data.read("raw.nope")
    with fails(NotFoundError):
        data.history("raw.nope")
    with fails(InvalidInputError):
        data.write("Not A Name", frame(0, 1))
    data.write("raw.customers", frame(0, 2))
    with fails(InvalidInputError):
        data.write("raw.customers", frame(0, 1), mode="merge")  # merge needs keys
    with fails(InvalidInputError):
        data.read("raw.customers", version=7)
    with fails(InvalidInputError):
        data.read("raw.customers", as_of=datetime.now(UTC) - timedelta(days=365))
    with fails(InvalidInputError):
        data.sql("DELETE FROM raw.customers")
    with fails(InvalidInputError):
        data.optimize("raw.customers", target_size=0)
