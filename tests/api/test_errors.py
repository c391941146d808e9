"""Bad input of every kind is a 4xx problem+json, never a 500, never a traceback."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from podium.access.roles import Role
from podium.api.app import create_app
from podium.config import Settings
from podium.errors import ConflictError
from podium.platform import Installation
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio

LIMIT = 8192  # over the longest param value (6000 characters)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """A small body limit, so 413 is cheap to provoke (in process and over the socket)."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        metric_flush_interval=0.05,
        max_body_bytes=LIMIT,
        max_upload_body_bytes=LIMIT,  # artifacts are uploads, with a limit of their own
    )


@pytest.fixture
def writer(keys: Keys, project_name: str) -> dict[str, str]:
    return keys.headers(project_name, Role.WRITER)


@pytest.fixture
async def run_id(client: httpx.AsyncClient, writer: dict[str, str]) -> str:
    response = await client.post("/v1/runs", json={"experiment": "e"}, headers=writer)
    return str(response.json()["id"])


JSON = {"content-type": "application/json"}


async def test_malformed_json_names_the_position(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    response = await client.post("/v1/runs", content=b'{"experiment": ', headers={**writer, **JSON})
    body = assert_problem(response, 400, code="invalid-input")
    assert body["field"] == "body"
    assert body["position"] == 15
    assert "not valid JSON" in body["detail"] and "position 15" in body["detail"]


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/v1/runs", {}, "experiment"),
        ("/v1/runs", {"experiment": 3}, "experiment"),
        ("/v1/runs", {"experiment": "e", "tags": "x"}, "tags"),
        ("/v1/runs", [1, 2], "body"),
        ("/v1/runs/search", {"max_results": "many"}, "max_results"),
        ("/v1/runs/search", {"order_by": "metrics.auc"}, "order_by"),
        ("/v1/runs/compare", {"run_ids": "abc"}, "run_ids"),
        ("/v1/experiments", {"name": None}, "name"),
    ],
)
async def test_wrong_types_and_missing_fields_name_the_field(
    client: httpx.AsyncClient, writer: dict[str, str], path: str, payload: object, field: str
) -> None:
    body = assert_problem(await client.post(path, json=payload, headers=writer), 400)
    assert body["field"] == field
    assert body["detail"].startswith(field)


