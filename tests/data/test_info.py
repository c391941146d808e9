"""Table facts from the Delta log: schema, rows, size, files, partitioning, times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from podium.data import DataLake
from podium.data.types import ColumnInfo
from podium.errors import NotFoundError


def test_table_info(lake: DataLake, customers: pd.DataFrame) -> None:
    start = datetime.now(UTC)
    lake.write("raw.customers", customers, partition_by=["plan"])
    lake.write("raw.customers", customers)
    lake.delete("raw.customers", "customer_id = 1")
    info = lake.table_info("raw.customers")
    history = lake.history("raw.customers")
    assert (info.name, info.version) == ("raw.customers", 2)
    assert info.schema == [
        ColumnInfo("customer_id", "int64", True),
        ColumnInfo("plan", "string", True),
        ColumnInfo("spend", "double", True),
    ]
    assert info.row_count == lake.read("raw.customers").num_rows == 4
    assert info.partition_columns == ["plan"]
    assert info.num_files >= 2
    assert info.size_bytes > 0
    assert info.created_at == history[0].timestamp
    assert info.last_modified == history[-1].timestamp
    assert start.replace(microsecond=0) <= info.created_at <= info.last_modified


def test_row_count_without_stats_counts_footers(local_lake: DataLake, tmp_path: Path) -> None:
    """A file added without numRecords stats (another engine) is counted from its footer."""
    local_lake.write("raw.t", pa.table({"a": [1, 2, 3]}))
    table_dir = tmp_path / "lake" / "projects" / "churn" / "raw" / "t"
    log = next((table_dir / "_delta_log").glob("*.json"))
    log.write_text(
        "\n".join(
            line.replace('"stats":', '"ignored":') if '"add"' in line else line
            for line in log.read_text().splitlines()
        )
        + "\n"
    )
    info = local_lake.table_info("raw.t")
    assert info.row_count == 3
    assert pq.read_metadata(next(table_dir.glob("*.parquet"))).num_rows == 3


def test_unknown_table(local_lake: DataLake) -> None:
    with pytest.raises(NotFoundError):
        local_lake.table_info("raw.nope")
