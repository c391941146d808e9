"""``/openapi.json`` as the API really answers: every error is problem+json, none is a 422.

FastAPI documents a 422 ``HTTPValidationError`` for every route with parameters; podium
answers bad input with 400 and every other error with a problem document, so the
document is rewritten once, when first asked for: the 422s go, and each operation that
needs a key lists the problems it can answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

from podium.api.problems import PROBLEM_JSON

__all__ = ["Problem", "install_openapi"]

_REF = "#/components/schemas/Problem"
_SECURED = {
    "400": "invalid input: the 'field' member names what to fix",
    "401": "no API key, or an unknown or revoked one",
    "403": "the key's role may not do this",
    "404": "no such object in the key's project",
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
            _describe_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
