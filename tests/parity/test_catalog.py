"""``p.catalog`` both ways: every method of the CatalogAPI protocol, the same assertions."""

from __future__ import annotations

import pandas as pd

from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Platform
from tests.parity.assertions import fails


def _customers(platform: Platform) -> None:
    rows = pd.DataFrame({"customer_id": [1, 2, 3], "plan": ["monthly", "yearly", "monthly"]})
    platform.data.write("raw.customers", rows)
    platform.data.create_view(
        "curated.monthly", "SELECT * FROM raw.customers WHERE plan = 'monthly'"
    )


def test_describe_and_update(platform: Platform) -> None:
    _customers(platform)
    described = platform.catalog.describe("raw.customers")
    assert (described.name, described.row_count, described.version) == ("raw.customers", 3, 0)
    assert [c.name for c in described.columns] == ["customer_id", "plan"]
    assert any("curated.monthly" in node for node in described.downstream)
    updated = platform.catalog.update(
        "raw.customers",
        owner="growth",
        description="churn customers",
        tags=["pii", "churn"],
        column_descriptions={"plan": "the billing plan"},
    )
    assert (updated.owner, updated.description) == ("growth", "churn customers")
    assert sorted(updated.tags) == ["churn", "pii"]
    assert {c.name: c.description for c in updated.columns}["plan"] == "the billing plan"
    assert platform.catalog.describe("raw.customers") == updated


def test_search(platform: Platform) -> None:
    _customers(platform)
    platform.catalog.update("raw.customers", description="churn customers")
    hits = platform.catalog.search("churn")
    assert [hit.name for hit in hits] == ["raw.customers"]
    assert platform.catalog.search("plan", limit=1)[0].name in {"raw.customers", "curated.monthly"}
    assert platform.catalog.search("nothing-like-this") == []


def test_lineage(platform: Platform) -> None:
    _customers(platform)
    graph = platform.catalog.lineage("table:curated.monthly")
    ids = {node.id for node in graph.nodes}
    assert any(node.startswith("table:raw.customers") for node in ids)
    assert graph.edges and not graph.truncated
    near = platform.catalog.lineage("table:curated.monthly", depth=0)
    assert not any(node.id.startswith("table:raw.customers") for node in near.nodes)


def test_bad_input_fails_the_same_way(platform: Platform) -> None:
    with fails(NotFoundError):
        platform.catalog.describe("raw.nope")
    with fails(NotFoundError):
        platform.catalog.update("raw.nope", owner="x")
    with fails(InvalidInputError):
        platform.catalog.describe("Not A Name")
    with fails(InvalidInputError):
        platform.catalog.search("churn", limit=0)
    with fails(InvalidInputError):
        platform.catalog.lineage("table:raw.customers", depth=-1)
