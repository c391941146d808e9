"""The change data feed of a table: appends, merges, deletes, overwrites, ranges, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from podium.data import DataLake
from podium.errors import InvalidInputError


def _rows(changes: pa.Table) -> list[tuple[int, str, int]]:
    """(customer_id, change type, version), sorted."""
    return sorted(
        zip(
            changes["customer_id"].to_pylist(),
            changes["_change_type"].to_pylist(),
            changes["_commit_version"].to_pylist(),
            strict=True,
        )
    )


def test_every_operation_is_in_the_feed(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)  # 0: ids 1 2 3
    lake.write("raw.customers", customers.head(1).assign(customer_id=4))  # 1: append 4
    upsert = pd.DataFrame({"customer_id": [2, 5], "plan": ["gold", "pro"], "spend": [1.0, 2.0]})
    lake.write("raw.customers", upsert, mode="merge", keys=["customer_id"])  # 2
    lake.delete("raw.customers", "customer_id = 1")  # 3
    lake.write("raw.customers", customers.head(1).assign(customer_id=9), mode="overwrite")  # 4

    changes = lake.changes("raw.customers", since_version=0)
    assert changes.column_names[-3:] == ["_change_type", "_commit_version", "_commit_timestamp"]
    assert changes.schema.field("_commit_version").type == pa.int64()
    assert changes.schema.field("_commit_timestamp").type == pa.timestamp("ms", tz="UTC")
    assert changes.schema.field("plan").type == pa.string()
    assert changes["_commit_version"].to_pylist() == sorted(changes["_commit_version"].to_pylist())
    by_version: dict[int, list[tuple[int, str]]] = {}
    for customer, change, version in _rows(changes):
        by_version.setdefault(version, []).append((customer, change))
    assert by_version[0] == [(1, "insert"), (2, "insert"), (3, "insert")]
    assert by_version[1] == [(4, "insert")]
    assert by_version[2] == [(2, "update_postimage"), (2, "update_preimage"), (5, "insert")]
    assert by_version[3] == [(1, "delete")]
    overwritten = [(2, "delete"), (3, "delete"), (4, "delete"), (5, "delete"), (9, "insert")]
    assert by_version[4] == overwritten


def test_version_range(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    lake.delete("raw.customers", "customer_id = 1")
    lake.delete("raw.customers", "customer_id = 2")
    assert _rows(lake.changes("raw.customers", since_version=1, until_version=1)) == [
        (1, "delete", 1)
    ]
    assert [r[2] for r in _rows(lake.changes("raw.customers", since_version=2))] == [2]
    lake.write("raw.customers", customers)  # 3: a second file, so there is work to compact
    optimized = lake.optimize("raw.customers")
    assert (optimized.version, optimized.files_removed) == (4, 2)
    assert lake.changes("raw.customers", since_version=4).num_rows == 0


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [(3, None, "since_version"), (-1, None, "since_version"), (1, 0, "until_version")],
)
def test_bad_versions(
    lake: DataLake, customers: pd.DataFrame, since: int, until: int | None, field: str
) -> None:
    lake.write("raw.customers", customers)
    lake.write("raw.customers", customers)
    with pytest.raises(InvalidInputError) as caught:
        lake.changes("raw.customers", since_version=since, until_version=until)
    assert caught.value.field == field


def test_table_without_feed_names_the_remedy(local_lake: DataLake, tmp_path: Path) -> None:
    """A table created before podium turned the feed on (or by another engine)."""
    uri = tmp_path / "lake" / "projects" / "churn" / "raw" / "old"
    write_deltalake(str(uri), pa.table({"customer_id": [1, 2]}))
    local_lake.write("raw.old", pa.table({"customer_id": [3]}))
    for since in (0, 1):
        with pytest.raises(InvalidInputError, match="no change data feed") as caught:
            local_lake.changes("raw.old", since_version=since)
        assert "copy it into a new table" in str(caught.value.remedy)


def test_feed_turned_on_later_names_the_first_version(local_lake: DataLake, tmp_path: Path) -> None:
    uri = str(tmp_path / "lake" / "projects" / "churn" / "raw" / "old")
    write_deltalake(uri, pa.table({"customer_id": [1, 2]}))
    DeltaTable(uri).alter.set_table_properties({"delta.enableChangeDataFeed": "true"})
    local_lake.delete("raw.old", "customer_id = 1")
    with pytest.raises(InvalidInputError, match="version 0") as caught:
        local_lake.changes("raw.old", since_version=0)
    assert caught.value.remedy == "changes are recorded from version 1 on; pass since_version=1"
    assert _rows(local_lake.changes("raw.old", since_version=1)) == [(1, "delete", 2)]


def test_schema_overwrite_keeps_the_feed(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    replaced = pa.table({"customer_id": [7], "region": ["eu"]})
    lake.write("raw.customers", replaced, mode="overwrite", schema_mode="overwrite")
    changes = lake.changes("raw.customers", since_version=1)
    assert changes["_change_type"].to_pylist().count("insert") == 1
