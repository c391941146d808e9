"""Every error rendered as RFC 9457 ``application/problem+json``; never a traceback.

Bad input is always a 4xx: besides :class:`~podium.errors.PodiumError` and FastAPI's own
validation and routing errors, a value the database refuses to store (a NUL character on
PostgreSQL, a string over a column's length) is a 400, and an unexpected exception is a
500 that says only "logged, here is the request id".
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from podium.errors import PodiumError

__all__ = [
    "PROBLEM_JSON",
    "ProblemResponse",
    "install_problem_handlers",
    "internal_problem",
    "problem_response",
]

log = logging.getLogger("podium.api")
PROBLEM_JSON = "application/problem+json"

_DEFAULT_REMEDY = {
    400: "fix the value named in 'field' (or 'detail') and retry; /docs describes every route",
    401: "send 'Authorization: Bearer <key>'",
    403: "ask an admin of the project for a key with the role this needs",
    404: "check the id or name; objects of other projects are not visible",
    409: "read the current state and retry with a value that agrees with it",
    413: "send less per request (batch it), or raise PODIUM_MAX_BODY_BYTES on the server",
    503: "retry shortly; if it persists, check the server's database and storage",
}
_HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}


class ProblemResponse(JSONResponse):
    """A problem document, ASCII-escaped so any text a request echoes back can be sent."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), default=str).encode("ascii")


def problem_response(request: Request, body: dict[str, Any]) -> JSONResponse:
    """A problem+json response carrying the request id, the request path and a remedy."""
    status = int(body["status"])
    body.setdefault("instance", request.url.path)
    if body.get("remedy") is None and status in _DEFAULT_REMEDY:
        body["remedy"] = _DEFAULT_REMEDY[status]
    headers: dict[str, str] = {}
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
        # A 500 is sent from outside the request id middleware, so it is set here too.
        headers["x-request-id"] = request_id
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="podium"'
    request.state.error_code = body.get("code", "error")
    return ProblemResponse(body, status_code=status, headers=headers)


async def _podium_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PodiumError)
    if exc.status >= 500:
        log.error("request %s failed: %s", request.url.path, exc)
    return problem_response(request, exc.to_dict())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        position = first["loc"][-1]
        reason = (first.get("ctx") or {}).get("error", "invalid JSON")
        return problem_response(
            request,
            {
                "type": "https://podium.dev/errors/invalid-input",
                "title": "invalid input",
                "status": 400,
                "code": "invalid-input",
                "detail": f"the request body is not valid JSON: {reason} at position {position}",
                "field": "body",
                "position": position,
                "remedy": "send a JSON document with 'Content-Type: application/json'",
            },
        )
    message = str(first.get("msg", "invalid"))
    named = (first.get("ctx") or {}).get("field")  # a message that names its field itself
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = str(named or ".".join(location) or "body")
    return problem_response(
        request,
        {
            "type": "https://podium.dev/errors/invalid-input",
            "title": "invalid input",
            "status": 400,
            "code": "invalid-input",
            "detail": message if named else f"{field}: {message}",
            "field": field,
            "remedy": "fix the field named in 'field'; /docs describes every request body",
            "errors": [
                {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
                for e in errors[:20]
            ],
        },
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid-input" if exc.status_code == 400 else "")
    code = code or "http-error"
    body: dict[str, Any] = {
        "type": f"https://podium.dev/errors/{code}",
        "title": code.replace("-", " "),
        "status": exc.status_code,
        "code": code,
        "detail": str(exc.detail),
    }
    if exc.status_code in (404, 405):
        body["remedy"] = "see /docs for the routes this server offers"
    return problem_response(request, body)


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value (NUL on PostgreSQL, too long, out of range): bad input.
    assert isinstance(exc, DataError)
    reason = str(exc.orig if exc.orig is not None else exc).splitlines()[0]
    log.warning("request %s sent a value the database refused: %s", request.url.path, reason)
    return problem_response(
        request,
        {
            "type": "https://podium.dev/errors/invalid-input",
            "title": "invalid input",
            "status": 400,
            "code": "invalid-input",
            "detail": f"a value of this request cannot be stored: {reason}",
            "remedy": "remove NUL characters, shorten long values and keep numbers in range",
        },
    )


def internal_problem() -> dict[str, Any]:
    """The problem document of a bug: a 500 that asks to report the request id."""
    return {
        "type": "https://podium.dev/errors/internal",
        "title": "internal error",
        "status": 500,
        "code": "internal",
        "detail": "the server failed to handle this request; it has been logged",
        "remedy": "retry; if it persists, report it with the request_id",
    }


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem_response(request, internal_problem())


def install_problem_handlers(app: FastAPI) -> None:
    """Route every exception through the problem+json renderers."""
    app.add_exception_handler(PodiumError, _podium_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
