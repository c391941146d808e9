"""Compaction and vacuum, with the retention guard that keeps old versions readable."""

from __future__ import annotations

import pandas as pd
import pytest

from podium.data import DataLake
from podium.errors import InvalidInputError, NotFoundError


def _five_appends(lake: DataLake, customers: pd.DataFrame) -> None:
    for offset in range(5):
        lake.write("raw.customers", customers.assign(customer_id=customers.customer_id + offset))


def test_optimize_compacts_small_files(lake: DataLake, customers: pd.DataFrame) -> None:
    _five_appends(lake, customers)
    before = lake.read("raw.customers").sort_by("customer_id")
    lines: list[str] = []
    result = lake.optimize("raw.customers", progress=lines.append, actor="ops")
    assert (result.name, result.version) == ("raw.customers", 5)
    assert (result.files_removed, result.files_added) == (5, 1)
    assert result.bytes_removed > 0 and result.bytes_added > 0
    assert lake.table_info("raw.customers").num_files == 1
    assert lake.read("raw.customers").sort_by("customer_id").equals(before)
    assert len(lines) == 2 and "5 files into 1" in lines[-1]
    entry = lake.history("raw.customers")[-1]
    assert (entry.operation, entry.actor) == ("OPTIMIZE", "ops")


def test_optimize_with_nothing_to_do_commits_nothing(
    lake: DataLake, customers: pd.DataFrame
) -> None:
    lake.write("raw.customers", customers)
    result = lake.optimize("raw.customers")
    assert (result.version, result.files_removed, result.files_added) == (0, 0, 0)
    assert lake.version("raw.customers") == 0


@pytest.mark.parametrize("target_size", [0, -1, 1.5, True])
def test_optimize_bad_target_size(
    local_lake: DataLake, customers: pd.DataFrame, target_size: object
) -> None:
    local_lake.write("raw.customers", customers)
    with pytest.raises(InvalidInputError) as caught:
        local_lake.optimize("raw.customers", target_size=target_size)  # type: ignore[arg-type]
    assert caught.value.field == "target_size"


def test_vacuum_keeps_versions_within_retention(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    lake.write("raw.customers", customers.head(1), mode="overwrite")
    assert lake.vacuum("raw.customers") == []
    assert lake.vacuum("raw.customers", dry_run=False) == []
    assert lake.read("raw.customers", version=0).num_rows == 3
    assert lake.read("raw.customers").num_rows == 1


def test_retention_guard(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    lake.write("raw.customers", customers.head(1), mode="overwrite")
    with pytest.raises(InvalidInputError, match="retention guard") as caught:
        lake.vacuum("raw.customers", retain_hours=0, dry_run=False)
    assert caught.value.field == "retain_hours"
    assert "enforce_retention=False" in str(caught.value.remedy)
    assert lake.read("raw.customers", version=0).num_rows == 3

    dry = lake.vacuum("raw.customers", retain_hours=0, enforce_retention=False)
    assert len(dry) == 1 and dry[0].endswith(".parquet")
    assert lake.read("raw.customers", version=0).num_rows == 3, "a dry run deletes nothing"
    removed = lake.vacuum("raw.customers", retain_hours=0, dry_run=False, enforce_retention=False)
    assert removed == dry
    assert lake.read("raw.customers").num_rows == 1


@pytest.mark.parametrize("retain_hours", [-1, 1.5, False])
def test_vacuum_bad_retain_hours(
    local_lake: DataLake, customers: pd.DataFrame, retain_hours: object
) -> None:
    local_lake.write("raw.customers", customers)
    with pytest.raises(InvalidInputError) as caught:
        local_lake.vacuum("raw.customers", retain_hours=retain_hours)  # type: ignore[arg-type]
    assert caught.value.field == "retain_hours"


def test_maintenance_of_unknown_table(local_lake: DataLake) -> None:
    with pytest.raises(NotFoundError):
        local_lake.optimize("raw.nope")
    with pytest.raises(NotFoundError):
        local_lake.vacuum("raw.nope")
