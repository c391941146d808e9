"""``/v1/models`` and ``/v1/transition-requests`` in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.registry.flavors import flavor_for
from podium.registry.refs import MODEL_NAME_PATTERN
from podium.registry.signature import infer_signature
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys

pytestmark = pytest.mark.anyio

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.9, 0.8]])
Y = np.array([0, 1, 0, 1])


def _upload() -> tuple[bytes, dict[str, str]]:
    model = LogisticRegression().fit(X, Y)
    params = {
        "flavor": "sklearn",
        "signature": infer_signature(X, model.predict(X)).model_dump_json(),
        "description": "first",
        "tags": json.dumps({"team": "growth"}),
    }
    return flavor_for(model).save(model), params


async def _register(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> int:
    data, params = _upload()
    answer = await client.post(
        f"/v1/models/{name}/versions", content=data, params=params, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["version"])


async def test_register_list_get_and_download(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    assert await _register(client, writer, "churn") == 1
    assert await _register(client, writer, "churn") == 2
    models = (await client.get("/v1/models", headers=writer)).json()
    assert [m["name"] for m in models] == ["churn"]
    model = (await client.get("/v1/models/churn", headers=writer)).json()
    assert model["latest_version"] == 2
    versions = (await client.get("/v1/models/churn/versions", headers=writer)).json()
    assert [v["version"] for v in versions] == [1, 2]
    one = (await client.get("/v1/models/churn/versions/1", headers=writer)).json()
    assert one["tags"] == {"team": "growth"} and one["flavor"] == "sklearn"
    latest = (await client.get("/v1/models/churn/version", headers=writer)).json()
    assert latest["version"] == 2
    download = await client.get("/v1/models/churn/1/artifact", headers=writer)
    assert download.status_code == 200
    assert download.headers["x-podium-sha256"] == one["artifact_digest"]
    assert download.headers["x-podium-flavor"] == "sklearn"
    lineage = await client.get("/v1/models/churn/2/lineage", headers=writer)
    assert lineage.status_code == 200, lineage.text


async def test_aliases(client: httpx.AsyncClient, keys: Keys, project_name: str) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    await _register(client, writer, "churn")
    moved = await client.put(
        "/v1/models/churn/aliases/champion", json={"version": 1}, headers=writer
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["aliases"] == ["champion"]
    resolved = await client.get("/v1/models/churn@champion/version", headers=writer)
    assert resolved.json()["version"] == 1
    gone = await client.delete("/v1/models/churn/aliases/champion", headers=writer)
    assert gone.status_code == 204
    again = await client.delete("/v1/models/churn/aliases/champion", headers=writer)
    assert_problem(again, 404)


async def test_transition_needs_another_admin(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    admin = keys.headers(project_name, Role.ADMIN)
    await _register(client, writer, "churn")
    made = await client.post(
        "/v1/models/churn/transitions",
        json={"version": 1, "stage": "production", "comment": "ship it"},
        headers=writer,
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert made.json()["status"] == "pending"
    pending = await client.get(
        "/v1/transition-requests", params={"name": "churn", "status": "pending"}, headers=writer
    )
    assert [r["id"] for r in pending.json()] == [request_id]
    approved = await client.post(
        f"/v1/transition-requests/{request_id}/approve", json={"comment": "ok"}, headers=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "applied"
    version = (await client.get("/v1/models/churn@production/version", headers=writer)).json()
    assert version["version"] == 1 and version["stage"] == "production"


async def test_self_approval_is_refused(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    await _register(client, admin, "churn")
    made = await client.post(
        "/v1/models/churn/transitions",
        json={"version": 1, "stage": "production"},
        headers=admin,
    )
    own = await client.post(f"/v1/transition-requests/{made.json()['id']}/approve", headers=admin)
    assert_problem(own, 403)


async def test_reader_cannot_request_or_approve(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    reader = keys.headers(project_name, Role.READER)
    await _register(client, writer, "churn")
    body = {"version": 1, "stage": "production"}
    refused = await client.post("/v1/models/churn/transitions", json=body, headers=reader)
    assert_problem(refused, 403)
    made = await client.post("/v1/models/churn/transitions", json=body, headers=writer)
    approve = f"/v1/transition-requests/{made.json()['id']}/approve"
    assert_problem(await client.post(approve, headers=reader), 403)
    assert_problem(await client.post(approve, headers=writer), 403)
    data, params = _upload()
    upload = await client.post(
        "/v1/models/churn/versions", content=data, params=params, headers=reader
    )
    assert_problem(upload, 403)


async def test_other_project_sees_nothing(
    client: httpx.AsyncClient, keys: Keys, project_name: str, other_project: str
) -> None:
    await _register(client, keys.headers(project_name, Role.WRITER), "churn")
    stranger = keys.headers(other_project, Role.ADMIN)
    for path in ("/v1/models/churn", "/v1/models/churn/versions/1", "/v1/models/churn/1/artifact"):
        assert_problem(await client.get(path, headers=stranger), 404)
    assert (await client.get("/v1/models", headers=stranger)).json() == []


async def test_bad_name_is_400_with_the_pattern(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    data, params = _upload()
    answer = await client.post(
        "/v1/models/Bad%20Name/versions", content=data, params=params, headers=writer
    )
    body = assert_problem(answer, 400)
    assert MODEL_NAME_PATTERN in body["detail"]
    assert_problem(await client.get("/v1/models/UPPER", headers=writer), 400)


async def test_bad_uploads_are_400(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    data, params = _upload()
    url = "/v1/models/churn/versions"
    pickled = await client.post(
        url, content=data, params={**params, "flavor": "pyfunc"}, headers=writer
    )
    assert_problem(pickled, 400)
    garbage = await client.post(url, content=b"not a model", params=params, headers=writer)
    assert garbage.status_code == 400, garbage.text
    bad_json = await client.post(
        url, content=data, params={**params, "signature": "{"}, headers=writer
    )
    assert_problem(bad_json, 400)
