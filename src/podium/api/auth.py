"""Authentication at the edge: every request but the public ones needs a valid API key.

It runs as middleware, before any route reads or parses a body, so a caller without a
valid key gets 401 for whatever it sends, and a route that forgets to ask for a role is
still not open. A key used with ``X-Podium-Project`` naming another project gets 404, as
any object of another project does. The caller is left in ``request.state.principal``
for the role checks of :mod:`podium.api.deps`.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.access.keys import KeyService
from podium.access.roles import Principal
from podium.api.problems import problem_response
from podium.errors import NotFoundError, PodiumError

__all__ = ["PROJECT_HEADER", "AuthMiddleware", "authenticate"]

PROJECT_HEADER = "x-podium-project"


class AuthMiddleware:
    """Answer 401 problem+json unless the request carries a valid ``Bearer`` key."""

    def __init__(self, app: ASGIApp, *, keys: KeyService, public_paths: Collection[str]) -> None:
        self.app = app
        self.keys = keys
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        try:
            # A verified key is cached in memory; a new one costs a database read.
            principal = await run_in_threadpool(self._authenticate, Headers(scope=scope))
        except PodiumError as exc:
            await problem_response(Request(scope), exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _authenticate(self, headers: Headers) -> Principal:
        return authenticate(
            self.keys, headers.get("authorization", ""), headers.get(PROJECT_HEADER) or None
        )


def authenticate(keys: KeyService, authorization: str, project: str | None) -> Principal:
    """The caller an ``Authorization`` header value stands for, in ``project`` if named.

    Raises 401 for a missing, unknown or revoked key, 404 when ``project`` (the
    ``X-Podium-Project`` header) is not the key's project, and 429 past the key's rate
    limit (the request is counted). May read the database: call it from a worker thread.
    """
    scheme, _, secret = authorization.partition(" ")
    principal = keys.authenticate(secret.strip() if scheme.lower() == "bearer" else None)
    if project and project != principal.project:
        # Another project's objects are invisible, so its very existence is not confirmed.
        raise NotFoundError(
            f"project {project!r} does not exist or this key cannot see it",
            remedy="use a key created for that project, or leave out X-Podium-Project",
        )
    keys.admit(principal)
    return principal
