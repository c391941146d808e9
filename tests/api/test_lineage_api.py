"""Lineage over HTTP: ``/v1/models/REF/lineage`` and ``/v1/lineage/NODE`` walk the one
graph, from a deployment down to the raw tables and back; the SDK against a server too."""

from __future__ import annotations

import httpx
import pytest

import podium
from podium.access.roles import Role
from podium.platform import Installation
from tests.api.conftest import Keys
from tests.conftest import LiveServer
from tests.registry.conftest import lineage_chain

pytestmark = pytest.mark.anyio


async def test_model_and_catalog_lineage_reach_raw_tables_and_deployments(
    client: httpx.AsyncClient, keys: Keys, installation: Installation, project_name: str
) -> None:
    run = lineage_chain(installation.platform(project_name, user="local:test"))
    reader = keys.headers(project_name, Role.READER)

    model = await client.get("/v1/models/churn/1/lineage", headers=reader)
    assert model.status_code == 200, model.text
    ids = {node["id"] for node in model.json()["nodes"]}
    assert {"table:raw.customers@0", "table:curated.train@0", run, "deployment:churn"} <= ids

    near = await client.get("/v1/models/churn/1/lineage", params={"depth": 1}, headers=reader)
    assert "table:raw.customers@0" not in {node["id"] for node in near.json()["nodes"]}

    deployment = await client.get("/v1/lineage/deployment:churn", headers=reader)
    assert deployment.status_code == 200, deployment.text
    assert "table:raw.customers@0" in {node["id"] for node in deployment.json()["nodes"]}

    raw = await client.get("/v1/lineage/raw.customers@0", headers=reader)
    assert {"model:churn/1", "deployment:churn"} <= {node["id"] for node in raw.json()["nodes"]}

    bad = await client.get("/v1/lineage/model:churn", headers=reader)
    assert bad.status_code == 400, bad.text
    too_deep = await client.get("/v1/models/churn/1/lineage", params={"depth": 99}, headers=reader)
    assert too_deep.status_code in (400, 422), too_deep.text


def test_the_sdk_against_a_server_sees_the_same_graph(
    live_server: LiveServer, project_name: str
) -> None:
    key = live_server.key(project_name, Role.READER)
    run = lineage_chain(live_server.installation.platform(project_name, user="local:test"))
    with podium.connect(live_server.url, api_key=key, project=project_name) as remote:
        graph = remote.registry.lineage("churn/1")
        walked = remote.catalog.lineage("deployment:churn", depth=4)
    assert {run, "table:raw.customers@0", "deployment:churn"} <= {n["id"] for n in graph["nodes"]}
    assert "table:raw.customers@0" in {node.id for node in walked.nodes}
