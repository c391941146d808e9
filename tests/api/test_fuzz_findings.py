"""What the schemathesis run found, each pinned by a plain test (docs/adr/0037-api-fuzzing.md)."""

from __future__ import annotations

import httpx
import pytest

from podium.access.roles import Role
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys

pytestmark = pytest.mark.anyio


async def test_a_405_lists_every_method_of_the_resource(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    headers = keys.headers(project_name, Role.ADMIN)
    response = await client.request("TRACE", "/v1/deployments/churn", headers=headers)
    assert_problem(response, 405)
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed


async def test_a_model_version_past_the_database_integer_is_400_not_500(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    headers = keys.headers(project_name, Role.WRITER)
    path = f"/v1/monitoring/contracts/churn/{2**100}"
    response = await client.put(path, json={}, headers=headers)
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/features/materialize", {"incremental": "yes"}, "incremental"),
        ("/v1/features/materialize", {"start": 12}, "start"),
        ("/v1/monitoring/alerts/evaluate", {"now": 12}, "now"),
    ],
)
async def test_values_of_the_wrong_type_are_400(
    client: httpx.AsyncClient, keys: Keys, project_name: str, path: str, body: dict, field: str
) -> None:
    headers = keys.headers(project_name, Role.WRITER)
    problem = assert_problem(await client.post(path, json=body, headers=headers), 400)
    assert field in problem["detail"] + str(problem.get("field"))


async def test_openapi_declares_the_key_on_every_guarded_operation(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    public = {"/healthz", "/readyz"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in public or path.startswith("/v2/health") or path == "/v2":
                continue
            assert operation.get("security"), f"{method.upper()} {path} does not declare the key"
            assert "401" in operation["responses"], f"{method.upper()} {path}"
    assert spec["paths"]["/v1/predictions"]["post"]["security"] == [{"HTTPBearer": []}]
