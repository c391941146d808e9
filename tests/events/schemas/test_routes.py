"""``/v1/schemas`` in process: every route, problem+json for bad and incompatible schemas,
roles and tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from podium.access.roles import Role
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys

pytestmark = pytest.mark.anyio

V1: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "tenure": {"type": "integer"}},
    "required": ["id"],
    "additionalProperties": False,
}
V2 = {**V1, "properties": {**V1["properties"], "spend": {"type": "number"}}}
BREAKING = {**V1, "required": ["id", "tenure"]}
BASE = "/v1/schemas/subjects"


async def test_register_read_check_validate_and_delete(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    made = await client.post(f"{BASE}/churn-in/versions", json={"schema": V1}, headers=admin)
    assert made.status_code == 200, made.text
    assert made.json()["version"] == 1 and made.json()["json_schema"] == V1
    again = await client.post(f"{BASE}/churn-in/versions", json={"schema": V1}, headers=admin)
    assert again.json()["version"] == 1
    two = await client.post(
        f"{BASE}/churn-in/versions", json={"schema": V2, "compatibility": "backward"}, headers=admin
    )
    assert two.json()["version"] == 2
    listed = (await client.get(BASE, headers=admin)).json()
    assert [(s["name"], s["latest_version"]) for s in listed] == [("churn-in", 2)]
    assert (await client.get(f"{BASE}/churn-in", headers=admin)).json()["versions"] == 2
    versions = (await client.get(f"{BASE}/churn-in/versions", headers=admin)).json()
    assert [v["version"] for v in versions] == [1, 2]
    latest = await client.get(f"{BASE}/churn-in/versions/latest", headers=admin)
    assert latest.json()["version"] == 2
    one = await client.get(f"{BASE}/churn-in/versions/1", headers=admin)
    assert one.json()["json_schema"] == V1
    checked = await client.post(f"{BASE}/churn-in/check", json={"schema": BREAKING}, headers=admin)
    assert checked.status_code == 200 and checked.json()["compatible"] is False
    valid = await client.post(
        f"{BASE}/churn-in/validate", json={"document": {"id": "e1", "spend": 2.0}}, headers=admin
    )
    assert valid.json() == {"subject": "churn-in", "version": 2}
    mode = await client.put(
        f"{BASE}/churn-in/compatibility", json={"compatibility": "full"}, headers=admin
    )
    assert mode.json()["compatibility"] == "full"
    gone = await client.delete(f"{BASE}/churn-in", headers=admin)
    assert gone.status_code == 204
    assert_problem(await client.get(f"{BASE}/churn-in", headers=admin), 404, code="not-found")


async def test_an_incompatible_schema_is_a_409_naming_the_field(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    await client.post(f"{BASE}/churn-in/versions", json={"schema": V1}, headers=writer)
    refused = await client.post(
        f"{BASE}/churn-in/versions", json={"schema": BREAKING}, headers=writer
    )
    body = assert_problem(refused, 409, code="incompatible-schema")
    assert "field 'tenure' became required" in body["detail"]
    assert body["problems"] == [
        "backward incompatible with version 1: field 'tenure' became required"
    ]
    assert "compatib" in body["remedy"]


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "strin"}, "schema.type"),
        ("not a schema", "schema"),
        ({"$ref": "https://example.com/x.json"}, "schema"),
    ],
)
async def test_a_bad_schema_is_a_400_with_a_remedy(
    client: httpx.AsyncClient, keys: Keys, project_name: str, schema: Any, where: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    bad = await client.post(f"{BASE}/churn-in/versions", json={"schema": schema}, headers=writer)
    body = assert_problem(bad, 400, code="invalid-schema")
    assert body["field"] == where and "JSON Schema" in body["remedy"]
    assert (await client.get(BASE, headers=writer)).json() == []


async def test_bad_requests_are_400s(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    await client.post(f"{BASE}/churn-in/versions", json={"schema": V1}, headers=writer)
    failed = await client.post(
        f"{BASE}/churn-in/validate", json={"document": {"tenure": "x"}}, headers=writer
    )
    body = assert_problem(failed, 400, code="schema-violation")
    assert body["field"] == "$" and len(body["errors"]) == 2
    assert_problem(await client.get(f"{BASE}/churn-in/versions/zero", headers=writer), 400)
    assert_problem(await client.get(f"{BASE}/churn-in/versions/9", headers=writer), 404)
    assert_problem(
        await client.post(f"{BASE}/x/versions", json={"schema": V1, "extra": 1}, headers=writer),
        400,
    )
    bad_mode = await client.post(
        f"{BASE}/y/versions", json={"schema": V1, "compatibility": "sideways"}, headers=writer
    )
    assert_problem(bad_mode, 400)


async def test_roles_and_tenancy(
    client: httpx.AsyncClient, keys: Keys, project_name: str, other_project: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    reader = keys.headers(project_name, Role.READER)
    await client.post(f"{BASE}/churn-in/versions", json={"schema": V1}, headers=writer)
    assert (await client.get(f"{BASE}/churn-in/versions/1", headers=reader)).status_code == 200
    refused = await client.post(f"{BASE}/churn-in/versions", json={"schema": V2}, headers=reader)
    assert_problem(refused, 403)
    assert_problem(await client.delete(f"{BASE}/churn-in", headers=writer), 403)
    mode = await client.put(
        f"{BASE}/churn-in/compatibility", json={"compatibility": "none"}, headers=writer
    )
    assert_problem(mode, 403)
    stranger = keys.headers(other_project, Role.ADMIN)
    assert_problem(await client.get(f"{BASE}/churn-in", headers=stranger), 404)
    assert_problem(await client.get(BASE), 401)
