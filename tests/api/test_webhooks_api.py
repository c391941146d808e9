"""``/v1/webhooks`` in process: admins only, the secret shown once, tenancy."""

from __future__ import annotations

import httpx
import pytest

from podium.access.roles import Role
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys

pytestmark = pytest.mark.anyio


async def test_webhook_crud(client: httpx.AsyncClient, keys: Keys, project_name: str) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    made = await client.post(
        "/v1/webhooks",
        json={"url": "https://ci.example.com/hook", "event_types": ["model.stage_changed"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    webhook_id = made.json()["webhook"]["id"]
    assert secret.startswith("whsec_")
    listed = await client.get("/v1/webhooks", headers=admin)
    assert [w["id"] for w in listed.json()] == [webhook_id]
    assert secret not in listed.text and "secret" not in listed.json()[0]
    deliveries = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=admin)
    assert deliveries.status_code == 200 and deliveries.json() == []
    gone = await client.delete(f"/v1/webhooks/{webhook_id}", headers=admin)
    assert gone.status_code == 204
    assert (await client.get("/v1/webhooks", headers=admin)).json() == []
    assert_problem(await client.delete(f"/v1/webhooks/{webhook_id}", headers=admin), 404)


async def test_webhooks_are_for_admins_only(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    for role in (Role.READER, Role.WRITER):
        headers = keys.headers(project_name, role)
        assert_problem(await client.get("/v1/webhooks", headers=headers), 403)
        made = await client.post(
            "/v1/webhooks", json={"url": "https://ci.example.com/hook"}, headers=headers
        )
        assert_problem(made, 403)


async def test_bad_url_and_other_project(
    client: httpx.AsyncClient, keys: Keys, project_name: str, other_project: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    bad = await client.post("/v1/webhooks", json={"url": "ftp://x"}, headers=admin)
    assert_problem(bad, 400)
    made = await client.post(
        "/v1/webhooks", json={"url": "https://ci.example.com/h"}, headers=admin
    )
    webhook_id = made.json()["webhook"]["id"]
    stranger = keys.headers(other_project, Role.ADMIN)
    assert_problem(await client.delete(f"/v1/webhooks/{webhook_id}", headers=stranger), 404)
    path = f"/v1/webhooks/{webhook_id}/deliveries"
    assert_problem(await client.get(path, headers=stranger), 404)


async def test_event_types_and_unknown_ones(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    listed = await client.get("/v1/webhooks/event-types", headers=admin)
    assert listed.status_code == 200
    offered = {t["type"] for t in listed.json()}
    assert {"alert.fired", "deployment.updated", "features.materialized"} <= offered
    bad = await client.post(
        "/v1/webhooks",
        json={"url": "https://ci.example.com/hook", "event_types": ["alert.exploded"]},
        headers=admin,
    )
    assert_problem(bad, 400)
    assert bad.json()["field"] == "event_types" and "alert.fired" in bad.json()["detail"]


async def test_deliveries_of_every_webhook_and_test_of_a_missing_one(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    everything = await client.get("/v1/webhooks/deliveries", params={"limit": 5}, headers=admin)
    assert everything.status_code == 200 and everything.json() == []
    assert_problem(await client.post("/v1/webhooks/nope/test", headers=admin), 404)
    reader = keys.headers(project_name, Role.READER)
    assert_problem(await client.get("/v1/webhooks/event-types", headers=reader), 403)
