"""ASGI middleware: request ids in and out, and the request body size limit."""

from __future__ import annotations

import itertools
import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.api.problems import problem_response
from podium.errors import PayloadTooLargeError

__all__ = ["BodyLimitMiddleware", "RequestIdMiddleware", "body_too_large", "request_id_from"]

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
    """Refuse bodies over ``max_bytes`` with 413 problem+json, before reading them whole.

    A declared ``Content-Length`` over the limit is refused before the body is read; a
    streamed (chunked) body is counted as it arrives, and the first byte over the limit
    ends the request with the same 413, whatever the app was doing with the body.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    raise self._error()
            return message

        started = False

        async def guarded_send(message: Message) -> None:
            # Once over the limit, whatever the app answers (FastAPI turns a failed body
            # read into a 400) is replaced by one 413.
            nonlocal started
            if refused:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLargeError:
            if not started:
                await self._refuse(scope, receive, send)

    def _error(self) -> PayloadTooLargeError:
        return body_too_large(self.max_bytes)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(Request(scope), self._error())
        await response(scope, receive, send)


def body_too_large(max_bytes: int) -> PayloadTooLargeError:
    """The 413 for a body over ``max_bytes``."""
    return PayloadTooLargeError(
        f"the request body is larger than {max_bytes} bytes",
        remedy="send less per request (batch it), or raise PODIUM_MAX_BODY_BYTES",
    )