async def test_unknown_run_is_404(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    for method, path in [("GET", "/v1/runs/nope"), ("POST", "/v1/runs/nope/end")]:
        body = assert_problem(await client.request(method, path, json={}, headers=writer), 404)
        assert "nope" in body["detail"]


async def test_bad_filter_names_the_position(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    search = {"filter": "metrics.auc >> 0.5"}
    body = assert_problem(await client.post("/v1/runs/search", json=search, headers=writer), 400)
    assert body["field"] == "filter"
    assert body["position"] == 13
    assert "position 13" in body["detail"]


@pytest.mark.parametrize(
    ("search", "field"),
    [
        ({"order_by": ["metrics.auc SIDEWAYS"]}, "order_by"),
        ({"order_by": ["nothing"]}, "order_by"),
        ({"page_token": "not-a-token"}, "page_token"),
        ({"page_token": "bzotMQ=="}, "page_token"),  # "o:-1"
        ({"max_results": 0}, "max_results"),
        ({"experiments": ["no-such-experiment"]}, "experiment"),
    ],
)
async def test_bad_search_arguments_are_400_or_404(
    client: httpx.AsyncClient, writer: dict[str, str], search: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/runs/search", json=search, headers=writer)
    body = assert_problem(response, 404 if field == "experiment" else 400)
    assert body["field"] == field


async def test_param_conflict_is_409_with_both_values(
    client: httpx.AsyncClient, writer: dict[str, str], run_id: str
) -> None:
    url = f"/v1/runs/{run_id}/params"
    assert (
        await client.post(url, json={"params": {"C": "0.5"}}, headers=writer)
    ).status_code == 204
    again = await client.post(url, json={"params": {"C": "0.5"}}, headers=writer)
    assert again.status_code == 204  # the same value again is fine
    body = assert_problem(
        await client.post(url, json={"params": {"C": "0.7"}}, headers=writer), 409, code="conflict"
    )
    assert body["old_value"] == "0.5" and body["new_value"] == "0.7"
    assert body["field"] == "C"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"metrics": [{"key": "auc", "value": NaN, "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": Infinity, "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": "abc", "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": "nan", "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": true, "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": 1e999, "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": 1, "step": 1e30, "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": 1, "step": 99999999999999999999, "timestamp": 1}]}',
        b'{"metrics": [{"key": "auc", "value": 1, "timestamp": -1}]}',
        b'{"metrics": [{"key": "bad key!", "value": 1, "timestamp": 1}]}',
        b'{"metrics": [{"value": 1, "timestamp": 1}]}',
    ],
)
async def test_bad_metric_points_are_400(
    client: httpx.AsyncClient, writer: dict[str, str], run_id: str, raw: bytes
) -> None:
    url = f"/v1/runs/{run_id}/metrics"
    assert_problem(await client.post(url, content=raw, headers={**writer, **JSON}), 400)
    history = await client.get(f"/v1/runs/{run_id}/metrics/auc/history", headers=writer)
    assert history.json() == []


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("params", {"params": {"C": {"nested": 1}}}, "params.C"),
        ("params", {"params": {"C": None}}, "params.C"),
        ("params", {"params": {"C": "x" * 7000}}, "C"),
        ("params", {"params": {"C": "a\u0000b"}}, "params.C"),
        ("tags", {"tags": {"t": ["a"]}}, "tags.t"),
        ("tags", {"tags": {"t\u0000": "a"}}, "tags.t\u0000"),
        ("inputs", {"refs": ["raw.t@1\u0000"]}, "refs.0"),
        ("inputs", {"refs": [""]}, "inputs"),
        ("end", {"status": "RUNNING"}, "status"),
    ],
)
async def test_bad_values_are_400_on_every_backend(
    client: httpx.AsyncClient,
    writer: dict[str, str],
    run_id: str,
    path: str,
    payload: dict[str, object],
    field: str,
) -> None:
    response = await client.post(f"/v1/runs/{run_id}/{path}", json=payload, headers=writer)
    body = assert_problem(response, 400)
    assert body["field"].startswith(field)
    run = (await client.get(f"/v1/runs/{run_id}", headers=writer)).json()
    assert run["params"] == {} and run["tags"] == {} and run["inputs"] == []


async def test_unstorable_text_in_a_new_run_is_400(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    for payload in (
        {"experiment": "e", "environment": {"a": "x\u0000"}},
        {"experiment": "e\u0000"},
    ):
        assert_problem(await client.post("/v1/runs", json=payload, headers=writer), 400)
    # A lone surrogate is valid JSON (httpx will not encode one, hence the raw bytes).
    for raw in (b'{"experiment": "e", "name": "\\ud800"}', b'{"experiment": "\\udfff"}'):
        response = await client.post("/v1/runs", content=raw, headers={**writer, **JSON})
        assert_problem(response, 400)
    runs = (await client.post("/v1/runs/search", json={}, headers=writer)).json()["runs"]
    assert runs == []


@pytest.mark.parametrize(
    "path",
    [
        "%2e%2e/%2e%2e/escaped.txt",
        "..%2F..%2Fescaped.txt",
        "a/%2e%2e/%2e%2e/escaped.txt",
        "/escaped.txt",  # the route's own '/', then an absolute path
        "%2Fescaped.txt",
        "C:/escaped.txt",
        "a%5C..%5Cescaped.txt",
        "escaped%00.txt",
    ],
)
async def test_artifact_path_traversal_is_400_and_writes_nothing(
    client: httpx.AsyncClient,
    installation: Installation,
    writer: dict[str, str],
    run_id: str,
    tmp_path: Path,
    path: str,
) -> None:
    before = _files(tmp_path)
    url = f"/v1/runs/{run_id}/artifacts/{path}"
    body = assert_problem(await client.put(url, content=b"pwned", headers=writer), 400)
    assert body["field"] == "path"
    assert_problem(await client.get(url, headers=writer), 400)
    assert (await client.get(f"/v1/runs/{run_id}/artifacts", headers=writer)).json() == []
    assert _new_files(before, _files(tmp_path)) == set()


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _new_files(before: set[Path], after: set[Path]) -> set[Path]:
    # The SQLite database and its journal change with every request; nothing else may.
    return {p for p in after - before if not p.name.startswith("podium.db")}


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, writer: dict[str, str], run_id: str
) -> None:
    big = b"x" * (LIMIT + 1)
    upload = await client.put(f"/v1/runs/{run_id}/artifacts/big.bin", content=big, headers=writer)
    body = assert_problem(upload, 413, code="payload-too-large")
    assert str(LIMIT) in body["detail"]
    tags = {"tags": {"t": "x" * LIMIT}}
    assert_problem(await client.post(f"/v1/runs/{run_id}/tags", json=tags, headers=writer), 413)
    at_limit = await client.put(
        f"/v1/runs/{run_id}/artifacts/ok.bin", content=b"x" * LIMIT, headers=writer
    )
    assert at_limit.status_code == 201
    listed = (await client.get(f"/v1/runs/{run_id}/artifacts", headers=writer)).json()
    assert [a["path"] for a in listed] == ["ok.bin"]


