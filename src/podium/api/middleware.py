"""ASGI middleware: request ids in and out, and the request body size limit."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.api.problems import problem_response
from podium.errors import PayloadTooLargeError

__all__ = ["BodyLimitMiddleware", "RequestIdMiddleware"]

_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdMiddleware:
    """Take ``X-Request-ID`` from the request (or make one) and echo it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
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
        return PayloadTooLargeError(
            f"the request body is larger than {self.max_bytes} bytes",
            remedy="send less per request (batch it), or raise PODIUM_MAX_BODY_BYTES",
        )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(Request(scope), self._error().to_dict())
        await response(scope, receive, send)
