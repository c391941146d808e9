"""The audit log: every mutation attempt over the API, with its outcome; reads are not in it."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.registry.flavors import flavor_for
from podium.registry.signature import infer_signature
from tests.api.conftest import Keys
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


async def _audit(client: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit", params={"limit": 1000}, headers=admin)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def _actor(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/v1/whoami", headers=headers)).json()["actor"])


async def test_every_mutation_is_audited_with_its_outcome(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    reader = keys.headers(project_name, Role.READER)
    admin = keys.headers(project_name, Role.ADMIN)
    sent: dict[str, tuple[str, str]] = {}  # request id -> (action, outcome)

    async def call(
        rid: str,
        action: str,
        outcome: str,
        method: str,
        path: str,
        headers: dict[str, str],
        **kwargs: Any,
    ) -> httpx.Response:
        sent[rid] = (action, outcome)
        return await client.request(
            method, path, headers={**headers, "x-request-id": rid}, **kwargs
        )

    run = await call(
        "r-create",
        "tracking.create_run",
        "ok",
        "POST",
        "/v1/runs",
        writer,
        json={"experiment": "e"},
    )
    run_id = run.json()["id"]
    base = f"/v1/runs/{run_id}"
    await call(
        "r-exp",
        "tracking.create_experiment",
        "ok",
        "POST",
        "/v1/experiments",
        writer,
        json={"name": "x"},
    )
    await call(
        "r-params",
        "log_params",
        "ok",
        "POST",
        f"{base}/params",
        writer,
        json={"params": {"C": "1"}},
    )
    await call(
        "r-conflict",
        "log_params",
        "conflict",
        "POST",
        f"{base}/params",
        writer,
        json={"params": {"C": "2"}},
    )
    await call(
        "r-metrics",
        "log_metrics",
        "ok",
        "POST",
        f"{base}/metrics",
        writer,
        json={"metrics": [{"key": "auc", "value": 0.9, "timestamp": 1}]},
    )
    await call(
        "r-nan",
        "log_metrics",
        "invalid-input",
        "POST",
        f"{base}/metrics",
        {**writer, "content-type": "application/json"},
        content=b'{"metrics": [{"key": "auc", "value": NaN, "timestamp": 1}]}',
    )
    await call(
        "r-tags", "set_tags", "ok", "POST", f"{base}/tags", writer, json={"tags": {"team": "ml"}}
    )
    await call(
        "r-inputs", "log_inputs", "ok", "POST", f"{base}/inputs", writer, json={"refs": ["raw.t@1"]}
    )
    await call(
        "r-artifact",
        "put_artifact",
        "ok",
        "PUT",
        f"{base}/artifacts/m.txt",
        writer,
        content=b"model",
    )
    await call(
        "r-badpath",
        "put_artifact",
        "invalid-input",
        "PUT",
        f"{base}/artifacts/%2e%2e/x%00",
        writer,
        content=b"x",
    )
    await call(
        "r-badbody",
        "set_tags",
        "invalid-input",
        "POST",
        f"{base}/tags",
        writer,
        json={"tags": "not a mapping"},
    )
    await call(
        "r-missing",
        "tracking.end_run",
        "not-found",
        "POST",
        "/v1/runs/nope/end",
        writer,
        json={"status": "FINISHED"},
    )
    await call(
        "r-end",
        "tracking.end_run",
        "ok",
        "POST",
        f"{base}/end",
        writer,
        json={"status": "FINISHED"},
    )
    await call(
        "r-denied",
        "create_run",
        "permission-denied",
        "POST",
        "/v1/runs",
        reader,
        json={"experiment": "e"},
    )
    created = await call(
        "r-key",
        "create_key",
        "ok",
        "POST",
        "/v1/keys",
        admin,
        json={"role": "reader", "name": "ci"},
    )
    key_id = created.json()["key"]["id"]
    await call("r-revoke", "revoke_key", "ok", "DELETE", f"/v1/keys/{key_id}", admin)
    await call(
        "r-key-denied",
        "create_key",
        "permission-denied",
        "POST",
        "/v1/keys",
        writer,
        json={"role": "admin"},
    )

    entries = {e["request_id"]: e for e in await _audit(client, admin)}
    for rid, (action, outcome) in sent.items():
        assert rid in entries, f"no audit entry for {rid} ({action})"
        entry = entries[rid]
        assert (entry["action"], entry["outcome"]) == (action, outcome), entry
        assert entry["actor"].startswith("key:")
        assert entry["target"]
        assert entry["detail"]["method"] in ("POST", "PUT", "DELETE")

    assert entries["r-create"]["target"] == f"run:{run_id}"  # names the run it created
    assert entries["r-params"]["target"] == f"{base}/params"
    assert entries["r-key"]["target"] == f"/v1/keys/{key_id}"
    assert entries["r-revoke"]["target"] == f"/v1/keys/{key_id}"
    assert entries["r-create"]["actor"] == await _actor(client, writer)
    assert entries["r-denied"]["actor"] == await _actor(client, reader)
    assert entries["r-key"]["actor"] == await _actor(client, admin)


async def test_reads_are_not_audited(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    writer = keys.headers(project_name, Role.WRITER)
    reader = keys.headers(project_name, Role.READER)
    admin = keys.headers(project_name, Role.ADMIN)
    run_id = (await client.post("/v1/runs", json={"experiment": "e"}, headers=writer)).json()["id"]
    before = await _audit(client, admin)

    for headers in (reader, writer, admin):
        await client.get(f"/v1/runs/{run_id}", headers=headers)
        await client.get("/v1/experiments", headers=headers)
        await client.get(f"/v1/runs/{run_id}/artifacts", headers=headers)
        await client.get(f"/v1/runs/{run_id}/metrics/auc/history", headers=headers)
        await client.post("/v1/runs/search", json={}, headers=headers)  # a read, sent as POST
        await client.post("/v1/runs/compare", json={"run_ids": [run_id]}, headers=headers)
        await client.get("/v1/whoami", headers=headers)
        await client.get("/v1/runs/nope", headers=headers)  # a failed read neither
    await client.get("/v1/keys", headers=admin)
    await client.get("/v1/audit", headers=writer)  # denied, but still only a read

    assert await _audit(client, admin) == before


async def test_a_project_sees_only_its_own_audit(
    client: httpx.AsyncClient, keys: Keys, project_name: str, other_project: str
) -> None:
    mine = keys.headers(project_name, Role.WRITER)
    await client.post("/v1/runs", json={"experiment": "e"}, headers={**mine, "x-request-id": "a-1"})
    their_admin = keys.headers(other_project, Role.ADMIN)
    await client.post(
        "/v1/keys", json={"role": "reader"}, headers={**their_admin, "x-request-id": "b-1"}
    )

    theirs = await _audit(client, their_admin)
    assert [e["request_id"] for e in theirs] == ["b-1"]
    my_admin = keys.headers(project_name, Role.ADMIN)
    assert [e["request_id"] for e in await _audit(client, my_admin)] == ["a-1"]


async def test_unauthenticated_requests_touch_no_audit(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    admin = keys.headers(project_name, Role.ADMIN)
    await client.post("/v1/runs", json={"experiment": "e"})
    await client.post("/v1/runs", json={"experiment": "e"}, headers={"authorization": "Bearer x"})
    assert await _audit(client, admin) == []


def test_audit_entry_exists_when_the_response_arrives(
    live_server: LiveServer, project_name: str
) -> None:
    """Over a real socket the entry is written before the response is sent, not after."""
    writer = {"authorization": f"Bearer {live_server.key(project_name, Role.WRITER)}"}
    admin = {"authorization": f"Bearer {live_server.key(project_name, Role.ADMIN)}"}
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        run_id = http.post("/v1/runs", json={"experiment": "e"}, headers=writer).json()["id"]
        for step in range(20):
            rid = f"step-{step}"
            http.post(
                f"/v1/runs/{run_id}/tags",
                json={"tags": {"step": str(step)}},
                headers={**writer, "x-request-id": rid},
            )
            newest = http.get("/v1/audit", params={"limit": 1}, headers=admin).json()
            assert newest[0]["request_id"] == rid


def _model_upload() -> tuple[bytes, dict[str, str]]:
    frame = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.9, 0.8]])
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    signature = infer_signature(frame, model.predict(frame))
    return flavor_for(model).save(model), {
        "flavor": "sklearn",
        "signature": signature.model_dump_json(),
    }


async def test_a_mutation_a_service_audits_is_recorded_once(
    client: httpx.AsyncClient, keys: Keys, project_name: str
) -> None:
    """The registry and deployments record their own changes (the same entries an
    embedded caller gets): the API adds no second entry, and a refused attempt is once."""
    writer = keys.headers(project_name, Role.WRITER)
    admin = keys.headers(project_name, Role.ADMIN)
    data, params = _model_upload()

    async def send(rid: str, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
        response = await client.request(
            method, path, headers={**headers, "x-request-id": rid}, **kw
        )
        return response.json() if response.content else None

    await send(
        "m-register", "POST", "/v1/models/churn/versions", writer, content=data, params=params
    )
    made = await send(
        "m-request",
        "POST",
        "/v1/models/churn/transitions",
        writer,
        json={"version": 1, "stage": "production"},
    )
    await send("m-self", "POST", f"/v1/transition-requests/{made['id']}/approve", writer)
    await send("m-approve", "POST", f"/v1/transition-requests/{made['id']}/approve", admin)
    await send("m-deploy", "POST", "/v1/deployments", writer, json={"model": "churn@production"})
    await send("m-missing", "PUT", "/v1/models/nope/aliases/champion", writer, json={"version": 1})
    await send("m-denied", "PUT", "/v1/models/churn/policy", writer, json={})

    by_request: dict[str, list[tuple[str, str, str]]] = {}
    for entry in await _audit(client, admin):
        by_request.setdefault(entry["request_id"], []).append(
            (entry["action"], entry["target"], entry["outcome"])
        )
    transition = f"transition:{made['id']}"
    assert by_request == {
        "m-register": [("registry.register", "model:churn/1", "ok")],
        "m-request": [("registry.request_transition", transition, "ok")],
        "m-self": [("registry.approve", transition, "permission-denied")],
        "m-approve": [("registry.approve", transition, "ok")],
        "m-deploy": [("deployments.created", "deployment:churn", "ok")],
        "m-missing": [("registry.set_alias", "model:nope@champion", "not-found")],
        # Refused before any service ran: the API's own entry, still exactly one.
        "m-denied": [("set_policy", "/v1/models/churn/policy", "permission-denied")],
    }
    entries = {e["request_id"]: e for e in await _audit(client, admin)}
    assert entries["m-approve"]["actor"] == await _actor(client, admin)
    assert entries["m-register"]["detail"]["method"] == "POST"
