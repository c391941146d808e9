"""``/openapi.json`` as the API really answers: every error is problem+json, none is a 422.

FastAPI documents a 422 ``HTTPValidationError`` for every route with parameters; podium
answers bad input with 400 and every other error with a problem document, so the
document is rewritten once, when first asked for: the 422s go, every operation that the
key check guards says so (``security``: routes mounted without the bearer dependency,
such as the prediction and Open Inference Protocol routes, are guarded all the same), and
each of them lists the problems it can answer. Without ``security`` a client (or a fuzzer)
is not told to send the key, and a 401 or 404 looks undeclared.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

from podium.api.auth import AuthMiddleware
from podium.api.problems import PROBLEM_JSON

__all__ = ["Problem", "install_openapi"]

_REF = "#/components/schemas/Problem"
_SCHEME = "HTTPBearer"
_SECURED = {
    "400": "invalid input: the 'field' member names what to fix",
    "401": "no API key, or an unknown or revoked one",
    "403": "the key's role may not do this",
    "404": "no such object in the key's project",
    "409": "conflicts with the object's current state (exists already, wrong stage, ...)",
    "429": "over the key's or the project's rate limit: retry after 'Retry-After' seconds",
}


class Problem(BaseModel):
    """An RFC 9457 problem document; members beyond these carry details (old_value, ...)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    remedy: str | None = None
    field: str | None = None
    instance: str | None = None
    request_id: str | None = None


def install_openapi(app: FastAPI) -> None:
    """Serve the rewritten document from ``app.openapi()`` (and so ``/openapi.json``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _secure(schema, _public_paths(app))
            _describe_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _public_paths(app: FastAPI) -> frozenset[str]:
    """The paths the key check lets through, as the app's AuthMiddleware was given them."""
    for middleware in app.user_middleware:
        factory: object = middleware.cls
        if factory is AuthMiddleware:
            paths = middleware.kwargs.get("public_paths", ())
            return frozenset(cast(Collection[str], paths))
    return frozenset()


def _secure(schema: dict[str, Any], public: frozenset[str]) -> None:
    """Declare the bearer key on every operation the key check guards."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(
        _SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "an API key, from `podium keys create`",
        },
    )
    for path, operations in schema.get("paths", {}).items():
        if path in public:
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and not operation.get("security"):
                operation["security"] = [{_SCHEME: []}]


def _describe_problems(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if not operation.get("security"):
                continue
            problems = dict(_SECURED)
            if "requestBody" in operation:
                problems["413"] = "the request body is over the server's limit"
            for status, description in problems.items():
                responses.setdefault(status, _problem(description))


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": _REF}}}}
