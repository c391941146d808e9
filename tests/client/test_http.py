"""ApiClient: every answer a server (or what stands in front of it) can give, as an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from podium.client.http import ApiClient
from podium.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    MissingDependencyError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PodiumError,
)

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, **kwargs: Any) -> ApiClient:
    return ApiClient(
        "http://podium.test/", api_key="pdm_a_b", transport=httpx.MockTransport(handler), **kwargs
    )


def _problem(status: int, code: str, **members: Any) -> Handler:
    body = {"type": f"https://podium.dev/errors/{code}", "title": code, "status": status}
    body |= {"detail": f"{code} happened", "code": code, "remedy": "do the thing", **members}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json=body, headers={"content-type": "application/problem+json"}
        )

    return handler


@pytest.mark.parametrize(
    ("status", "code", "cls", "builtin"),
    [
        (400, "invalid-input", InvalidInputError, ValueError),
        (401, "unauthenticated", AuthenticationError, PermissionError),
        (403, "permission-denied", PermissionDeniedError, PermissionError),
        (404, "not-found", NotFoundError, LookupError),
        (409, "conflict", ConflictError, ValueError),
        (413, "payload-too-large", PayloadTooLargeError, ValueError),
        (500, "integrity", IntegrityError, RuntimeError),
        (500, "missing-dependency", MissingDependencyError, ImportError),
        (503, "unavailable", BackendUnavailableError, ConnectionError),
    ],
)
def test_problems_become_the_podium_error_their_code_names(
    status: int, code: str, cls: type[PodiumError], builtin: type[Exception]
) -> None:
    api = _client(_problem(status, code, field="x", request_id="r-1", old_value="1"))
    with pytest.raises(cls) as raised:
        api.request("GET", "/v1/whoami")
    error = raised.value
    assert type(error) is cls and isinstance(error, builtin)
    assert error.code == code and error.field == "x" and error.remedy == "do the thing"
    assert error.message == f"{code} happened"
    assert error.details == {"request_id": "r-1", "old_value": "1"}


def test_nested_details_win_over_the_members_the_server_adds() -> None:
    details = {"request_id": "transition-7", "old_value": "1"}
    api = _client(_problem(409, "conflict", request_id="r-1", old_value="1", details=details))
    with pytest.raises(ConflictError) as raised:
        api.request("GET", "/v1/whoami")
    assert raised.value.details == {"request_id": "transition-7", "old_value": "1"}


def test_an_unknown_code_falls_back_to_the_status() -> None:
    with pytest.raises(NotFoundError):
        _client(_problem(404, "something-new")).request("GET", "/v1/x")
    with pytest.raises(PodiumError) as internal:
        _client(_problem(500, "internal")).request("GET", "/v1/x")
    assert type(internal.value) is PodiumError


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_saying_the_server_is_down_is_backend_unavailable(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="<html>Bad Gateway</html>")

    with pytest.raises(BackendUnavailableError) as raised:
        _client(handler).request("GET", "/v1/whoami")
    assert raised.value.remedy and "podium.test" in raised.value.remedy
    assert str(status) in raised.value.message


def test_a_non_json_error_keeps_the_status_and_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(418, text="I'm a teapot")

    with pytest.raises(PodiumError) as raised:
        _client(handler).request("GET", "/v1/whoami")
    assert raised.value.message == "HTTP 418: I'm a teapot"


def test_a_success_that_is_not_json_is_not_a_podium_server() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>hello</html>")

    with pytest.raises(BackendUnavailableError) as raised:
        _client(handler).json("GET", "/v1/whoami")
    assert "podium server" in (raised.value.remedy or "")


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")],
)
def test_transport_failures_are_backend_unavailable(failure: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(BackendUnavailableError) as raised:
        _client(handler).request("GET", "/v1/whoami")
    assert raised.value.remedy
    assert isinstance(raised.value.__cause__, httpx.TransportError)


def test_key_and_project_are_sent_on_every_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    api = _client(handler, project="churn")
    assert api.json("POST", "/v1/runs/x/tags", json={"tags": {}}) is None
    assert seen[0].headers["authorization"] == "Bearer pdm_a_b"
    assert seen[0].headers["x-podium-project"] == "churn"
    assert str(seen[0].url) == "http://podium.test/v1/runs/x/tags"
