"""Time travel by version and by time, the commit history, and restore."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from deltalake import DeltaTable

from podium.data import DataLake
from podium.data.history import read_commits
from podium.errors import InvalidInputError


def _three_versions(lake: DataLake, customers: pd.DataFrame) -> list[datetime]:
    """Versions 0 (3 rows), 1 (6 rows), 2 (one row deleted); the time after each commit."""
    moments = []
    lake.write("raw.customers", customers)
    time.sleep(0.01)
    moments.append(datetime.now(UTC))
    time.sleep(0.01)
    lake.write("raw.customers", customers)
    time.sleep(0.01)
    moments.append(datetime.now(UTC))
    time.sleep(0.01)
    lake.delete("raw.customers", "customer_id = 1")
    moments.append(datetime.now(UTC))
    return moments


@pytest.mark.parametrize("version", [3, -1, 99])
def test_bad_version_names_latest(lake: DataLake, customers: pd.DataFrame, version: int) -> None:
    _three_versions(lake, customers)
    with pytest.raises(InvalidInputError, match="versions 0 to 2") as caught:
        lake.read("raw.customers", version=version)
    assert caught.value.field == "version"


def test_read_as_of(lake: DataLake, customers: pd.DataFrame) -> None:
    after_v0, after_v1, after_v2 = _three_versions(lake, customers)
    assert lake.read("raw.customers", as_of=after_v0).num_rows == 3
    assert lake.read("raw.customers", as_of=after_v1).num_rows == 6
    assert lake.read("raw.customers", as_of=after_v2).num_rows == 4
    naive_utc = after_v0.replace(tzinfo=None)
    assert lake.read("raw.customers", as_of=naive_utc).num_rows == 3


def test_as_of_before_first_version(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers)
    with pytest.raises(InvalidInputError, match="did not exist yet") as caught:
        lake.read("raw.customers", as_of=datetime.now(UTC) - timedelta(days=1))
    assert caught.value.field == "as_of"
    with pytest.raises(InvalidInputError, match="either version or as_of"):
        lake.read("raw.customers", version=0, as_of=datetime.now(UTC))


def test_restore(lake: DataLake, customers: pd.DataFrame) -> None:
    _three_versions(lake, customers)
    result = lake.restore("raw.customers", 0)
    assert (result.version, result.rows_written) == (3, 3)
    assert lake.read("raw.customers").num_rows == 3
    assert lake.history("raw.customers")[-1].operation == "RESTORE"
    assert lake.read("raw.customers", version=2).num_rows == 4
    assert lake.restore("raw.customers", 3).version == 3
    with pytest.raises(InvalidInputError, match="versions 0 to 3"):
        lake.restore("raw.customers", 4)


def test_history_records_who(lake: DataLake, customers: pd.DataFrame) -> None:
    lake.write("raw.customers", customers, actor="alice")
    lake.write("raw.customers", customers, mode="merge", keys=["customer_id"], actor="bob")
    lake.delete("raw.customers", "customer_id = 1", actor="carol")
    lake.write("raw.customers", customers)
    lake.restore("raw.customers", 0, actor="dan")
    lake.write("raw.customers", customers, mode="overwrite", actor="erin")
    actors = [(e.operation, e.actor) for e in lake.history("raw.customers")]
    assert actors == [
        ("WRITE", "alice"),
        ("MERGE", "bob"),
        ("DELETE", "carol"),
        ("WRITE", None),
        ("RESTORE", "dan"),
        ("WRITE", "erin"),
    ]


@pytest.mark.parametrize("actor", ["", "  ", 7])
def test_bad_actor_commits_nothing(
    local_lake: DataLake, customers: pd.DataFrame, actor: object
) -> None:
    with pytest.raises(InvalidInputError, match="actor must be") as caught:
        local_lake.write("raw.customers", customers, actor=actor)  # type: ignore[arg-type]
    assert caught.value.field == "actor"
    assert local_lake.tables() == []
    local_lake.write("raw.customers", customers)
    with pytest.raises(InvalidInputError, match="actor must be"):
        local_lake.delete("raw.customers", "customer_id = 1", actor=actor)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="actor must be"):
        local_lake.restore("raw.customers", 0, actor=actor)  # type: ignore[arg-type]
    assert local_lake.version("raw.customers") == 0


def test_history_numbers_commits_of_a_stale_table_right(
    local_lake: DataLake, customers: pd.DataFrame
) -> None:
    """delta-rs numbers history down from the loaded version; a writer got version -1."""
    local_lake.write("raw.customers", customers)
    root = local_lake.root_url
    stale = DeltaTable(f"{root}/raw/customers")
    local_lake.write("raw.customers", customers)
    assert [c["version"] for c in stale.history()] == [0, -1], "the delta-rs bug is fixed?"
    assert [c["version"] for c in read_commits(stale)] == [1, 0]


def test_history_rereads_when_a_commit_lands_during_the_read(
    local_lake: DataLake, customers: pd.DataFrame
) -> None:
    local_lake.write("raw.customers", customers)
    target = DeltaTable(f"{local_lake.root_url}/raw/customers")
    read_history = target.history
    calls = []

    def history_racing_a_writer(limit: int | None = None) -> list[dict[str, object]]:
        commits = read_history(limit)
        if not calls:
            local_lake.write("raw.customers", customers)  # lands after the table was loaded
            commits = read_history(limit)
        calls.append(limit)
        return commits

    target.history = history_racing_a_writer  # type: ignore[method-assign]
    assert [c["version"] for c in read_commits(target)] == [1, 0]
    assert len(calls) == 2
