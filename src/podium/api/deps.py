"""Request dependencies: the installation, the caller's role, and the audit of mutations.

:class:`~podium.api.auth.AuthMiddleware` has authenticated the caller before a route
runs; routes state the role they need with ``Reader``, ``Writer`` or ``Admin``. Writer
and admin routes that change something (any method but GET and HEAD) run in an audit
:func:`~podium.access.audit.request_scope`: the services they call record their
mutations themselves (``registry.register``, ``deployments.created``, ... with this
request's id), and the route writes one entry of its own (action = route name) only when
no service recorded the request: refused before it reached a service, or a route whose
service does not audit itself (tracking's logging calls). Either way the entry is written
before the response is sent, so a client that reads the audit log next finds it there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool

from podium.access.audit import request_scope
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


@asynccontextmanager
async def _audited(role: Role, request: Request, principal: Principal) -> AsyncIterator[None]:
    # Async, so the audit scope is set in the request's own context, which the threads
    # running sync routes (and their services) inherit.
    action = _action(request)
    if request.method in _READS:
        principal.require(role, action=action)
        yield
        return
    outcome = "ok"
    request_id = getattr(request.state, "request_id", "")
    with request_scope(request_id, {"method": request.method}) as scope:
        try:
            principal.require(role, action=action)
            yield
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
            # A service recorded this request (its failure too, if it failed): once is enough.
            if scope.entries == 0 or (outcome != "ok" and scope.failures == 0):
                await run_in_threadpool(
                    installation(request).audit.record,
                    project_id=principal.project_id,
                    actor=principal.actor,
                    action=action,
                    target=getattr(request.state, "audit_target", request.url.path),
                    outcome=outcome,
                    request_id=request_id,
                    detail={"method": request.method},
                )


async def _writer(request: Request, principal: Caller) -> AsyncIterator[Principal]:
    async with _audited(Role.WRITER, request, principal):
        yield principal


async def _admin(request: Request, principal: Caller) -> AsyncIterator[Principal]:
    async with _audited(Role.ADMIN, request, principal):
        yield principal


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
