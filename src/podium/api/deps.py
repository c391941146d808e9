"""Request dependencies: the installation, the caller (from the API key), roles, audit.

Routes ask for a role with ``Depends(reader)``, ``Depends(writer)`` or ``Depends(admin)``.
The writer and admin dependencies also write the audit entry of the request, with its
outcome, after the route has run (or failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from podium.access.roles import Principal, Role
from podium.errors import NotFoundError, PodiumError
from podium.platform import Installation, Platform

__all__ = ["Admin", "Reader", "Writer", "installation", "platform_of"]

PROJECT_HEADER = "x-podium-project"


def installation(request: Request) -> Installation:
    """The installation the app was built with."""
    inst: Installation = request.app.state.installation
    return inst


def _principal(request: Request) -> Principal:
    inst = installation(request)
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    principal = inst.keys.authenticate(secret.strip() if scheme.lower() == "bearer" else None)
    wanted = request.headers.get(PROJECT_HEADER)
    if wanted and wanted != principal.project:
        # Another project's objects are invisible, so its very existence is not confirmed.
        raise NotFoundError(
            f"project {wanted!r} does not exist or this key cannot see it",
            remedy="use a key created for that project",
        )
    request.state.principal = principal
    return principal


def _require(role: Role, request: Request) -> Principal:
    principal = _principal(request)
    route = request.scope.get("route")
    principal.require(role, action=getattr(route, "name", "this request"))
    return principal


def _reader(request: Request) -> Principal:
    return _require(Role.READER, request)


def _audited(role: Role, request: Request) -> Iterator[Principal]:
    principal = _principal(request)
    route = request.scope.get("route")
    action = getattr(route, "name", request.url.path)
    inst = installation(request)
    outcome = "ok"
    try:
        principal.require(role, action=action)
        yield principal
    except PodiumError as exc:
        outcome = exc.code
        raise
    except Exception:
        outcome = "internal"
        raise
    finally:
        inst.audit.record(
            project_id=principal.project_id,
            actor=principal.actor,
            action=action,
            target=request.url.path,
            outcome=outcome,
            request_id=getattr(request.state, "request_id", ""),
            detail={"method": request.method},
        )


def _writer(request: Request) -> Iterator[Principal]:
    yield from _audited(Role.WRITER, request)


def _admin(request: Request) -> Iterator[Principal]:
    yield from _audited(Role.ADMIN, request)


Reader = Annotated[Principal, Depends(_reader)]
Writer = Annotated[Principal, Depends(_writer)]
Admin = Annotated[Principal, Depends(_admin)]


def platform_of(request: Request, principal: Principal) -> Platform:
    """The platform of the caller's project (cached; no database round trip)."""
    return installation(request).platform_for_existing(principal.project, user=principal.actor)
