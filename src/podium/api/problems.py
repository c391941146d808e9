"""Every error rendered as RFC 9457 ``application/problem+json``; never a traceback.

Bad input is always a 4xx: besides :class:`~podium.errors.PodiumError` and FastAPI's own
validation and routing errors, a value the database refuses to store (a NUL character on
PostgreSQL, a string over a column's length) is a 400, and an unexpected exception is a
500 that says only "logged, here is the request id".
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from podium.errors import InvalidInputError, PodiumError

__all__ = [
    "PROBLEM_JSON",
    "ProblemResponse",
    "install_problem_handlers",
    "internal_error",
    "internal_problem",
    "problem_body",
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
_OUTAGE_RETRY_SECONDS = 5
_HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}


class ProblemResponse(JSONResponse):
    """A problem document, ASCII-escaped so any text a request echoes back can be sent."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), default=str).encode("ascii")


@functools.cache
def _http_error_class(status: int) -> type[PodiumError]:
    # An error Starlette raises itself (no such route, wrong method) keeps its own status.
    return type(f"Http{status}Error", (PodiumError,), {"status": status, "__module__": __name__})


def problem_body(request: Request, error: PodiumError) -> dict[str, Any]:
    """The problem document of ``error``: its ``to_dict()``, the path, the request id.

    The one place a problem body is built. A status without a remedy of its own gets the
    default one; the request id never takes the place of a detail (details are also
    nested under ``"details"``).
    """
    body = error.to_dict()
    body["instance"] = request.url.path
    if body.get("remedy") is None and error.status in _DEFAULT_REMEDY:
        body["remedy"] = _DEFAULT_REMEDY[error.status]
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if request.url.path == "/v2" or request.url.path.startswith("/v2/"):
        # Open Inference Protocol clients (tritonclient, KServe) read only "error".
        remedy = body.get("remedy")
        body["error"] = f"{body.get('detail', '')} ({remedy})" if remedy else body.get("detail")
    return body


def problem_response(request: Request, error: PodiumError | Mapping[str, Any]) -> JSONResponse:
    """A problem+json response of ``error``, carrying the request id, path and a remedy.

    ``error`` may also be what ``PodiumError.to_dict()`` returned (as callers passed it
    before :func:`problem_body`); pass the error itself.
    """
    if isinstance(error, PodiumError):
        body = problem_body(request, error)
    else:
        body = problem_body(request, _error_of(error))
        body.update((k, v) for k, v in error.items() if k not in ("instance", "request_id"))
    status = int(body["status"])
    headers: dict[str, str] = {}
    request_id = body.get("request_id")
    if request_id:
        # A 500 is sent from outside the request id middleware, so it is set here too.
        headers["x-request-id"] = str(request_id)
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="podium"'
    if status in (429, 503) and isinstance(body.get("retry_after"), int):
        headers["retry-after"] = str(max(1, body["retry_after"]))
    elif status == 503:
        # A backend that does not answer (database, storage, cache): try again shortly.
        headers["retry-after"] = str(_OUTAGE_RETRY_SECONDS)
    request.state.error_code = body.get("code", "error")
    return ProblemResponse(body, status_code=status, headers=headers)


def _error_of(body: Mapping[str, Any]) -> PodiumError:
    """The error a ``to_dict()`` body stands for (its members back on an error)."""
    return _http_error_class(int(body["status"]))(
        str(body.get("detail", "")),
        code=body.get("code"),
        remedy=body.get("remedy"),
        field=body.get("field"),
        details=body.get("details") or None,
    )


async def _podium_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PodiumError)
    if exc.status >= 500:
        log.error("request %s failed: %s", request.url.path, exc)
    return problem_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        position = first["loc"][-1]
        reason = (first.get("ctx") or {}).get("error", "invalid JSON")
        return problem_response(
            request,
            InvalidInputError(
                f"the request body is not valid JSON: {reason} at position {position}",
                field="body",
                remedy="send a JSON document with 'Content-Type: application/json'",
                details={"position": position},
            ),
        )
    message = str(first.get("msg", "invalid"))
    named = (first.get("ctx") or {}).get("field")  # a message that names its field itself
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = str(named or ".".join(location) or "body")
    listed = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in errors[:20]
    ]
    return problem_response(
        request,
        InvalidInputError(
            message if named else f"{field}: {message}",
            field=field,
            remedy="fix the field named in 'field'; /docs describes every request body",
            details={"errors": listed},
        ),
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid-input" if exc.status_code == 400 else "")
    remedy = None
    if exc.status_code in (404, 405):
        remedy = "see /docs for the routes this server offers"
    error = _http_error_class(exc.status_code)(
        str(exc.detail), code=code or "http-error", remedy=remedy
    )
    response = problem_response(request, error)
    if exc.status_code == 405:
        # RFC 9110: a 405 lists every method of the resource, not only those of one route.
        own = (exc.headers or {}).get("Allow", "")
        methods = _documented_methods(request) or {m.strip() for m in own.split(",") if m.strip()}
        response.headers["allow"] = ", ".join(sorted(methods))
    return response


def _documented_methods(request: Request) -> set[str]:
    """The methods the API description lists for the request's path."""
    app = request.scope.get("app")
    if not isinstance(app, FastAPI):
        return set()
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return methods | ({"HEAD"} if "GET" in methods else set())


async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value (NUL on PostgreSQL, too long, out of range): bad input.
    assert isinstance(exc, DataError)
    reason = str(exc.orig if exc.orig is not None else exc).splitlines()[0]
    log.warning("request %s sent a value the database refused: %s", request.url.path, reason)
    return problem_response(
        request,
        InvalidInputError(
            f"a value of this request cannot be stored: {reason}",
            remedy="remove NUL characters, shorten long values and keep numbers in range",
        ),
    )


def internal_error() -> PodiumError:
    """The error of a bug: a 500 that asks to report the request id."""
    return PodiumError(
        "the server failed to handle this request; it has been logged",
        remedy="retry; if it persists, report it with the request_id",
    )


def internal_problem() -> dict[str, Any]:
    """The problem document of a bug (``internal_error().to_dict()``)."""
    return internal_error().to_dict()


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem_response(request, internal_error())


def install_problem_handlers(app: FastAPI) -> None:
    """Route every exception through the problem+json renderers."""
    app.add_exception_handler(PodiumError, _podium_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
