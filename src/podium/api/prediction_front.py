"""``POST /v1/predictions`` answered straight from ASGI, in front of a serving app.

``podium serve`` puts :class:`PredictionFront` before its FastAPI app. A prediction then
costs one header scan, one key check (remembered for a second), one body read and the
runtime's work; the FastAPI stack (three middlewares, routing, exception handlers, the
response classes) is for every other route. The contract is the platform server's, to
the byte where it matters: the same body, ``X-Request-ID`` echoed or made, 401/404 for
keys as :class:`~podium.api.auth.AuthMiddleware` answers them, 413 over the body limit,
every error as problem+json naming the field, and the security headers
(:mod:`podium.api.security_headers`) on every answer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.access.keys import KeyService
from podium.access.roles import Principal, Role
from podium.access.scopes import check_prediction, check_request, deployment_of
from podium.api.auth import authenticate
from podium.api.middleware import body_too_large, request_id_from
from podium.api.problems import internal_error, problem_response
from podium.api.security_headers import SECURITY_HEADERS, add_security_headers
from podium.errors import PayloadTooLargeError, PodiumError
from podium.serving.http.app import RuntimeFor
from podium.serving.http.body import dump_json
from podium.serving.requests.runtime import ServingRuntime

__all__ = ["PredictionFront"]

_log = logging.getLogger(__name__)
_REMEMBERED = 10_000


class _ClientGone(Exception):
    """The client closed the connection before its body arrived."""


class PredictionFront:
    """Answer ``POST /v1/predictions`` itself; pass everything else to ``app``.

    A key accepted in the last ``remember_seconds`` is not checked again (the check is
    cached by :class:`~podium.access.keys.KeyService` too, but reaching it costs a thread
    hop), so a revoked key is refused at most that much later than on the platform server.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyService,
        runtime_for: RuntimeFor,
        max_bytes: int,
        remember_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self._keys = keys
        self._runtime_for = runtime_for
        self._max_bytes = max_bytes
        self._remember = remember_seconds
        self._accepted: dict[bytes, tuple[float, Principal]] = {}
        self._runtimes: dict[str, ServingRuntime] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/predictions":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)  # FastAPI's 405, with its Allow header
            return
        authorization, project, given_id, length = _scan(scope["headers"])
        request_id = request_id_from(given_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        try:
            principal = await self._principal(authorization, project)
            state["principal"] = principal
            raw = await self._body(receive, length)
            if principal.scopes:  # a scoped key: only the deployments it names
                check_request(principal.scopes, "POST", "/v1/predictions")
                check_prediction(principal.scopes, deployment_of(raw))
            runtime = await self._runtime(principal)
            answer = await runtime.handle(raw, request_id=request_id)
        except _ClientGone:
            return
        except PodiumError as exc:
            if exc.status >= 500:
                _log.error("prediction %s failed: %s", request_id, exc)
            await problem_response(Request(scope), exc)(scope, receive, _secured(send))
            return
        except Exception:  # a bug must still answer problem+json, with the id to report
            _log.exception("unexpected error on prediction %s", request_id)
            error = problem_response(Request(scope), internal_error())
            await error(scope, receive, _secured(send))
            return
        body = dump_json(answer)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _principal(self, authorization: bytes, project: bytes) -> Principal:
        remembered = self._accepted.get(authorization)
        if remembered is not None and remembered[0] > time.monotonic() and not project:
            principal = remembered[1]
            self._keys.admit(principal)  # in memory: no thread hop
        else:
            principal = await run_in_threadpool(
                authenticate,
                self._keys,
                authorization.decode("latin-1"),
                project.decode("latin-1") or None,
            )
            if not project and len(self._accepted) < _REMEMBERED:
                self._accepted[authorization] = (time.monotonic() + self._remember, principal)
        principal.require(Role.READER, action="predicting")
        return principal

    async def _body(self, receive: Receive, length: bytes) -> bytes:
        if length.isdigit() and int(length) > self._max_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _runtime(self, principal: Principal) -> ServingRuntime:
        found = self._runtimes.get(principal.project)
        if found is None:
            found = await run_in_threadpool(self._runtime_for, principal)
            self._runtimes[principal.project] = found
        return found

    def _too_large(self) -> PayloadTooLargeError:
        return body_too_large(self._max_bytes)


def _scan(headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes, bytes, bytes]:
    """``Authorization``, ``X-Podium-Project``, ``X-Request-ID`` and ``Content-Length``
    in one pass (ASGI header names are lower case); ``b""`` for a missing one."""
    authorization = project = request_id = length = b""
    for name, value in headers:
        if name == b"authorization":
            authorization = value
        elif name == b"x-podium-project":
            project = value
        elif name == b"x-request-id":
            request_id = value
        elif name == b"content-length":
            length = value
    return authorization, project, request_id, length


def _secured(send: Send) -> Send:
    """``send`` adding the security headers to the response (the error path only: the
    answer of a prediction lists them itself)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            add_security_headers(headers)
            message["headers"] = headers
        await send(message)

    return send_with_headers
