"""The catalog: describe, document, search and lineage, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from podium.access.projects import Project
from podium.data import DataLake
from podium.data.catalog import Catalog
from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Installation


def _lake(tmp_path: Path, project: str) -> DataLake:
    return DataLake((tmp_path / "lake" / "projects" / project).as_uri())


@pytest.fixture
def project(installation: Installation, project_name: str) -> Project:
    return installation.projects.ensure(project_name)


@pytest.fixture
def lake(tmp_path: Path, project: Project) -> DataLake:
    return _lake(tmp_path, project.name)


@pytest.fixture
def catalog(installation: Installation, lake: DataLake, project: Project) -> Catalog:
    return Catalog(installation.db, lake, project)


@pytest.fixture
def customers(lake: DataLake) -> pd.DataFrame:
    """raw.customers at version 1 (6 rows), partitioned by plan."""
    frame = pd.DataFrame(
        {"customer_id": [1, 2, 3], "plan": ["basic", "pro", "basic"], "spend": [10.0, 2.5, 7.0]}
    )
    lake.write("raw.customers", frame, partition_by=["plan"])
    lake.write("raw.customers", frame)
    return frame


def test_describe_reports_facts_from_the_lake(catalog: Catalog, customers: pd.DataFrame) -> None:
    before = datetime.now(UTC)
    described = catalog.describe("raw.customers")
    assert described.name == "raw.customers"
    assert [(c.name, c.description) for c in described.columns] == [
        ("customer_id", ""),
        ("plan", ""),
        ("spend", ""),
    ]
    assert described.columns[0].type == "int64"
    assert described.row_count == 6
    assert described.size_bytes > 0
    assert described.version == 1
    assert described.versions == 2
    assert described.partition_columns == ["plan"]
    assert described.created_at <= described.last_modified <= before
    assert described.last_modified.tzinfo is not None
    assert (described.owner, described.description, described.tags) == ("", "", [])
    assert described.upstream == described.downstream == []


def test_describe_unknown_or_bad_table(catalog: Catalog, customers: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError, match=r"raw\.customers"):  # remedy names known tables
        catalog.describe("raw.orders")
    with pytest.raises(InvalidInputError, match=r"zone\.name"):
        catalog.describe("../etc/passwd")


def test_update_owner_description_tags_and_columns(
    catalog: Catalog, customers: pd.DataFrame
) -> None:
    updated = catalog.update(
        "raw.customers",
        owner="ana",
        description="Customers of the churn study",
        tags=["churn", " pii ", "churn"],
        column_descriptions={"spend": "Monthly spend in EUR", "plan": "Subscription plan"},
    )
    assert (updated.owner, updated.description, updated.tags) == (
        "ana",
        "Customers of the churn study",
        ["churn", "pii"],
    )
    docs = {c.name: c.description for c in updated.columns}
    assert docs == {"customer_id": "", "plan": "Subscription plan", "spend": "Monthly spend in EUR"}

    again = catalog.update("raw.customers", tags=[], column_descriptions={"plan": ""})
    assert again.owner == "ana"  # untouched
    assert again.tags == []
    assert {c.name: c.description for c in again.columns}["plan"] == ""
    assert {c.name: c.description for c in again.columns}["spend"] == "Monthly spend in EUR"


def test_update_refuses_unknown_column_listing_the_columns(
    catalog: Catalog, customers: pd.DataFrame
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        catalog.update("raw.customers", column_descriptions={"spnd": "typo"})
    assert caught.value.field == "column_descriptions"
    assert "'spnd'" in caught.value.message
    assert caught.value.remedy is not None and "customer_id, plan, spend" in caught.value.remedy
    assert catalog.describe("raw.customers").columns[2].description == ""  # nothing written


def test_update_unknown_table_and_bad_values(catalog: Catalog, customers: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError):
        catalog.update("raw.orders", owner="ana")
    with pytest.raises(NotFoundError):
        catalog.update("raw.orders", column_descriptions={"x": "y"})
    with pytest.raises(InvalidInputError, match="'tags'"):
        catalog.update("raw.customers", tags="churn")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="tag"):
        catalog.update("raw.customers", tags=["ok", ""])
    with pytest.raises(InvalidInputError, match="'owner'"):
        catalog.update("raw.customers", owner="x" * 200)
    with pytest.raises(InvalidInputError, match="'description'"):
        catalog.update("raw.customers", description=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="'column_descriptions'"):
        catalog.update("raw.customers", column_descriptions=["spend"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="column 'spend'"):
        catalog.update("raw.customers", column_descriptions={"spend": 1})  # type: ignore[dict-item]


def _documented(lake: DataLake, catalog: Catalog) -> None:
    lake.write("raw.customers", pd.DataFrame({"customer_id": [1], "tenure_months": [3]}))
    lake.write("curated.orders", pd.DataFrame({"order_id": [1], "amount": [9.5]}))
    lake.write("curated.churn_labels", pd.DataFrame({"customer_id": [1], "label": [0]}))
    catalog.update("raw.customers", description="Everyone who ever signed up", tags=["Churn"])
    catalog.update("curated.orders", description="Purchases; used to predict CHURN risk")
    catalog.update("curated.orders", column_descriptions={"amount": "gross amount in EUR"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orders", [("curated.orders", ["name"])]),
        ("signed", [("raw.customers", ["description"])]),
        ("tenure", [("raw.customers", ["column"])]),
        ("EUR", [("curated.orders", ["column"])]),
        ("label", [("curated.churn_labels", ["name", "column"])]),
    ],
)
def test_search_matches_each_field(
    lake: DataLake, catalog: Catalog, text: str, expected: list[tuple[str, list[str]]]
) -> None:
    _documented(lake, catalog)
    assert [(hit.name, hit.matched) for hit in catalog.search(text)] == expected


def test_search_ranks_and_combines_words(lake: DataLake, catalog: Catalog) -> None:
    _documented(lake, catalog)
    hits = catalog.search("churn")
    assert [hit.name for hit in hits] == ["curated.churn_labels", "raw.customers", "curated.orders"]
    assert hits[1].matched == ["tag"] and hits[2].matched == ["description"]
    assert hits[0].score > hits[1].score > hits[2].score
    assert [hit.name for hit in catalog.search("churn customer_id")] == [
        "curated.churn_labels",
        "raw.customers",
    ]
    assert catalog.search("churn", limit=1)[0].name == "curated.churn_labels"
    assert catalog.search("nothing-like-this") == []


@pytest.mark.parametrize(("text", "limit"), [("", 10), ("   ", 10), ("churn", 0), ("x", True)])
def test_search_bad_input(catalog: Catalog, text: str, limit: int) -> None:
    with pytest.raises(InvalidInputError):
        catalog.search(text, limit=limit)


def test_record_lineage_is_idempotent_and_walks_both_ways(
    catalog: Catalog, customers: pd.DataFrame
) -> None:
    edge = catalog.record_lineage("job:nightly-etl", "raw.customers@1", "produced_by")
    assert (edge.source, edge.target) == ("job:nightly-etl", "table:raw.customers@1")
    catalog.record_lineage("job:nightly-etl", "table:raw.customers@1", "produced_by")
    catalog.record_lineage("raw.customers@1", "run:abc123", "read_by")
    catalog.record_lineage("run:abc123", "job:report", "produced_by")

    graph = catalog.lineage("raw.customers@1")
    ids = {node.id: node.kind for node in graph.nodes}
    assert ids == {
        "job:nightly-etl": "job",
        "table:raw.customers": "table",
        "table:raw.customers@1": "table_version",
        "run:abc123": "run",
        "job:report": "job",
    }
    assert len(graph.edges) == 4  # three recorded once each, plus version_of
    assert {node.label for node in graph.nodes if node.kind == "run"} == {"abc123"}

    shallow = catalog.lineage("run:abc123", depth=1)
    assert {node.id for node in shallow.nodes} == {
        "run:abc123",
        "job:report",
        "table:raw.customers@1",
        "table:raw.customers",
    }
    assert [node.id for node in catalog.lineage("job:report", depth=0).nodes] == ["job:report"]

    described = catalog.describe("raw.customers")
    assert described.upstream == ["job:nightly-etl"]
    assert described.downstream == ["run:abc123"]


def test_lineage_bad_nodes(catalog: Catalog, customers: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError, match="run:nope"):
        catalog.lineage("run:nope")
    with pytest.raises(NotFoundError, match="versions 0 to 1"):
        catalog.lineage("raw.customers@7")
    with pytest.raises(NotFoundError):
        catalog.lineage("raw.orders")
    with pytest.raises(InvalidInputError, match="lineage node"):
        catalog.lineage("model:churn")
    with pytest.raises(InvalidInputError, match="lineage node"):
        catalog.lineage("raw.customers@latest")
    with pytest.raises(InvalidInputError, match="'depth'"):
        catalog.lineage("raw.customers", depth=11)
    with pytest.raises(InvalidInputError, match="'kind'"):
        catalog.record_lineage("raw.customers@0", "run:x", "Read By")
    with pytest.raises(InvalidInputError, match="two different nodes"):
        catalog.record_lineage("raw.customers@0", "table:raw.customers@0", "copy_of")
    with pytest.raises(NotFoundError):
        catalog.record_lineage("raw.orders@0", "run:x", "read_by")
    # A table with no recorded lineage yet is still a node: the graph is just the table.
    assert [node.id for node in catalog.lineage("raw.customers").nodes] == ["table:raw.customers"]


def test_projects_do_not_see_each_others_catalog(
    installation: Installation, tmp_path: Path, catalog: Catalog, customers: pd.DataFrame
) -> None:
    catalog.update("raw.customers", owner="ana", description="secret", tags=["churn"])
    catalog.record_lineage("raw.customers@1", "run:a-run", "read_by")

    other = installation.projects.ensure(f"{catalog._project.name}-b")
    other_lake = _lake(tmp_path, other.name)
    other_catalog = Catalog(installation.db, other_lake, other)
    with pytest.raises(NotFoundError):
        other_catalog.describe("raw.customers")
    with pytest.raises(NotFoundError):
        other_catalog.lineage("run:a-run")
    assert other_catalog.search("churn") == []

    other_lake.write("raw.customers", pd.DataFrame({"customer_id": [1]}))
    described = other_catalog.describe("raw.customers")
    assert (described.owner, described.description, described.tags) == ("", "", [])
    assert described.downstream == []
    assert other_catalog.search("secret") == []
    assert [hit.name for hit in catalog.search("secret")] == ["raw.customers"]


def test_updates_made_embedded_are_audited_with_each_callers_name(
    installation: Installation, project_name: str, customers: pd.DataFrame
) -> None:
    # The catalog is shared per project; each caller's platform records its own name.
    ana = installation.platform(project_name, user="local:ana")
    bob = installation.platform(project_name, user="local:bob")
    ana.data.write("raw.customers", customers)
    ana.catalog.update("raw.customers", owner="ana", tags=["churn"])
    with pytest.raises(NotFoundError):
        bob.catalog.update("raw.nothing", description="x")
    bob.catalog.update("raw.customers", description="who pays")
    entries = installation.audit.list(installation.projects.get(project_name).id, limit=100)
    trail = [(e.actor, e.action, e.target, e.outcome) for e in entries[::-1]]
    assert trail == [
        ("local:ana", "catalog.update", "table:raw.customers", "ok"),
        ("local:bob", "catalog.update", "table:raw.nothing", "not-found"),
        ("local:bob", "catalog.update", "table:raw.customers", "ok"),
    ]
    assert entries[0].detail["fields"] == ["description"]
    described = ana.catalog.describe("raw.customers")
    assert (described.owner, described.description) == ("ana", "who pays")
