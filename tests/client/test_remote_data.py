"""``p.data`` and ``p.catalog`` over a real socket: what they return equals the embedded ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

import podium
from podium.access.roles import Role
from podium.client.catalog import HttpCatalog
from podium.client.data import HttpData
from podium.data.catalog import Catalog
from podium.data.protocol import CatalogAPI, Data
from podium.data.service import DataService
from podium.data.types import ColumnInfo, TableVersion
from podium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from podium.platform import Installation, Platform
from tests.conftest import LiveServer


@pytest.fixture
def remote(live_server: LiveServer, project_name: str, tmp_path: Path) -> Iterator[Platform]:
    key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, home=tmp_path / "client") as platform:
        yield platform


@pytest.fixture
def embedded(installation: Installation, project_name: str) -> Platform:
    return installation.platform(project_name, user="local:test")


def frame(start: int, stop: int) -> pd.DataFrame:
    ids = range(start, stop)
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "contract": ["monthly" if i % 3 else "yearly" for i in ids],
            "monthly_charges": [20.0 + i / 4 for i in ids],
            "signed_up": [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) for i in ids],
            "churned": [i % 5 == 0 for i in ids],
        }
    )


def by_id(table: pa.Table) -> pa.Table:
    keys = ["customer_id", "_commit_version", "_change_type"]
    return table.sort_by([(k, "ascending") for k in keys if k in table.column_names])


def test_remote_services_implement_the_protocols(remote: Platform) -> None:
    # mypy checks these assignments: both implementations have the protocols' signatures.
    data_classes: list[type[Data]] = [DataService, HttpData]
    catalog_classes: list[type[CatalogAPI]] = [Catalog, HttpCatalog]
    assert isinstance(remote.data, tuple(data_classes))
    assert isinstance(remote.catalog, HttpCatalog) and HttpCatalog in catalog_classes


def test_write_read_sql_and_history_equal_embedded(
    remote: Platform, embedded: Platform, tmp_path: Path
) -> None:
    first = remote.data.write("raw.customers", frame(0, 300))
    assert first == TableVersion("raw.customers", 0, 300)
    table = pa.Table.from_pandas(frame(300, 400), preserve_index=False)
    assert remote.data.write("raw.customers", table).version == 1
    csv = tmp_path / "more.csv"  # a client-side file, uploaded by the client
    csv.write_text("customer_id,contract\n1000,weekly\n")
    appended = remote.data.write("raw.extra", csv)
    assert appended.rows_written == 1

    assert remote.data.tables() == embedded.data.tables() == ["raw.customers", "raw.extra"]
    assert remote.data.version("raw.customers") == 1
    assert remote.data.ref("raw.customers") == "raw.customers@1"
    now = remote.data.read("raw.customers")
    assert now.equals(embedded.data.read("raw.customers"))
    assert now.num_rows == 400 and now.schema == embedded.data.read("raw.customers").schema
    old = remote.data.read("raw.customers", version=0, columns=["customer_id", "signed_up"])
    assert old.equals(
        embedded.data.read("raw.customers", version=0, columns=["customer_id", "signed_up"])
    )
    assert old.num_rows == 300
    at = embedded.data.history("raw.customers")[0].timestamp + timedelta(milliseconds=1)
    assert remote.data.read("raw.customers", as_of=at).num_rows == 300

    query = (
        "SELECT contract, count(*) AS n, avg(monthly_charges) AS charges "
        "FROM raw.customers GROUP BY contract ORDER BY contract"
    )
    assert remote.data.sql(query).equals(embedded.data.sql(query))
    assert remote.data.sql("SELECT * FROM raw.customers@0").num_rows == 300
    assert remote.data.history("raw.customers") == embedded.data.history("raw.customers")
    info = remote.data.table_info("raw.customers")
    assert info == embedded.data.table_info("raw.customers")
    assert ColumnInfo("customer_id", "int64", True) in info.schema


def test_merge_delete_restore_view_and_maintenance(remote: Platform, embedded: Platform) -> None:
    remote.data.write("raw.customers", frame(0, 10))
    changed = frame(5, 15).assign(contract="two-year")
    merged = remote.data.write("raw.customers", changed, mode="merge", keys=["customer_id"])
    assert merged.version == 1 and merged.rows_written == 10
    deleted = remote.data.delete("raw.customers", "customer_id < 3")
    assert deleted == TableVersion("raw.customers", 2, 3)
    assert remote.data.restore("raw.customers", 1) == TableVersion("raw.customers", 3, 15)
    changes = remote.data.changes("raw.customers", since_version=2)
    assert by_id(changes).equals(by_id(embedded.data.changes("raw.customers", since_version=2)))

    view = remote.data.create_view(
        "curated.contracts", "SELECT contract, count(*) AS n FROM raw.customers GROUP BY contract"
    )
    assert view.ref == "curated.contracts@0"
    lines: list[str] = []
    result = remote.data.optimize("raw.customers", progress=lines.append)
    assert result.name == "raw.customers" and len(lines) == 1
    assert remote.data.vacuum("raw.customers") == []  # dry run, nothing old enough
    with pytest.raises(InvalidInputError) as guard:
        remote.data.vacuum("raw.customers", retain_hours=1)
    assert guard.value.field == "retain_hours"


def test_append_stream_commits_micro_batches(remote: Platform, embedded: Platform) -> None:
    batches = [frame(i * 10, i * 10 + 10) for i in range(5)]
    seen: list[TableVersion] = []
    committed = remote.data.append_stream("raw.events", batches, max_rows=20, on_commit=seen.append)
    assert committed == seen
    assert [c.rows_written for c in committed] == [20, 20, 10]
    assert embedded.data.read("raw.events").num_rows == 50


def test_catalog_equals_embedded(remote: Platform, embedded: Platform) -> None:
    remote.data.write("raw.customers", frame(0, 50))
    remote.data.create_view(
        "curated.churn", "SELECT contract, avg(churned::int) AS rate FROM raw.customers GROUP BY 1"
    )
    updated = remote.catalog.update(
        "raw.customers",
        owner="ana",
        description="churn customers",
        tags=["churn", "pii"],
        column_descriptions={"monthly_charges": "EUR per month"},
    )
    assert updated == embedded.catalog.describe("raw.customers")
    assert remote.catalog.describe("raw.customers") == embedded.catalog.describe("raw.customers")
    assert remote.catalog.update("raw.customers", description="kept owner").owner == "ana"
    assert remote.catalog.search("churn") == embedded.catalog.search("churn")
    assert [hit.name for hit in remote.catalog.search("churn", limit=1)] == ["curated.churn"]
    for node in ("raw.customers", "curated.churn@0", "table:raw.customers@0"):
        assert remote.catalog.lineage(node, depth=2) == embedded.catalog.lineage(node, depth=2)


def test_a_remote_run_pins_the_table_version_it_read(remote: Platform, embedded: Platform) -> None:
    remote.data.write("raw.customers", frame(0, 10))
    remote.data.write("raw.customers", frame(10, 20))
    with remote.tracking.start_run("churn", capture_env=False) as run:
        run.log_input("raw.customers")
        run.log_input("data/local.csv")  # not a lake table: kept as given
    got = remote.tracking.get_run(run.id)
    assert got.inputs == ["data/local.csv", "raw.customers@1"]
    graph = remote.catalog.lineage(f"run:{run.id}")
    assert any(e.source == "table:raw.customers@1" and e.kind == "read_by" for e in graph.edges)
    assert graph == embedded.catalog.lineage(f"run:{run.id}")


def test_remote_errors_are_the_embedded_errors(remote: Platform, embedded: Platform) -> None:
    missing: list[Callable[[Platform], object]] = [
        lambda p: p.data.read("raw.none"),
        lambda p: p.catalog.describe("raw.none"),
        lambda p: p.catalog.lineage("run:none"),
    ]
    for call in missing:
        with pytest.raises(NotFoundError):
            call(remote)
        with pytest.raises(NotFoundError):
            call(embedded)
    remote.data.write("raw.customers", frame(0, 5))
    with pytest.raises(InvalidInputError) as mismatch:
        remote.data.write("raw.customers", pd.DataFrame({"customer_id": ["x"]}))
    assert "type changed" in str(mismatch.value)
    assert mismatch.value.details["differences"]
    refused: list[Callable[[Platform], object]] = [
        lambda p: p.data.read("Not A Name"),
        lambda p: p.data.read("raw.customers", version=9),
        lambda p: p.data.sql("SELECT * FROM read_csv('/etc/passwd')"),
        lambda p: p.data.sql("SELEKT"),
        lambda p: p.catalog.search(""),
    ]
    for bad in refused:
        with pytest.raises(InvalidInputError) as remote_error:
            bad(remote)
        with pytest.raises(InvalidInputError) as embedded_error:
            bad(embedded)
        assert remote_error.value.field == embedded_error.value.field


def test_a_reader_key_reads_but_cannot_write(
    live_server: LiveServer, remote: Platform, project_name: str, tmp_path: Path
) -> None:
    remote.data.write("raw.customers", frame(0, 5))
    key = live_server.key(project_name, Role.READER)
    with podium.connect(live_server.url, api_key=key, home=tmp_path / "r") as reader:
        assert reader.data.read("raw.customers").num_rows == 5
        with pytest.raises(PermissionDeniedError):
            reader.data.write("raw.customers", frame(5, 6))


def test_another_project_sees_nothing(
    live_server: LiveServer, remote: Platform, tmp_path: Path
) -> None:
    remote.data.write("raw.customers", frame(0, 5))
    key = live_server.key("someone-else", Role.ADMIN)
    with podium.connect(live_server.url, api_key=key, home=tmp_path / "o") as other:
        assert other.data.tables() == []
        with pytest.raises(NotFoundError):
            other.data.read("raw.customers")
        with pytest.raises(InvalidInputError):
            other.data.sql("SELECT * FROM raw.customers")
        assert other.catalog.search("customers") == []
