"""DataService: lake writes kept in the catalog, views with lineage, inputs of runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from podium.access.projects import Project
from podium.data import DataLake
from podium.data.catalog import Catalog
from podium.data.service import DataService, query_inputs
from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Installation


@pytest.fixture
def project(installation: Installation, project_name: str) -> Project:
    return installation.projects.ensure(project_name)


@pytest.fixture
def lake(tmp_path: Path, project: Project) -> DataLake:
    return DataLake((tmp_path / "lake" / "projects" / project.name).as_uri())


@pytest.fixture
def catalog(installation: Installation, lake: DataLake, project: Project) -> Catalog:
    return Catalog(installation.db, lake, project)


@pytest.fixture
def data(lake: DataLake, catalog: Catalog) -> DataService:
    return DataService(lake, catalog, actor="local:ana")


CUSTOMERS = pd.DataFrame({"customer_id": [1, 2, 3], "plan": ["basic", "pro", "basic"]})
ORDERS = pd.DataFrame({"customer_id": [1, 1, 3], "amount": [5.0, 7.5, 2.0]})


def test_first_write_creates_the_entry_owned_by_the_writer(
    data: DataService, lake: DataLake, catalog: Catalog
) -> None:
    assert data.write("raw.customers", CUSTOMERS).version == 0
    DataService(lake, catalog, actor="local:bo").write("raw.customers", CUSTOMERS)
    data.delete("raw.customers", "customer_id = 1")
    described = catalog.describe("raw.customers")
    assert described.owner == "local:ana"
    assert described.version == 2 and described.versions == 3
    graph = catalog.lineage("raw.customers")
    versions = sorted((e.target, e.kind) for e in graph.edges)
    assert versions == [(f"table:raw.customers@{v}", "version_of") for v in (0, 1, 2)]


def test_delegates_reads_to_the_lake(data: DataService) -> None:
    data.write("raw.customers", CUSTOMERS)
    data.write("raw.customers", CUSTOMERS)
    assert data.tables() == ["raw.customers"]
    assert data.version("raw.customers") == 1
    assert data.ref("raw.customers") == "raw.customers@1"
    assert data.read("raw.customers", version=0).num_rows == 3
    assert data.read("raw.customers", columns=["plan"]).column_names == ["plan"]
    assert [entry.version for entry in data.history("raw.customers")] == [0, 1]
    assert data.sql("SELECT count(*) AS n FROM raw.customers").to_pylist() == [{"n": 6}]
    assert data.lake.version("raw.customers") == 1


def test_restore_records_where_the_content_came_from(data: DataService, catalog: Catalog) -> None:
    data.write("raw.customers", CUSTOMERS)
    data.write("raw.customers", CUSTOMERS)
    restored = data.restore("raw.customers", 0)
    assert restored.version == 2
    edges = {(e.source, e.target, e.kind) for e in catalog.lineage("raw.customers@2").edges}
    assert ("table:raw.customers@0", "table:raw.customers@2", "restored_from") in edges


def test_create_view_records_lineage_to_exact_input_versions(
    data: DataService, catalog: Catalog
) -> None:
    data.write("raw.customers", CUSTOMERS)
    data.write("raw.orders", ORDERS)
    data.write("raw.orders", ORDERS)
    view = data.create_view(
        "curated.spend",
        "SELECT c.customer_id, c.plan, sum(o.amount) AS spend "
        "FROM raw.customers c JOIN raw.orders@0 o USING (customer_id) "
        "WHERE c.plan <> 'raw.ignored' GROUP BY ALL ORDER BY 1",
    )
    assert view.ref == "curated.spend@0"
    assert data.read("curated.spend").to_pydict()["spend"] == [12.5, 2.0]
    reader = data.record_run_input("0f3a9c", "curated.spend")
    assert reader == "curated.spend@0"

    graph = catalog.lineage("run:0f3a9c")
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("table:raw.customers@0", "table:curated.spend@0", "derived_from") in edges
    assert ("table:raw.orders@0", "table:curated.spend@0", "derived_from") in edges
    assert ("table:curated.spend@0", "run:0f3a9c", "read_by") in edges
    assert ("table:raw.orders@1", "table:curated.spend@0", "derived_from") not in edges

    described = catalog.describe("curated.spend")
    assert described.owner == "local:ana"
    assert described.upstream == ["table:raw.customers@0", "table:raw.orders@0"]
    assert described.downstream == ["run:0f3a9c"]
    assert catalog.describe("raw.orders").downstream == ["table:curated.spend@0"]


def test_create_view_overwrite_replaces_schema_and_append_adds(
    data: DataService, catalog: Catalog
) -> None:
    data.write("raw.customers", CUSTOMERS)
    data.create_view("curated.plans", "SELECT DISTINCT plan FROM raw.customers ORDER BY plan")
    replaced = data.create_view(
        "curated.plans", "SELECT plan, count(*) AS n FROM raw.customers GROUP BY plan"
    )
    assert replaced.version == 1
    assert data.read("curated.plans").column_names == ["plan", "n"]
    appended = data.create_view(
        "curated.plans", "SELECT 'gold' AS plan, 0::BIGINT AS n", mode="append"
    )
    assert appended.version == 2 and data.read("curated.plans").num_rows == 3
    assert catalog.describe("curated.plans").upstream == ["table:raw.customers@0"]


def test_create_view_bad_input(data: DataService) -> None:
    data.write("raw.customers", CUSTOMERS)
    with pytest.raises(InvalidInputError, match="'mode'"):
        data.create_view("curated.x", "SELECT 1", mode="merge")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        data.create_view("curated.x", "SELEC plan FROM raw.customers")
    with pytest.raises(InvalidInputError):
        data.create_view("curated.x", "SELECT * FROM raw.nothing")
    with pytest.raises(InvalidInputError, match=r"zone\.name"):
        data.create_view("x", "SELECT 1")
    assert data.tables() == ["raw.customers"]  # nothing half-made


def test_resolve_input(data: DataService) -> None:
    data.write("raw.customers", CUSTOMERS)
    data.write("raw.customers", CUSTOMERS)
    assert data.resolve_input("raw.customers") == "raw.customers@1"
    assert data.resolve_input("raw.customers@0") == "raw.customers@0"
    assert data.resolve_input("table:raw.customers@1") == "raw.customers@1"
    with pytest.raises(NotFoundError, match="versions 0 to 1"):
        data.resolve_input("raw.customers@2")
    with pytest.raises(NotFoundError):
        data.resolve_input("raw.orders")
    with pytest.raises(InvalidInputError):
        data.resolve_input("raw.customers@latest")
    with pytest.raises(InvalidInputError, match="table reference"):
        data.resolve_input("run:abc")
    with pytest.raises(NotFoundError):
        data.record_run_input("r1", "raw.orders")


def test_writes_of_one_project_stay_out_of_anothers_catalog(
    installation: Installation, tmp_path: Path, data: DataService, project: Project
) -> None:
    data.create_view("curated.one", "SELECT 1 AS x")
    data.record_run_input("r1", "curated.one")
    other = installation.projects.ensure(f"{project.name}-b")
    other_lake = DataLake((tmp_path / "lake" / "projects" / other.name).as_uri())
    other_catalog = Catalog(installation.db, other_lake, other)
    with pytest.raises(NotFoundError):
        other_catalog.lineage("run:r1")
    with pytest.raises(NotFoundError):
        DataService(other_lake, other_catalog, actor="b").resolve_input("curated.one")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM raw.a", [("raw.a", None)]),
        ("SELECT * FROM RAW.A JOIN raw.b@3 USING (id)", [("raw.a", None), ("raw.b", 3)]),
        ('SELECT * FROM "raw"."a"', [("raw.a", None)]),
        ("SELECT raw.a.id FROM raw.a", [("raw.a", None)]),
        ("SELECT 'raw.a' AS s -- raw.b\n FROM raw.c /* raw.b */", [("raw.c", None)]),
        ("SELECT x.raw.a FROM t.x", []),
        ("SELECT * FROM raw.ab", []),
    ],
)
def test_query_inputs(query: str, expected: list[tuple[str, int | None]]) -> None:
    assert query_inputs(query, ["raw.a", "raw.b", "raw.c"]) == expected


def test_streaming_and_maintenance_commits_are_recorded(
    data: DataService, catalog: Catalog
) -> None:
    seen: list[int] = []
    committed = data.append_stream(
        "raw.events",
        [pd.DataFrame({"id": [i], "v": [float(i)]}) for i in range(5)],
        max_rows=2,
        on_commit=lambda version: seen.append(version.version),
    )
    assert [v.version for v in committed] == seen == [0, 1, 2]
    optimized = data.optimize("raw.events")
    assert isinstance(data.vacuum("raw.events"), list)  # a dry run lists, deletes nothing
    described = catalog.describe("raw.events")
    assert described.owner == "local:ana" and described.row_count == 5
    assert data.table_info("raw.events").row_count == 5
    version_nodes = {
        e.target for e in catalog.lineage("raw.events").edges if e.kind == "version_of"
    }
    assert {f"table:raw.events@{v}" for v in (0, 1, 2, optimized.version)} <= version_nodes
    assert data.changes("raw.events", since_version=1).num_rows == 3
