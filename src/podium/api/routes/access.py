"""``/v1/whoami``, ``/v1/projects``, ``/v1/keys`` and ``/v1/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from podium.access.keys import ApiKey
from podium.access.roles import Role, parse_role
from podium.api.bodies import RequestBody
from podium.api.deps import Admin, Reader, installation, set_audit_target
from podium.errors import PermissionDeniedError

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["access"])

PLATFORM_PROJECT = "default"


class WhoAmI(BaseModel):
    actor: str
    project: str
    role: str


class ProjectOut(BaseModel):
    name: str
    description: str
    created_at: datetime


class ProjectIn(RequestBody):
    name: str
    description: str = Field(default="", max_length=10_000)


class KeyIn(RequestBody):
    role: str
    # The name is part of the actor every audit entry of the key records, so it stays short.
    name: str = Field(default="", max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")


class KeyOut(BaseModel):
    id: str
    project: str
    role: str
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class CreatedKey(BaseModel):
    key: KeyOut
    secret: str
    note: str = "store the secret now: it is not shown again"


class AuditOut(BaseModel):
    id: int
    actor: str
    action: str
    target: str
    outcome: str
    request_id: str
    created_at: datetime
    detail: dict[str, Any]


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id,
        project=key.project,
        role=key.role.value,
        name=key.name,
        created_by=key.created_by,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("/whoami")
def whoami(who: Reader) -> WhoAmI:
    return WhoAmI(actor=who.actor, project=who.project, role=who.role.value)


@router.get("/projects")
def list_projects(request: Request, who: Reader) -> list[ProjectOut]:
    inst = installation(request)
    visible = inst.projects.list()
    if not (who.project == PLATFORM_PROJECT and who.role is Role.ADMIN):
        visible = [p for p in visible if p.name == who.project]
    return [
        ProjectOut(name=p.name, description=p.description, created_at=p.created_at) for p in visible
    ]


@router.post("/projects", status_code=201)
def create_project(body: ProjectIn, request: Request, who: Admin) -> ProjectOut:
    if who.project != PLATFORM_PROJECT:
        raise PermissionDeniedError(
            "only admins of the 'default' project create projects",
            remedy="ask the platform admin, or run `podium projects create` on the server",
        )
    p = installation(request).projects.create(body.name, description=body.description)
    return ProjectOut(name=p.name, description=p.description, created_at=p.created_at)


@router.post("/keys", status_code=201)
def create_key(body: KeyIn, request: Request, who: Admin) -> CreatedKey:
    key, secret = installation(request).keys.create(
        who.project, parse_role(body.role), name=body.name, created_by=who.actor
    )
    set_audit_target(request, f"/v1/keys/{key.id}")
    return CreatedKey(key=_key_out(key), secret=secret)


@router.get("/keys")
def list_keys(request: Request, who: Admin) -> list[KeyOut]:
    return [_key_out(k) for k in installation(request).keys.list(who.project)]


@router.delete("/keys/{key_id}")
def revoke_key(key_id: str, request: Request, who: Admin) -> KeyOut:
    return _key_out(installation(request).keys.revoke(who.project, key_id))


@router.get("/audit")
def read_audit(
    request: Request,
    who: Admin,
    limit: int = Query(100, ge=1, le=10_000),
    action: str | None = None,
) -> list[AuditOut]:
    entries = installation(request).audit.list(who.project_id, limit=limit, action=action)
    return [
        AuditOut(
            id=e.id,
            actor=e.actor,
            action=e.action,
            target=e.target,
            outcome=e.outcome,
            request_id=e.request_id,
            created_at=e.created_at,
            detail=e.detail,
        )
        for e in entries
    ]
