"""Keys, roles and tenancy: 401 without a valid key, 403 for the wrong role, 404 across projects."""

from __future__ import annotations

import httpx
import pytest

from podium.access.roles import Role
from podium.platform import Installation
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys

pytestmark = pytest.mark.anyio

PROTECTED = [
    ("GET", "/v1/whoami"),
    ("GET", "/v1/experiments"),
    ("POST", "/v1/runs"),
    ("POST", "/v1/runs/search"),
    ("GET", "/v1/runs/0123456789abcdef"),
    ("PUT", "/v1/runs/0123456789abcdef/artifacts/model.bin"),
    ("GET", "/v1/keys"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/no-such-route"),  # unknown routes do not reveal themselves either
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_no_key_is_401_problem(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={"experiment": "e"})
    body = assert_problem(response, 401, code="unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body["remedy"]


async def test_no_key_is_401_before_the_body_is_read(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 401)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer pdm_000000000000_nope",
        "Bearer not-a-podium-key",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "pdm_000000000000_nope",
    ],
)
async def test_bad_keys_are_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get("/v1/whoami", headers={"authorization": authorization})
    assert_problem(response, 401, code="unauthenticated")


async def test_right_id_with_wrong_secret_is_401(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    secret = keys.secret(project_name)
    forged = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    response = await client.get("/v1/whoami", headers={"authorization": f"Bearer {forged}"})
    assert_problem(response, 401)


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    installation.projects.ensure(project_name)
    key, secret = installation.keys.create(project_name, Role.WRITER)
    headers = {"authorization": f"Bearer {secret}"}
    assert (await client.get("/v1/whoami", headers=headers)).status_code == 200  # now cached

    installation.keys.revoke(project_name, key.id)

    assert_problem(await client.get("/v1/whoami", headers=headers), 401)
    assert_problem(await client.post("/v1/runs", json={"experiment": "e"}, headers=headers), 401)


async def test_whoami_names_the_keys_project_and_role(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    response = await client.get("/v1/whoami", headers=keys.headers(project_name, Role.READER))
    assert response.status_code == 200
    assert response.json()["project"] == project_name
    assert response.json()["role"] == "reader"


async def test_reader_reads_but_a_write_is_403(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    reader = keys.headers(project_name, Role.READER)
    run = (await client.post("/v1/runs", json={"experiment": "e"}, headers=writer)).json()

    assert (await client.get(f"/v1/runs/{run['id']}", headers=reader)).status_code == 200
    assert (await client.post("/v1/runs/search", json={}, headers=reader)).status_code == 200
    writes = [
        ("POST", "/v1/runs", {"experiment": "e"}),
        ("POST", f"/v1/runs/{run['id']}/params", {"params": {"C": "1"}}),
        ("POST", f"/v1/runs/{run['id']}/end", {"status": "FINISHED"}),
        ("POST", "/v1/experiments", {"name": "x"}),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=reader)
        problem = assert_problem(response, 403, code="permission-denied")
        assert "writer" in problem["detail"]
    upload = await client.put(f"/v1/runs/{run['id']}/artifacts/a.txt", content=b"x", headers=reader)
    assert_problem(upload, 403)
    stored = (await client.get(f"/v1/runs/{run['id']}", headers=writer)).json()
    assert stored["params"] == {} and stored["status"] == "RUNNING"


async def test_writer_writes(client: httpx.AsyncClient, keys: Keys, project_name: str) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    response = await client.post("/v1/runs", json={"experiment": "e", "name": "r1"}, headers=writer)
    assert response.status_code == 201
    run_id = response.json()["id"]
    params = await client.post(
        f"/v1/runs/{run_id}/params", json={"params": {"C": 0.5}}, headers=writer
    )
    assert params.status_code == 204
    assert (await client.get(f"/v1/runs/{run_id}", headers=writer)).json()["params"] == {"C": "0.5"}


async def test_another_projects_run_is_404_and_untouched(
    client: httpx.AsyncClient, keys: Keys, project_name: str, other_project: str
) -> None:
    mine = keys.headers(project_name, Role.ADMIN)
    theirs = keys.headers(other_project, Role.WRITER)
    run = (await client.post("/v1/runs", json={"experiment": "e"}, headers=theirs)).json()
    run_id = run["id"]
    await client.post(f"/v1/runs/{run_id}/params", json={"params": {"C": "1"}}, headers=theirs)
    await client.put(f"/v1/runs/{run_id}/artifacts/a.txt", content=b"theirs", headers=theirs)
    before = (await client.get(f"/v1/runs/{run_id}", headers=theirs)).json()

    attempts = [
        ("GET", f"/v1/runs/{run_id}", None),
        ("GET", f"/v1/runs/{run_id}/artifacts", None),
        ("GET", f"/v1/runs/{run_id}/artifacts/a.txt", None),
        ("GET", f"/v1/runs/{run_id}/metrics/m/history", None),
        ("POST", f"/v1/runs/{run_id}/params", {"params": {"C": "2", "D": "1"}}),
        ("POST", f"/v1/runs/{run_id}/tags", {"tags": {"t": "x"}}),
        (
            "POST",
            f"/v1/runs/{run_id}/metrics",
            {"metrics": [{"key": "m", "value": 1, "timestamp": 1}]},
        ),
        ("POST", f"/v1/runs/{run_id}/inputs", {"refs": ["raw.t@1"]}),
        ("POST", f"/v1/runs/{run_id}/end", {"status": "KILLED"}),
        ("POST", "/v1/runs/compare", {"run_ids": [run_id]}),
        ("POST", "/v1/runs", {"experiment": "e", "parent_run_id": run_id}),
        ("GET", f"/v1/experiments/{run['experiment_id']}", None),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=mine)
        assert_problem(response, 404, code="not-found")
        assert other_project not in response.text
    put = await client.put(f"/v1/runs/{run_id}/artifacts/a.txt", content=b"mine", headers=mine)
    assert_problem(put, 404)
    searched = await client.post("/v1/runs/search", json={}, headers=mine)
    assert searched.json()["runs"] == []

    after = (await client.get(f"/v1/runs/{run_id}", headers=theirs)).json()
    assert after == before
    art = await client.get(f"/v1/runs/{run_id}/artifacts/a.txt", headers=theirs)
    assert art.content == b"theirs"


async def test_project_header_of_another_project_is_404(
    client: httpx.AsyncClient, keys: Keys, project_name: str, other_project: str
) -> None:
    headers = keys.headers(project_name, Role.ADMIN)
    keys.headers(other_project)  # the other project exists: the answer must not tell
    for project in (other_project, "no-such-project"):
        response = await client.get("/v1/whoami", headers={**headers, "x-podium-project": project})
        body = assert_problem(response, 404, code="not-found")
        assert "does not exist or this key cannot see it" in body["detail"]
    same = await client.get("/v1/whoami", headers={**headers, "x-podium-project": project_name})
    assert same.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/keys", None),
        ("POST", "/v1/keys", {"role": "reader"}),
        ("DELETE", "/v1/keys/000000000000", None),
        ("GET", "/v1/audit", None),
        ("POST", "/v1/projects", {"name": "p"}),
    ],
)
async def test_admin_routes_are_403_for_writer(
    client: httpx.AsyncClient, keys: Keys, project_name: str, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body, headers=keys.headers(project_name))
    problem = assert_problem(response, 403, code="permission-denied")
    assert "admin" in problem["detail"]


async def test_admin_creates_and_revokes_keys(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    created = await client.post("/v1/keys", json={"role": "reader", "name": "ci"}, headers=admin)
    assert created.status_code == 201
    new = created.json()
    assert new["key"]["project"] == project_name and new["key"]["role"] == "reader"
    reader = {"authorization": f"Bearer {new['secret']}"}
    assert (await client.get("/v1/whoami", headers=reader)).json()["role"] == "reader"
    listed = (await client.get("/v1/keys", headers=admin)).json()
    assert new["key"]["id"] in {k["id"] for k in listed}
    assert all("secret" not in k and "secret_sha256" not in k for k in listed)

    revoked = await client.delete(f"/v1/keys/{new['key']['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(await client.get("/v1/whoami", headers=reader), 401)


async def test_admin_cannot_revoke_another_projects_key(
    client: httpx.AsyncClient,
    installation: Installation,
    keys: Keys,
    project_name: str,
    other_project: str,
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    installation.projects.ensure(other_project)
    theirs, secret = installation.keys.create(other_project, Role.WRITER)
    assert_problem(await client.delete(f"/v1/keys/{theirs.id}", headers=admin), 404)
    still = await client.get("/v1/whoami", headers={"authorization": f"Bearer {secret}"})
    assert still.status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
async def test_public_routes_need_no_key(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200


async def test_openapi_documents_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"].lower() == "bearer" for s in schemes.values())
    assert spec["paths"]["/v1/runs"]["post"]["security"]
    assert "security" not in spec["paths"]["/healthz"]["get"]


async def test_openapi_describes_errors_as_problems(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "422" not in str(spec["paths"])  # bad input is answered 400, never 422
    create_run = spec["paths"]["/v1/runs"]["post"]["responses"]
    for status in ("400", "401", "403", "404", "413"):
        assert "application/problem+json" in create_run[status]["content"]
    assert "Problem" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
