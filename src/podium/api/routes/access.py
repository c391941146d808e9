"""``/v1/whoami``, ``/v1/projects``, ``/v1/keys`` and ``/v1/audit``.

Keys: create (with ``expires``, ``scopes``, ``rate_limit``), list, rotate with an overlap,
revoke. Projects: create and update, with a quota (``rate_limit``) shared by their keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from podium.access.keys import ApiKey, parse_duration
from podium.access.projects import Project
from podium.access.ratelimit import RateLimit, parse_rate_limit
from podium.access.roles import Principal, Role, parse_role
from podium.access.scopes import parse_scopes
from podium.api.bodies import RequestBody
from podium.api.deps import Admin, Reader, installation, set_audit_target
from podium.errors import InvalidInputError, PermissionDeniedError

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
    rate_limit: str | None = None
    burst: int | None = None


class ProjectIn(RequestBody):
    name: str
    description: str = Field(default="", max_length=10_000)
    rate_limit: str | None = Field(default=None, max_length=32, description="e.g. 100/s")
    burst: int | None = None


class ProjectUpdate(RequestBody):
    description: str | None = Field(default=None, max_length=10_000)
    rate_limit: str | None = Field(
        default=None, max_length=32, description="e.g. 100/s; 'none' removes the quota"
    )
    burst: int | None = None


class KeyIn(RequestBody):
    role: str
    # The name is part of the actor every audit entry of the key records, so it stays short.
    name: str = Field(default="", max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")
    expires: str | None = Field(default=None, max_length=16, description="e.g. 30d, 12h")
    scopes: list[str] = Field(
        default_factory=list, max_length=32, description="predict:DEPLOYMENT or read:AREA"
    )
    rate_limit: str | None = Field(default=None, max_length=32, description="e.g. 20/s")
    burst: int | None = None


class RotateIn(RequestBody):
    overlap: str = Field(
        default="1h", max_length=16, description="how long the old secret keeps working"
    )


class KeyOut(BaseModel):
    id: str
    project: str
    role: str
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    state: str = "active"
    expires_at: datetime | None = None
    scopes: list[str] = Field(default_factory=list)
    rate_limit: str | None = None
    burst: int | None = None
    rotated_at: datetime | None = None
    previous_valid_until: datetime | None = None
    last_used_at: datetime | None = None


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
        state=key.state,
        expires_at=key.expires_at,
        scopes=[str(scope) for scope in key.scopes],
        rate_limit=key.rate_limit.spec if key.rate_limit else None,
        burst=key.rate_limit.burst if key.rate_limit else None,
        rotated_at=key.rotated_at,
        previous_valid_until=key.previous_valid_until,
        last_used_at=key.last_used_at,
    )


def _project_out(p: Project) -> ProjectOut:
    return ProjectOut(
        name=p.name,
        description=p.description,
        created_at=p.created_at,
        rate_limit=p.rate_limit.spec if p.rate_limit else None,
        burst=p.rate_limit.burst if p.rate_limit else None,
    )


def _limit(spec: str | None, burst: int | None) -> RateLimit | None:
    if spec is None:
        if burst is not None:
            raise InvalidInputError(
                "a burst needs a rate limit", field="burst", remedy="send rate_limit with burst"
            )
        return None
    return parse_rate_limit(spec, burst=burst)


def _platform_admin(who: Principal, action: str) -> None:
    if who.project != PLATFORM_PROJECT:
        raise PermissionDeniedError(
            f"only admins of the 'default' project {action}",
            remedy="ask the platform admin, or run `podium projects` on the server",
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
    return [_project_out(p) for p in visible]


@router.post("/projects", status_code=201)
def create_project(body: ProjectIn, request: Request, who: Admin) -> ProjectOut:
    _platform_admin(who, "create projects")
    limit = _limit(body.rate_limit, body.burst)
    p = installation(request).projects.create(
        body.name, description=body.description, rate_limit=limit
    )
    return _project_out(p)


@router.patch("/projects/{name}")
def update_project(name: str, body: ProjectUpdate, request: Request, who: Admin) -> ProjectOut:
    """Change a project's description or quota (``rate_limit: "none"`` removes it)."""
    _platform_admin(who, "change projects")
    unlimited = body.rate_limit is not None and body.rate_limit.lower() == "none"
    limit = None if unlimited else _limit(body.rate_limit, body.burst)
    set_audit_target(request, f"/v1/projects/{name}")
    p = installation(request).projects.update(
        name, description=body.description, rate_limit=limit, unlimited=unlimited
    )
    return _project_out(p)


@router.post("/keys", status_code=201)
def create_key(body: KeyIn, request: Request, who: Admin) -> CreatedKey:
    key, secret = installation(request).keys.create(
        who.project,
        parse_role(body.role),
        name=body.name,
        created_by=who.actor,
        rate_limit=_limit(body.rate_limit, body.burst),
        expires_in=parse_duration(body.expires, field="expires") if body.expires else None,
        scopes=parse_scopes(body.scopes),
    )
    set_audit_target(request, f"/v1/keys/{key.id}")
    return CreatedKey(key=_key_out(key), secret=secret)


@router.post("/keys/{key_id}/rotate", status_code=201)
def rotate_key(key_id: str, body: RotateIn, request: Request, who: Admin) -> CreatedKey:
    """A new secret for the key; the old one keeps working until ``overlap`` ends."""
    key, secret = installation(request).keys.rotate(
        who.project, key_id, overlap=parse_duration(body.overlap, field="overlap")
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