async def _chunks(total: int, size: int = 300) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


async def test_streamed_body_over_the_limit_is_413(
    client: httpx.AsyncClient, writer: dict[str, str], run_id: str
) -> None:
    url = f"/v1/runs/{run_id}/artifacts/big.bin"
    upload = await client.put(url, content=_chunks(LIMIT * 3), headers=writer)
    assert "content-length" not in upload.request.headers
    assert_problem(upload, 413, code="payload-too-large")
    tags = await client.post(
        f"/v1/runs/{run_id}/tags", content=_chunks(LIMIT * 2), headers={**writer, **JSON}
    )
    assert_problem(tags, 413)
    assert (await client.get(f"/v1/runs/{run_id}/artifacts", headers=writer)).json() == []


async def test_nul_in_a_path_is_4xx_on_every_backend(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    # PostgreSQL refuses NUL in text (a 400); SQLite finds nothing (a 404); never a 500.
    for method, path in [
        ("GET", "/v1/runs/x%00"),
        ("GET", "/v1/experiments/e%00"),
        ("POST", "/v1/runs/x%00/end"),
        ("PUT", "/v1/runs/x%00/artifacts/a.txt"),
    ]:
        response = await client.request(method, path, json={}, headers=writer)
        assert response.status_code in (400, 404)
        assert_problem(response, response.status_code)


async def test_unexpected_error_is_a_500_problem_without_internals(
    installation: Installation, keys: Keys, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = keys.headers(project_name)
    tracking = installation.platform_for_existing(
        project_name, user=_actor(installation, writer), role=Role.WRITER
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals /etc/podium")

    monkeypatch.setattr(tracking.tracking, "list_experiments", broken)
    transport = httpx.ASGITransport(app=create_app(installation), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        response = await http.get("/v1/experiments", headers={**writer, "x-request-id": "r-500"})
    body = assert_problem(response, 500, code="internal")
    assert "secret internals" not in response.text
    assert body["request_id"] == "r-500"
    assert response.headers.get_list("x-request-id") == ["r-500"]


async def test_a_detail_named_like_a_member_is_kept_nested(
    installation: Installation, keys: Keys, project_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The registry names a pending request in details["request_id"]; the HTTP request id
    # used to overwrite it.
    writer = keys.headers(project_name)
    platform = installation.platform_for_existing(
        project_name, user=_actor(installation, writer), role=Role.WRITER
    )

    def pending(*args: object, **kwargs: object) -> None:
        details = {"request_id": "transition-7", "status": "pending", "old_value": "0.5"}
        raise ConflictError("already pending", field="stage", details=details)

    monkeypatch.setattr(platform.tracking, "list_experiments", pending)
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        response = await http.get("/v1/experiments", headers={**writer, "x-request-id": "r-409"})
    body = assert_problem(response, 409, code="conflict")
    assert body["request_id"] == "r-409" and body["status"] == 409
    assert body["details"] == {
        "request_id": "transition-7",
        "status": "pending",
        "old_value": "0.5",
    }
    assert body["old_value"] == "0.5" and body["field"] == "stage"
    assert body["instance"] == "/v1/experiments"


def test_to_dict_never_lets_a_detail_replace_a_member() -> None:
    error = ConflictError("taken", remedy="pick another", details={"code": "x", "n": 1})
    assert error.to_dict() == {
        "type": "https://podium.dev/errors/conflict",
        "title": "conflict",
        "status": 409,
        "detail": "taken",
        "code": "conflict",
        "remedy": "pick another",
        "n": 1,
        "details": {"code": "x", "n": 1},
    }
    assert "details" not in ConflictError("plain").to_dict()


def _actor(installation: Installation, headers: dict[str, str]) -> str:
    return installation.keys.authenticate(headers["authorization"].split()[1]).actor


async def test_unknown_route_is_404_and_wrong_method_405(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    assert_problem(await client.get("/v1/nothing-here", headers=writer), 404, code="not-found")
    body = assert_problem(
        await client.delete("/v1/runs/search", headers=writer), 405, code="method-not-allowed"
    )
    assert "/docs" in body["remedy"]


async def test_request_id_is_echoed_generated_or_replaced(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    given = await client.get("/v1/runs/nope", headers={**writer, "x-request-id": "trace-42.a:b"})
    assert given.headers.get_list("x-request-id") == ["trace-42.a:b"]
    assert given.json()["request_id"] == "trace-42.a:b"

    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32

    for unsafe in (b"a b", b"x" * 65, b"<script>", b"\n", "id\u00e9".encode()):
        replaced = await client.get("/healthz", headers=[(b"x-request-id", unsafe)])
        assert replaced.headers["x-request-id"].encode() != unsafe
        assert len(replaced.headers["x-request-id"]) == 32

    problem = await client.put("/v1/runs/x/artifacts/a", content=b"x" * (LIMIT + 1), headers=writer)
    assert problem.headers.get_list("x-request-id") == [problem.json()["request_id"]]


# -- over a real socket: what uvicorn and a real client do with the same requests --------


@pytest.fixture
def http(live_server: LiveServer, project_name: str) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {live_server.key(project_name, Role.WRITER)}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=10) as session:
        yield session


def test_413_over_a_real_socket_with_and_without_content_length(http: httpx.Client) -> None:
    run_id = http.post("/v1/runs", json={"experiment": "e"}).json()["id"]
    url = f"/v1/runs/{run_id}/artifacts/big.bin"

    declared = http.put(url, content=b"x" * (LIMIT * 4))
    assert_problem(declared, 413, code="payload-too-large")

    def chunks() -> Iterator[bytes]:
        for _ in range(3 * LIMIT // 512):
            yield b"x" * 512

    streamed = http.put(url, content=chunks())
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    assert_problem(streamed, 413, code="payload-too-large")

    # The connection is still good for the next request.
    assert http.get(f"/v1/runs/{run_id}/artifacts").json() == []


@pytest.mark.parametrize("path", ["../../escaped.txt", "a/../../../escaped.txt", "./../x"])
def test_literal_dot_segments_over_a_real_socket_are_400(
    live_server: LiveServer, http: httpx.Client, tmp_path: Path, path: str
) -> None:
    run_id = http.post("/v1/runs", json={"experiment": "e"}).json()["id"]
    before = _files(tmp_path)
    # httpx resolves '..' before sending, so the request line is written by hand.
    status, body = _raw_request(
        live_server.url,
        f"PUT /v1/runs/{run_id}/artifacts/{path} HTTP/1.1",
        http.headers["authorization"],
        b"pwned",
    )
    assert status == 400, body
    assert b"application/problem+json" in body and b"Traceback" not in body
    assert http.get(f"/v1/runs/{run_id}/artifacts").json() == []
    assert _new_files(before, _files(tmp_path)) == set()


def _raw_request(url: str, request_line: str, authorization: str, body: bytes) -> tuple[int, bytes]:
    scheme, _, address = url.partition("://")
    host, port = address.split(":")
    head = (
        f"{request_line}\r\nHost: {host}\r\nAuthorization: {authorization}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=10))
        if scheme == "https":  # the test servers' CA is in SSL_CERT_FILE
            sock = stack.enter_context(
                ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            )
        sock.sendall(head.encode() + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status = int(received.split(b" ", 2)[1])
    return status, received
