"""Lineage is one graph: from a deployment down to the raw tables, and back up.

Before, a version's lineage stopped at the table its run read, and the catalog's walk
from a raw table stopped at the runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from podium.data.catalog import LineageGraph
from podium.errors import InvalidInputError
from podium.platform import Platform
from podium.registry.types import ModelLineage, ModelVersionNode
from tests.registry.conftest import lineage_chain


@pytest.fixture
def chain(platform: Platform) -> str:
    return lineage_chain(platform)


def _edges(graph: dict[str, Any] | LineageGraph) -> set[tuple[str, str, str]]:
    if isinstance(graph, LineageGraph):
        return {(e.source, e.target, e.kind) for e in graph.edges}
    return {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}


def test_a_version_reaches_its_raw_tables_and_its_deployment(
    platform: Platform, chain: str
) -> None:
    graph = platform.registry.lineage("churn/1")
    edges = _edges(graph)
    assert {
        ("table:raw.customers@0", "table:curated.train@0", "derived_from"),
        ("table:curated.train@0", chain, "read_by"),
        (chain, "model:churn/1", "produced"),
        ("model:churn/1", "model:churn/2", "derived_from"),
        ("model:churn/1", "deployment:churn", "stable_in"),
    } <= edges
    kinds = {node["id"]: node["kind"] for node in graph["nodes"]}
    assert kinds["deployment:churn"] == "deployment"
    assert kinds["table:raw.customers@0"] == "table_version"
    described = {node["id"]: node for node in graph["nodes"]}
    assert described["model:churn/2"]["flavor"] == "sklearn"  # versions keep their details
    assert graph["truncated"] is False


def test_the_graph_is_typed_and_still_reads_as_the_dict_it_was(
    platform: Platform, chain: str
) -> None:
    graph = platform.registry.lineage("churn/1")
    assert isinstance(graph, ModelLineage) and isinstance(graph, LineageGraph)
    described = {node.id: node for node in graph.nodes}
    root = described["model:churn/1"]
    assert isinstance(root, ModelVersionNode) and root.flavor == "sklearn"
    assert not isinstance(described["deployment:churn"], ModelVersionNode)
    assert "stage" in root and "stage" not in described["deployment:churn"]
    assert graph["root"] == "model:churn/1" and graph.get("truncated") is False
    assert {"source": chain, "target": "model:churn/1", "kind": "produced"} in graph["edges"]
    assert ModelLineage.model_validate_json(graph.model_dump_json()) == graph
    with pytest.raises(KeyError):
        graph["missing"]


def test_the_catalog_walks_the_same_graph_both_ways(platform: Platform, chain: str) -> None:
    down = platform.catalog.lineage("raw.customers@0")
    assert {"model:churn/1", "model:churn/2", "deployment:churn", chain} <= {
        n.id for n in down.nodes
    }
    up = platform.catalog.lineage("deployment:churn")
    assert {"table:raw.customers@0", "table:curated.train@0", chain, "model:churn/1"} <= {
        n.id for n in up.nodes
    }
    assert "model:churn/2" not in {n.id for n in up.nodes}  # a sibling, not an ancestor
    model = platform.catalog.lineage("model:churn/1")
    assert {n.kind for n in model.nodes} >= {"model_version", "run", "deployment", "table"}


def test_depth_limits_the_walk_each_way(platform: Platform, chain: str) -> None:
    near = platform.registry.lineage("churn/1", depth=1)
    ids = {node["id"] for node in near["nodes"]}
    assert {chain, "model:churn/2", "deployment:churn"} <= ids
    assert "table:curated.train@0" not in ids and "table:raw.customers@0" not in ids
    with pytest.raises(InvalidInputError, match="'depth'"):
        platform.registry.lineage("churn/1", depth=11)


def test_a_removed_deployment_leaves_the_graph(platform: Platform, chain: str) -> None:
    platform.deployments.delete("churn")
    ids = {node["id"] for node in platform.registry.lineage("churn/1")["nodes"]}
    assert "deployment:churn" not in ids and "table:raw.customers@0" in ids


def test_cycles_end_the_walk(platform: Platform) -> None:
    platform.catalog.record_lineage("job:a", "job:b", "feeds")
    platform.catalog.record_lineage("job:b", "job:a", "feeds")
    graph = platform.catalog.lineage("job:a")
    assert {n.id for n in graph.nodes} == {"job:a", "job:b"}
    assert _edges(graph) == {("job:a", "job:b", "feeds"), ("job:b", "job:a", "feeds")}


def test_model_and_deployment_nodes_are_checked(platform: Platform) -> None:
    for bad in ("model:churn", "model:churn@production", "model:Churn/1", "deployment:"):
        with pytest.raises(InvalidInputError, match="lineage node"):
            platform.catalog.lineage(bad)
