"""ASGI middleware: request ids, body size limits and time limits per route, key scopes.

Routes fall in classes (:class:`RouteLimits`): predictions get a small body limit
(``PODIUM_MAX_PREDICTION_BODY_BYTES``, 1 MiB, never over the default), uploads of files,
frames and models a large one (``PODIUM_MAX_UPLOAD_BODY_BYTES``, 2 GiB), everything else
``PODIUM_MAX_BODY_BYTES`` (10 MiB); over it, 413. A request whose answer has not started
within its route's time (``PODIUM_REQUEST_TIMEOUT_SECONDS``, 30 s; uploads and long
operations ``PODIUM_UPLOAD_TIMEOUT_SECONDS``, 600 s) gets 504; the work it started may
still finish.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.access.scopes import check_prediction, check_request, deployment_of, predicts_by_body
from podium.api.problems import problem_response
from podium.config import Settings
from podium.errors import PayloadTooLargeError, PodiumError, RequestTimeoutError

__all__ = [
    "BodyLimitMiddleware",
    "RequestIdMiddleware",
    "RouteLimits",
    "ScopeMiddleware",
    "TimeoutMiddleware",
    "body_too_large",
    "request_id_from",
]

RouteClass = Literal["prediction", "upload", "long", "default"]

_MIB = 1024 * 1024
_PREDICTIONS = re.compile(r"^(/v1/predictions|/v2/models/[^/]+(/versions/[^/]+)?/infer)$")
# Bodies that are files, Arrow frames or models.
_UPLOADS = re.compile(
    r"^(/v1/tables/[^/]+/rows|/v1/models/[^/]+/versions|/v1/runs/[^/]+/artifacts/.+"
    r"|/v1/features/push/[^/]+|/v1/features/historical|/v1/monitoring/references/.+"
    r"|/api/2\.0/mlflow-artifacts/artifacts/.+)$"
)
# Work that may take minutes although its body is small.
_LONG = re.compile(
    r"^(/v1/features/materialize|/v1/tables/[^/]+/(optimize|vacuum)|/v1/sql"
    r"|/v1/deployments(/.*)?|/v1/monitoring/deployments/[^/]+/report"
    r"|/v1/transition-requests/[^/]+/approve)$"
)
_SETTING = {
    "prediction": "PODIUM_MAX_PREDICTION_BODY_BYTES",
    "upload": "PODIUM_MAX_UPLOAD_BODY_BYTES",
    "long": "PODIUM_MAX_BODY_BYTES",
    "default": "PODIUM_MAX_BODY_BYTES",
}


@dataclass(frozen=True)
class RouteLimits:
    """The body size and time limits of each class of route."""

    body_bytes: int = 10 * _MIB
    prediction_body_bytes: int = 1 * _MIB
    upload_body_bytes: int = 2048 * _MIB
    timeout_seconds: float = 30.0
    upload_timeout_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RouteLimits:
        """The limits ``settings`` configure."""
        return cls(
            body_bytes=settings.max_body_bytes,
            # Predictions are never allowed more than any other route.
            prediction_body_bytes=min(settings.max_prediction_body_bytes, settings.max_body_bytes),
            upload_body_bytes=settings.max_upload_body_bytes,
            timeout_seconds=settings.request_timeout_seconds,
            upload_timeout_seconds=settings.upload_timeout_seconds,
        )

    @staticmethod
    def route_class(method: str, path: str) -> RouteClass:
        """Which class ``method path`` belongs to."""
        if method in ("POST", "PUT"):
            if _PREDICTIONS.match(path):
                return "prediction"
            if _UPLOADS.match(path):
                return "upload"
            if _LONG.match(path):
                return "long"
        return "default"

    def body_limit(self, method: str, path: str) -> tuple[int, str]:
        """The largest body ``method path`` accepts, and the setting that says so."""
        kind = self.route_class(method, path)
        if kind == "prediction" and self.prediction_body_bytes >= self.body_bytes:
            return self.body_bytes, _SETTING["default"]
        size = {"prediction": self.prediction_body_bytes, "upload": self.upload_body_bytes}
        return size.get(kind, self.body_bytes), _SETTING[kind]

    def timeout(self, method: str, path: str) -> float:
        """Seconds ``method path`` may take before its answer starts."""
        long = self.route_class(method, path) in ("upload", "long")
        return self.upload_timeout_seconds if long else self.timeout_seconds


_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A random prefix per process and a counter: unique across replicas, and cheaper than a
# UUID per request (the id is made on every request of the prediction hot path).
_PREFIX = secrets.token_hex(8)
_COUNTER = itertools.count(1)


def request_id_from(given: bytes) -> str:
    """The ``X-Request-ID`` the caller sent when it is safe to echo, else a new unique id."""
    if given:
        text = given.decode("latin-1")
        if _SAFE_ID.fullmatch(text):
            return text
    return f"{_PREFIX}{next(_COUNTER):016x}"  # 32 characters, as a UUID in hex


class RequestIdMiddleware:
    """Take ``X-Request-ID`` from the request (or make one) and echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(dict(scope["headers"]).get(b"x-request-id", b""))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message).setdefault("x-request-id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuse bodies over their route's limit with 413 problem+json, before reading them whole.

    A declared ``Content-Length`` over the limit is refused before the body is read; a
    streamed (chunked) body is counted as it arrives, and the first byte over the limit
    ends the request with the same 413, whatever the app was doing with the body. With
    ``max_bytes`` every route has that one limit; with ``limits``, each route its class's.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int | None = None, limits: RouteLimits | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits or RouteLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.max_bytes is not None:
            max_bytes, setting = self.max_bytes, "PODIUM_MAX_BODY_BYTES"
        else:
            max_bytes, setting = self.limits.body_limit(scope["method"], scope["path"])
        error = body_too_large(max_bytes, setting=setting)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            await _refuse(scope, receive, send, error)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    refused = True
                    raise body_too_large(max_bytes, setting=setting)
            return message

        started = False

        async def guarded_send(message: Message) -> None:
            # Once over the limit, whatever the app answers (FastAPI turns a failed body
            # read into a 400) is replaced by one 413.
            nonlocal started
            if refused:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(scope, receive, send, error)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLargeError:
            if not started:
                await _refuse(scope, receive, send, error)


async def _refuse(scope: Scope, receive: Receive, send: Send, error: PodiumError) -> None:
    await problem_response(Request(scope), error)(scope, receive, send)


def body_too_large(
    max_bytes: int, *, setting: str = "PODIUM_MAX_BODY_BYTES"
) -> PayloadTooLargeError:
    """The 413 for a body over ``max_bytes`` (``setting`` raises the limit)."""
    return PayloadTooLargeError(
        f"the request body is larger than {max_bytes} bytes",
        remedy=f"send less per request (batch it), or raise {setting}",
    )


class TimeoutMiddleware:
    """Answer 504 problem+json when a route has not started its answer within its time.

    The route keeps running until it ends (a worker thread cannot be stopped), but the
    caller has its answer; whatever the route sends later is dropped. An answer that has
    started (a long download) is never cut.
    """

    def __init__(self, app: ASGIApp, *, limits: RouteLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self.limits.timeout(scope["method"], scope["path"])
        started = anyio.Event()
        ended = anyio.Event()
        timed_out = False

        async def guarded_send(message: Message) -> None:
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        failure: list[BaseException] = []

        async def run() -> None:
            try:
                await self.app(scope, receive, guarded_send)
            except Exception as exc:  # re-raised below as itself, not in an ExceptionGroup
                failure.append(exc)
            finally:
                ended.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            with anyio.move_on_after(seconds):
                await _first(started, ended)
            if not started.is_set() and not ended.is_set():
                timed_out = True
                error = RequestTimeoutError(
                    f"{scope['method']} {scope['path']} took longer than {seconds:g} s",
                    remedy="retry later or with less work; the server may still finish "
                    "it (check before repeating a write), or raise "
                    "PODIUM_REQUEST_TIMEOUT_SECONDS / PODIUM_UPLOAD_TIMEOUT_SECONDS",
                )
                await _refuse(scope, receive, send, error)
        if failure and not timed_out:
            raise failure[0]


async def _first(*events: anyio.Event) -> None:
    """Return when any of ``events`` is set."""
    async with anyio.create_task_group() as group:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            group.start_soon(wait, event)


class ScopeMiddleware:
    """Refuse with 403 what a scoped key may not do (:mod:`podium.access.scopes`).

    Runs after authentication. For ``POST /v1/predictions`` by a key scoped to
    deployments, the body (already under the prediction body limit) is read here to
    find its ``model_id``, then handed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal: Any = (
            scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        )
        scopes = getattr(principal, "scopes", ())
        if not scopes:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        try:
            check_request(scopes, method, path)
            if predicts_by_body(scopes, method, path):
                messages, body = await _read_all(receive)
                check_prediction(scopes, deployment_of(body))
                receive = _replay(messages, receive)
        except PodiumError as exc:
            await _refuse(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)


async def _read_all(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
