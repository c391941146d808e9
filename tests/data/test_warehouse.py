"""Warehouse SQL: joins and aggregates over lake tables, read-only, sealed from files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from podium.data import DataLake
from podium.errors import InvalidInputError


@pytest.fixture
def filled(lake: DataLake, customers: pd.DataFrame) -> DataLake:
    lake.write("raw.customers", customers)
    orders = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3], "amount": [1.0, 2, 3, 4, 5, 6]})
    lake.write("curated.orders", orders)
    return lake


def test_join_and_group_by(filled: DataLake) -> None:
    result = filled.sql(
        """
        SELECT c.plan, count(*) AS orders, sum(o.amount) AS total
        FROM raw.customers AS c JOIN curated.orders AS o USING (customer_id)
        GROUP BY c.plan ORDER BY c.plan
        """
    )
    assert result.to_pylist() == [
        {"plan": "basic", "orders": 5, "total": 18.0},
        {"plan": "pro", "orders": 1, "total": 3.0},
    ]


def test_sql_sees_current_version(filled: DataLake, customers: pd.DataFrame) -> None:
    filled.write("raw.customers", customers)
    assert filled.sql("SELECT count(*) AS n FROM raw.customers").to_pylist() == [{"n": 6}]


def test_sql_on_empty_lake(lake: DataLake) -> None:
    assert lake.sql("SELECT 42 AS answer").to_pylist() == [{"answer": 42}]


def test_bad_sql_carries_duckdb_message(filled: DataLake) -> None:
    with pytest.raises(InvalidInputError, match="syntax error") as caught:
        filled.sql("SELEC 1")
    assert caught.value.field == "query"
    with pytest.raises(InvalidInputError, match="nope does not exist") as caught:
        filled.sql("SELECT * FROM raw.nope")
    assert "curated.orders, raw.customers" in str(caught.value)
    with pytest.raises(InvalidInputError, match="non-empty"):
        filled.sql("   ")


@pytest.mark.parametrize(
    "query",
    [
        "CREATE TABLE raw.x AS SELECT 1",
        "INSERT INTO raw.customers VALUES (9, 'x', 1.0)",
        "DELETE FROM raw.customers",
        "DROP VIEW raw.customers",
        "SET enable_external_access = true",
        "SELECT 1; SELECT 2",
        "PRAGMA version",
    ],
)
def test_only_one_read_statement(filled: DataLake, query: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        filled.sql(query)
    assert caught.value.field == "query"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('{lake}/raw/customers/*.parquet')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
        "COPY (SELECT 1) TO '{tmp}/out.csv'",
        "ATTACH '{tmp}/x.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "WITH t AS (SELECT * FROM read_json('/etc/os-release')) SELECT * FROM t",
    ],
)
def test_sql_cannot_touch_files_or_network(filled: DataLake, tmp_path: Path, query: str) -> None:
    lake_dir = tmp_path / "lake" / "projects" / "churn"
    with pytest.raises(InvalidInputError) as caught:
        filled.sql(query.format(lake=lake_dir, tmp=tmp_path))
    assert caught.value.field == "query"
    assert not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "x.db").exists()


def test_past_version_by_at_syntax(filled: DataLake) -> None:
    filled.delete("raw.customers", "customer_id = 1")
    result = filled.sql(
        "SELECT (SELECT count(*) FROM raw.customers@0) AS then, "
        "(SELECT count(*) FROM raw.customers) AS now, 'raw.customers@0' AS literal"
    )
    assert result.to_pylist() == [{"then": 3, "now": 2, "literal": "raw.customers@0"}]


def test_bad_version_in_sql(filled: DataLake) -> None:
    with pytest.raises(InvalidInputError, match="versions 0 to 0"):
        filled.sql("SELECT * FROM raw.customers@7")
