"""Request dependencies: the installation, the caller's role, and the audit of mutations.

:class:`~podium.api.auth.AuthMiddleware` has authenticated the caller before a route
runs; routes state the role they need with ``Reader``, ``Writer`` or ``Admin``. Writer
and admin routes that change something (any method but GET and HEAD) also write one audit
entry (actor, action, target, outcome, request id) once the route has run or failed, and
before the response is sent, so a client that reads the audit log next finds it there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DataError

from podium.access.roles import Principal, Role
from podium.errors import AuthenticationError, PodiumError
from podium.platform import Installation, Platform

__all__ = ["Admin", "Reader", "Writer", "installation", "platform_of", "set_audit_target"]

_READS = frozenset({"GET", "HEAD"})

# Only documents the scheme in /openapi.json (and gives /docs its "Authorize" button);
# the key itself was checked by AuthMiddleware.
_bearer = HTTPBearer(auto_error=False, description="an API key, from `podium keys create`")


def installation(request: Request) -> Installation:
    """The installation the app was built with."""
    inst: Installation = request.app.state.installation
    return inst


def _principal(
    request: Request, _key: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # fail closed if the middleware is missing
        raise AuthenticationError(
            "this request needs an API key", remedy="send 'Authorization: Bearer <key>'"
        )
    return principal


Caller = Annotated[Principal, Depends(_principal)]


def _action(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "name", request.url.path))


def _reader(request: Request, principal: Caller) -> Principal:
    principal.require(Role.READER, action=_action(request))
    return principal


def _audited(role: Role, request: Request, principal: Principal) -> Iterator[Principal]:
    action = _action(request)
    if request.method in _READS:
        principal.require(role, action=action)
        yield principal
        return
    outcome = "ok"
    try:
        principal.require(role, action=action)
        yield principal
    except PodiumError as exc:
        outcome = exc.code
        raise
    except (RequestValidationError, DataError):
        outcome = "invalid-input"
        raise
    except Exception:
        outcome = "internal"
        raise
    finally:
        installation(request).audit.record(
            project_id=principal.project_id,
            actor=principal.actor,
            action=action,
            target=_printable(getattr(request.state, "audit_target", request.url.path)),
            outcome=outcome,
            request_id=getattr(request.state, "request_id", ""),
            detail={"method": request.method},
        )


def _printable(text: str) -> str:
    # A request path may hold a NUL or another control character, which PostgreSQL cannot
    # store; the audit entry of that (failed) request must still be written.
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _writer(request: Request, principal: Caller) -> Iterator[Principal]:
    yield from _audited(Role.WRITER, request, principal)


def _admin(request: Request, principal: Caller) -> Iterator[Principal]:
    yield from _audited(Role.ADMIN, request, principal)


Reader = Annotated[Principal, Depends(_reader)]
# scope="function": the audit entry is written before the response goes out, not after.
Writer = Annotated[Principal, Depends(_writer, scope="function")]
Admin = Annotated[Principal, Depends(_admin, scope="function")]


def set_audit_target(request: Request, target: str) -> None:
    """Name what a mutation created (e.g. the new run) in its audit entry."""
    request.state.audit_target = target


def platform_of(request: Request, principal: Principal) -> Platform:
    """The platform of the caller's project (cached; no database round trip)."""
    return installation(request).platform_for_existing(
        principal.project, user=principal.actor, role=principal.role
    )
