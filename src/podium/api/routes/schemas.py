"""``/v1/schemas``: the schema registry's subjects, versions and compatibility modes.

Readers list, read, check and validate; writers register; admins change a subject's
compatibility and delete it. An invalid schema is a 400 (code ``invalid-schema``), an
incompatible one a 409 (code ``incompatible-schema``) whose ``detail`` names the field and
``problems`` lists every finding. The routes are the remote side of ``p.events.schemas``
(:class:`podium.events.schemas.protocol.Schemas`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from podium.access.roles import Principal
from podium.api.bodies import RequestBody
from podium.api.deps import Admin, Reader, Writer, platform_of, set_audit_target
from podium.errors import InvalidInputError
from podium.events.schemas.models import (
    CompatibilityCheck,
    SchemaSubject,
    SchemaValidation,
    SchemaVersion,
)
from podium.events.schemas.protocol import Schemas

__all__ = ["router"]

router = APIRouter(prefix="/v1/schemas", tags=["schemas"])


class RegisterIn(RequestBody):
    json_schema: Any = Field(alias="schema", description="The JSON Schema (an object).")
    compatibility: str | None = Field(
        default=None, description="The mode of a new subject (default 'backward')."
    )


class CheckIn(RequestBody):
    json_schema: Any = Field(alias="schema", description="The JSON Schema to check.")


class CompatibilityIn(RequestBody):
    compatibility: str = Field(description="backward, forward, full, none, or *_transitive.")


class ValidateIn(RequestBody):
    document: Any = Field(description="The JSON document (an event) to validate.")
    version: int | None = Field(default=None, description="A version; default the latest.")


def _schemas(request: Request, who: Principal) -> Schemas:
    return platform_of(request, who).events.schemas


def _version(text: str) -> int | None:
    if text == "latest":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise InvalidInputError(
        f"a schema version must be an integer from 1 or 'latest'; got {text!r} instead",
        field="version",
        remedy="use e.g. /versions/1 or /versions/latest",
    )


@router.get("/subjects")
def list_subjects(request: Request, who: Reader) -> list[SchemaSubject]:
    """Every subject of the project, by name, with its mode and latest version."""
    return _schemas(request, who).subjects()


@router.get("/subjects/{subject}")
def get_subject(subject: str, request: Request, who: Reader) -> SchemaSubject:
    return _schemas(request, who).subject(subject)


@router.delete("/subjects/{subject}", status_code=204)
def delete_subject(subject: str, request: Request, who: Admin) -> Response:
    """Delete the subject and every version of it."""
    _schemas(request, who).delete(subject)
    return Response(status_code=204)


@router.get("/subjects/{subject}/versions")
def list_versions(subject: str, request: Request, who: Reader) -> list[SchemaVersion]:
    """Every version of the subject, oldest first."""
    return _schemas(request, who).versions(subject)


@router.post("/subjects/{subject}/versions")
def register_schema(subject: str, body: RegisterIn, request: Request, who: Writer) -> SchemaVersion:
    """Register the schema as the subject's next version (the existing version when the
    subject already holds it); 409 when it breaks the subject's compatibility mode."""
    registered = _schemas(request, who).register(
        subject, body.json_schema, compatibility=body.compatibility
    )
    set_audit_target(request, f"/v1/schemas/subjects/{subject}/versions/{registered.version}")
    return registered


@router.get("/subjects/{subject}/versions/{version}")
def get_version(subject: str, version: str, request: Request, who: Reader) -> SchemaVersion:
    """One version of the subject (``latest`` for the newest), with its schema."""
    return _schemas(request, who).get(subject, _version(version))


@router.post("/subjects/{subject}/check")
def check_schema(subject: str, body: CheckIn, request: Request, who: Reader) -> CompatibilityCheck:
    """Whether the schema could be registered now, and every problem (nothing is stored)."""
    return _schemas(request, who).check(subject, body.json_schema)


@router.put("/subjects/{subject}/compatibility")
def set_compatibility(
    subject: str, body: CompatibilityIn, request: Request, who: Admin
) -> SchemaSubject:
    """Change the subject's compatibility mode (later registrations are checked with it)."""
    return _schemas(request, who).set_compatibility(subject, body.compatibility)


@router.post("/subjects/{subject}/validate")
def validate_document(
    subject: str, body: ValidateIn, request: Request, who: Reader
) -> SchemaValidation:
    """Validate the document against the subject's latest (or given) version: 200 with
    the version it matched, or 400 (code ``schema-violation``) naming the JSON path."""
    return _schemas(request, who).validate(subject, body.document, version=body.version)
