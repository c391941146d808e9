"""Limits at the edge: body size and time per route, scoped keys, project quotas, keys over REST."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from podium.access.ratelimit import parse_rate_limit
from podium.access.roles import Role
from podium.access.scopes import parse_scopes
from podium.api.app import create_app
from podium.api.middleware import RequestIdMiddleware, RouteLimits, TimeoutMiddleware
from podium.config import Settings
from podium.platform import Installation
from tests.api.assertions import assert_problem
from tests.conftest import loopback_server
from tests.ui.conftest import csrf_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Small limits per route class, so each 413 is cheap to provoke."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        max_prediction_body_bytes=1000,
        max_body_bytes=4000,
        max_upload_body_bytes=16_000,
    )


@pytest.fixture
async def client(installation: Installation) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        yield http


def _bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def _secret(
    installation: Installation, project: str, role: Role = Role.WRITER, **kw: object
) -> str:
    installation.projects.ensure(project)
    _, secret = installation.keys.create(project, role, **kw)  # type: ignore[arg-type]
    return secret


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/v1/predictions", "prediction"),
        ("POST", "/v2/models/churn/infer", "prediction"),
        ("POST", "/v2/models/churn/versions/2/infer", "prediction"),
        ("POST", "/v1/tables/raw.x/rows", "upload"),
        ("POST", "/v1/models/churn/versions", "upload"),
        ("PUT", "/v1/runs/abc/artifacts/a/b.png", "upload"),
        ("POST", "/v1/features/push/stats", "upload"),
        ("POST", "/v1/features/materialize", "long"),
        ("POST", "/v1/runs", "default"),
        ("GET", "/v1/tables/raw.x/rows", "default"),
        ("GET", "/v1/predictions", "default"),
    ],
)
def test_routes_fall_in_classes(method: str, path: str, kind: str) -> None:
    assert RouteLimits.route_class(method, path) == kind


def test_route_limits_follow_the_settings() -> None:
    limits = RouteLimits.from_settings(
        Settings(max_prediction_body_bytes=10, max_upload_body_bytes=30, upload_timeout_seconds=9)
    )
    assert limits.body_limit("POST", "/v1/predictions") == (10, "PODIUM_MAX_PREDICTION_BODY_BYTES")
    assert limits.body_limit("POST", "/v1/models/m/versions") == (
        30,
        "PODIUM_MAX_UPLOAD_BODY_BYTES",
    )
    assert limits.body_limit("POST", "/v1/runs") == (10 * 1024 * 1024, "PODIUM_MAX_BODY_BYTES")
    assert limits.timeout("POST", "/v1/models/m/versions") == 9
    assert limits.timeout("GET", "/v1/runs") == 30


async def test_each_route_class_has_its_own_body_limit(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    headers = _bearer(_secret(installation, project_name))
    prediction = {"model_id": "churn", "features": {"x": "a" * 1500}}
    answer = await client.post("/v1/predictions", json=prediction, headers=headers)
    body = assert_problem(answer, 413, code="payload-too-large")
    assert "1000 bytes" in body["detail"] and "PODIUM_MAX_PREDICTION_BODY_BYTES" in body["remedy"]

    # 1500 bytes fit the default limit: the route answers (no such deployment), not 413.
    small = {"experiment": "e", "tags": {"t": "a" * 1500}}
    assert (await client.post("/v1/runs", json=small, headers=headers)).status_code != 413
    big = {"experiment": "e", "tags": {"t": "a" * 5000}}
    body = assert_problem(await client.post("/v1/runs", json=big, headers=headers), 413)
    assert "PODIUM_MAX_BODY_BYTES" in body["remedy"]

    run = await client.post("/v1/runs", json={"experiment": "e"}, headers=headers)
    run_id = run.json()["id"]
    artifact = f"/v1/runs/{run_id}/artifacts/blob.bin"
    stored = await client.put(artifact, content=b"x" * 8000, headers=headers)
    assert stored.status_code == 201, stored.text  # over the default, under the upload limit
    body = assert_problem(await client.put(artifact, content=b"x" * 20_000, headers=headers), 413)
    assert "16000 bytes" in body["detail"] and "PODIUM_MAX_UPLOAD_BODY_BYTES" in body["remedy"]


async def test_scoped_keys_do_only_what_their_scopes_name(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    reads = _bearer(_secret(installation, project_name, scopes=parse_scopes(["read:tracking"])))
    assert (await client.get("/v1/experiments", headers=reads)).status_code == 200
    assert (await client.get("/v1/whoami", headers=reads)).status_code == 200
    for method, path in [("POST", "/v1/experiments"), ("GET", "/v1/models"), ("GET", "/v1/keys")]:
        answer = await client.request(method, path, json={"name": "x"}, headers=reads)
        body = assert_problem(answer, 403, code="permission-denied")
        assert "limited to read:tracking" in body["detail"] and "--scope" in body["remedy"]

    predicts = _bearer(_secret(installation, project_name, scopes=parse_scopes(["predict:churn"])))
    allowed = await client.post(
        "/v1/predictions", json={"model_id": "churn", "features": {}}, headers=predicts
    )
    assert allowed.status_code == 404, allowed.text  # past the scope: no such deployment
    refused = await client.post(
        "/v1/predictions", json={"model_id": "fraud", "features": {}}, headers=predicts
    )
    body = assert_problem(refused, 403, code="permission-denied")
    assert body["field"] == "model_id" and "may predict with churn" in body["detail"]
    assert_problem(await client.get("/v1/experiments", headers=predicts), 403)
    assert_problem(await client.post("/v2/models/fraud/infer", json={}, headers=predicts), 403)


async def test_a_project_quota_is_shared_by_its_keys_and_spares_other_projects(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    installation.projects.create(project_name, rate_limit=parse_rate_limit("1/m", burst=3))
    first, second = (_bearer(_secret(installation, project_name)) for _ in range(2))
    other = _bearer(_secret(installation, f"{project_name}-o"))
    codes = [(await client.get("/v1/whoami", headers=h)).status_code for h in (first, second) * 2]
    assert codes == [200, 200, 200, 429], codes
    refused = await client.get("/v1/whoami", headers=first)
    body = assert_problem(refused, 429, code="rate-limited")
    assert f"project {project_name}'s quota of 1/m (burst 3)" in body["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    assert all(
        [(await client.get("/v1/whoami", headers=other)).status_code == 200 for _ in range(5)]
    )

    installation.projects.update(project_name, unlimited=True)
    deadline = time.monotonic() + 10  # servers re-read keys (and quotas) every 2 s
    while (await client.get("/v1/whoami", headers=second)).status_code == 429:
        assert time.monotonic() < deadline, "the removed quota still applies"
        await asyncio.sleep(0.2)


async def test_keys_over_rest_expire_rotate_and_carry_scopes(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    admin = _bearer(_secret(installation, project_name, Role.ADMIN))
    made = await client.post(
        "/v1/keys",
        json={
            "role": "reader",
            "name": "app",
            "expires": "30d",
            "scopes": ["predict:churn"],
            "rate_limit": "20/s",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert key["scopes"] == ["predict:churn"] and key["expires_at"] and key["state"] == "active"
    assert key["rate_limit"] == "20/s" and key["burst"] == 20
    old = made.json()["secret"]

    rotated = await client.post(
        f"/v1/keys/{key['id']}/rotate", json={"overlap": "1h"}, headers=admin
    )
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["key"]["state"] == "rotating"
    new = rotated.json()["secret"]
    for secret in (old, new):
        assert (await client.get("/v1/whoami", headers=_bearer(secret))).status_code == 200

    listed = (await client.get("/v1/keys", headers=admin)).json()
    mine = next(k for k in listed if k["id"] == key["id"])
    assert mine["state"] == "rotating" and mine["previous_valid_until"] and mine["last_used_at"]

    revoked = await client.delete(f"/v1/keys/{key['id']}", headers=admin)
    assert revoked.json()["state"] == "revoked"
    for secret in (old, new):
        assert_problem(await client.get("/v1/whoami", headers=_bearer(secret)), 401)

    for body, field in [
        ({"role": "reader", "expires": "soon"}, "expires"),
        ({"role": "reader", "scopes": ["write:data"]}, "scopes"),
        ({"role": "reader", "burst": 3}, "burst"),
    ]:
        bad = await client.post("/v1/keys", json=body, headers=admin)
        assert assert_problem(bad, 400)["field"] == field
    bad = await client.post(f"/v1/keys/{key['id']}/rotate", json={}, headers=admin)
    assert_problem(bad, 409)  # revoked


async def test_projects_quota_over_rest_is_for_platform_admins(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    platform = _bearer(_secret(installation, "default", Role.ADMIN))
    made = await client.post(
        "/v1/projects", json={"name": project_name, "rate_limit": "100/s"}, headers=platform
    )
    assert made.status_code == 201 and made.json()["rate_limit"] == "100/s", made.text
    changed = await client.patch(
        f"/v1/projects/{project_name}", json={"rate_limit": "5/s", "burst": 10}, headers=platform
    )
    assert changed.json()["rate_limit"] == "5/s" and changed.json()["burst"] == 10
    cleared = await client.patch(
        f"/v1/projects/{project_name}", json={"rate_limit": "none"}, headers=platform
    )
    assert cleared.json()["rate_limit"] is None
    bad = await client.patch(
        f"/v1/projects/{project_name}", json={"rate_limit": "5/h"}, headers=platform
    )
    assert assert_problem(bad, 400)["field"] == "rate_limit"
    assert_problem(
        await client.patch("/v1/projects/nope-x", json={"rate_limit": "1/s"}, headers=platform), 404
    )
    own = _bearer(_secret(installation, project_name, Role.ADMIN))
    denied = await client.patch(
        f"/v1/projects/{project_name}", json={"rate_limit": "1/s"}, headers=own
    )
    assert_problem(denied, 403)


async def _slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("s", "5")))
    return JSONResponse({"done": True})


async def _stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"chunk"
            await asyncio.sleep(0.2)

    return StreamingResponse(chunks())


def test_a_request_over_its_time_gets_504_and_a_started_answer_is_not_cut() -> None:
    slow = Starlette(routes=[Route("/slow", _slow), Route("/stream", _stream)])
    app = RequestIdMiddleware(TimeoutMiddleware(slow, limits=RouteLimits(timeout_seconds=0.3)))
    with loopback_server(app, tls=False) as url, httpx.Client(base_url=url, timeout=30) as http:
        answer = http.get("/slow", params={"s": "1.5"})
        body = assert_problem(answer, 504, code="timeout")
        assert "took longer than 0.3 s" in body["detail"]
        assert "PODIUM_REQUEST_TIMEOUT_SECONDS" in body["remedy"]
        assert http.get("/slow", params={"s": "0"}).json() == {"done": True}
        streamed = http.get("/stream")  # 0.8 s in all, but started at once
        assert streamed.status_code == 200 and streamed.content == b"chunk" * 4


async def test_a_scoped_key_cannot_log_in_to_the_web_ui(
    client: httpx.AsyncClient, installation: Installation, project_name: str
) -> None:
    scoped = _secret(installation, project_name, scopes=parse_scopes(["read:tracking"]))
    form = await client.get("/ui/login")
    done = await client.post("/ui/login", data={"key": scoped, "csrf": csrf_of(form.text)})
    assert done.status_code == 403 and "scoped key cannot log in" in done.text
    assert not any(c.startswith("podium_session=") for c in done.headers.get_list("set-cookie"))
