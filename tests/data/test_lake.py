"""The lake: writes in every mode and input kind, schema enforcement, deletes, atomicity."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from podium.data import DataLake, TableVersion
from podium.errors import InvalidInputError, NotFoundError


def _sorted(table: pa.Table, key: str = "customer_id") -> pd.DataFrame:
    return table.to_pandas().sort_values(key).reset_index(drop=True)


def test_append_dataframe_round_trip(lake: DataLake, customers: pd.DataFrame) -> None:
    result = lake.write("raw.customers", customers)
    assert result == TableVersion("raw.customers", 0, 3)
    assert result.ref == "raw.customers@0"
    second = lake.write("raw.customers", customers, mode="append")
    assert second.version == 1
    frame = _sorted(lake.read("raw.customers"))
    assert len(frame) == 6
    assert list(frame.columns) == ["customer_id", "plan", "spend"]
    assert lake.version("raw.customers") == 1
    assert lake.ref("raw.customers") == "raw.customers@1"


def test_pyarrow_table_round_trip(lake: DataLake) -> None:
    table = pa.table({"customer_id": [1, 2], "score": [0.5, 0.25]})
    lake.write("curated.scores", table)
    assert lake.read("curated.scores").sort_by("customer_id").equals(table)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl", ".json"])
def test_file_inputs(lake: DataLake, customers: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"customers{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.Table.from_pandas(customers, preserve_index=False), path)
    elif suffix == ".csv":
        customers.to_csv(path, index=False)
    else:
        customers.to_json(path, orient="records", lines=True)
    result = lake.write("raw.customers", path)
    assert result.rows_written == 3
    pd.testing.assert_frame_equal(_sorted(lake.read("raw.customers")), customers)


def test_unsupported_file_and_missing_file(lake: DataLake, tmp_path: Path) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_text("nope")
    with pytest.raises(InvalidInputError, match="not supported"):
        lake.write("raw.x", bad)
    with pytest.raises(NotFoundError):
        lake.write("raw.x", tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="got int"):
        lake.write("raw.x", 42)  # type: ignore[arg-type]


def test_schema_mismatch_lists_every_difference(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    changed = customers.drop(columns=["plan"]).assign(spend=["a", "b", "c"], region="eu")
    with pytest.raises(InvalidInputError) as caught:
        lake.write("raw.customers", changed)
    message = str(caught.value)
    assert "missing column 'plan'" in message
    assert "extra column 'region'" in message
    assert "column 'spend' type changed: table has double" in message
    assert "schema_mode='merge'" in message
    assert caught.value.field == "data"
    assert lake.version("raw.customers") == 0


def test_widening_int_is_not_a_mismatch(lake: DataLake) -> None:
    lake.write("raw.t", pa.table({"a": pa.array([1], pa.int64())}))
    lake.write("raw.t", pa.table({"a": pa.array([2], pa.int32())}))
    assert sorted(lake.read("raw.t")["a"].to_pylist()) == [1, 2]


def test_bad_write_arguments(lake: DataLake, customers: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match="keys") as caught:
        lake.write("raw.customers", customers, mode="merge")
    assert caught.value.field == "keys"
    with pytest.raises(InvalidInputError, match="mode must be one of") as caught:
        lake.write("raw.customers", customers, mode="upsert")  # type: ignore[arg-type]
    assert caught.value.field == "mode"
    lake.write("raw.customers", customers)
    with pytest.raises(InvalidInputError, match="merge keys"):
        lake.write("raw.customers", customers, mode="merge", keys=["nope"])
    with pytest.raises(InvalidInputError, match="schema_mode"):
        lake.write("raw.customers", customers, schema_mode="overwrite")


def test_partitioned_table(local_lake: DataLake, customers: pd.DataFrame, tmp_path: Path) -> None:
    lake = local_lake
    lake.write("raw.customers", customers, partition_by=["plan"])
    table_dir = tmp_path / "lake" / "projects" / "churn" / "raw" / "customers"
    assert sorted(p.name for p in table_dir.glob("plan=*")) == ["plan=basic", "plan=pro"]
    lake.write("raw.customers", customers)
    assert lake.read("raw.customers").num_rows == 6
    with pytest.raises(InvalidInputError, match="partitioned by"):
        lake.write("raw.customers", customers, partition_by=["spend"])


def test_delete(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    result = lake.delete("raw.customers", "plan = 'basic'")
    assert (result.version, result.rows_written) == (1, 2)
    assert lake.read("raw.customers")["customer_id"].to_pylist() == [2]
    with pytest.raises(InvalidInputError) as caught:
        lake.delete("raw.customers", "no_such_column = 1")
    assert caught.value.field == "where"
    with pytest.raises(NotFoundError):
        lake.delete("raw.nope", "a = 1")


@pytest.mark.parametrize("name", ["customers", "Raw.customers", "raw.1x", "raw.a.b", "../x.y", ""])
def test_bad_names(lake: DataLake, customers: pd.DataFrame, name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"\^\[a-z\]") as caught:
        lake.write(name, customers)
    assert caught.value.field == "name"


def test_read_columns(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    assert lake.read("raw.customers", columns=["plan"]).column_names == ["plan"]
    with pytest.raises(InvalidInputError, match="choose among"):
        lake.read("raw.customers", columns=["nope"])
