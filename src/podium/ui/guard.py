"""Who is calling the UI, and what they may do: the session, the role, the CSRF token.

Every page asks :meth:`Guard.viewer` for the caller; without a valid session it raises
:class:`LoginRequired` (the app answers with the login page). The caller's platform is
the one the API builds for the same key (``Installation.platform_for_existing``), so the
services check roles and projects exactly as they do for the API, and write the same
audit entries. A session made from a key ends as soon as the key is revoked (checked
on every page: one small read).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.requests import Request

from podium.access.audit import request_scope
from podium.access.roles import Principal, Role
from podium.errors import NotFoundError, PermissionDeniedError, PodiumError
from podium.platform import Installation, Platform
from podium.ui.sessions import COOKIE_NAME, Session, SessionCodec

__all__ = ["Guard", "LoginRequired", "Viewer"]


class LoginRequired(Exception):
    """The request has no valid session: show the login page."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in caller of one request, with their platform and CSRF token."""

    session: Session
    principal: Principal
    platform: Platform
    csrf: str

    def may(self, role: Role) -> bool:
        """Whether the caller holds ``role`` (pages hide what they may not do)."""
        return self.principal.role.rank >= role.rank


class Guard:
    """Turn session cookies into viewers, and check forms and roles."""

    def __init__(self, installation: Installation, codec: SessionCodec) -> None:
        self.installation = installation
        self.codec = codec

    def viewer(self, request: Request) -> Viewer:
        """The caller of ``request``; raises :class:`LoginRequired` without a live session.

        Reads the database (is the key still valid?): call it from a worker thread.
        """
        session = self.codec.decode(request.cookies.get(COOKIE_NAME))
        if session is None or not self._key_alive(session):
            raise LoginRequired()
        principal = session.principal
        try:
            platform = self.installation.platform_for_existing(
                principal.project, user=principal.actor, role=principal.role
            )
        except NotFoundError:  # the project is gone
            raise LoginRequired() from None
        return Viewer(session, principal, platform, self.codec.csrf_token(session.id))

    def check_form(self, viewer: Viewer, form: Mapping[str, object]) -> None:
        """Refuse (403) a form without this session's CSRF token."""
        token = form.get("csrf")
        if not self.codec.check_csrf(viewer.session.id, token if isinstance(token, str) else None):
            raise PermissionDeniedError(
                "this form carries no valid CSRF token, so it was not sent by a podium page",
                code="csrf-failed",
                remedy="reload the page and submit the form again",
            )

    @contextmanager
    def action(self, request: Request, viewer: Viewer, role: Role, name: str) -> Iterator[None]:
        """Run one form's action as the API runs a mutation: the role is checked, the
        services audit themselves under this request's id, and a refusal before any
        service ran is audited here."""
        request_id = str(getattr(request.state, "request_id", ""))
        principal = viewer.principal
        with request_scope(request_id, {"method": "POST", "via": "ui"}) as scope:
            outcome = "ok"
            try:
                principal.require(role, action=name)
                yield
            except PodiumError as exc:
                outcome = exc.code
                raise
            finally:
                if scope.entries == 0 or (outcome != "ok" and scope.failures == 0):
                    self.installation.audit.record(
                        project_id=principal.project_id,
                        actor=principal.actor,
                        action=name,
                        target=request.url.path,
                        outcome=outcome,
                        request_id=request_id,
                        detail={"method": "POST", "via": "ui"},
                    )

    def _key_alive(self, session: Session) -> bool:
        if session.key_id is None:  # a login link's session: nothing to revoke
            return True
        try:
            keys = self.installation.keys.list(session.project)
        except NotFoundError:
            return False
        return any(k.id == session.key_id and k.revoked_at is None for k in keys)
