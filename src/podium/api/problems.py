"""Every error rendered as RFC 9457 ``application/problem+json``; never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from podium.errors import PodiumError

__all__ = ["install_problem_handlers", "problem_response"]

log = logging.getLogger("podium.api")
PROBLEM_JSON = "application/problem+json"


def problem_response(request: Request, body: dict[str, Any]) -> JSONResponse:
    """A problem+json response carrying the request id and the request path."""
    body.setdefault("instance", request.url.path)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    request.state.error_code = body.get("code", "error")
    headers = {"WWW-Authenticate": "Bearer"} if body.get("status") == 401 else None
    return JSONResponse(
        body, status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=headers
    )


async def _podium_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PodiumError)
    if exc.status >= 500:
        log.error("request %s failed: %s", request.url.path, exc)
    return problem_response(request, exc.to_dict())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = ".".join(location) or None
    return problem_response(
        request,
        {
            "type": "https://podium.dev/errors/invalid-input",
            "title": "invalid input",
            "status": 400,
            "code": "invalid-input",
            "detail": f"{field or 'request'}: {first.get('msg', 'invalid')}",
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
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    remedy = "see /docs for the routes this server offers" if exc.status_code in (404, 405) else None
    body: dict[str, Any] = {
        "type": f"https://podium.dev/errors/{code}",
        "title": code.replace("-", " "),
        "status": exc.status_code,
        "code": code,
        "detail": str(exc.detail),
    }
    if remedy:
        body["remedy"] = remedy
    return problem_response(request, body)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem_response(
        request,
        {
            "type": "https://podium.dev/errors/internal",
            "title": "internal error",
            "status": 500,
            "code": "internal",
            "detail": "the server failed to handle this request; it has been logged",
            "remedy": "retry; if it persists, report it with the request_id",
        },
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every exception through the problem+json renderers."""
    app.add_exception_handler(PodiumError, _podium_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
