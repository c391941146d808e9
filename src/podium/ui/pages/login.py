"""Logging in (with an API key, or a one-time link), logging out, and the overview page."""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from podium.access.roles import Principal, Role
from podium.errors import AuthenticationError, PermissionDeniedError, PodiumError
from podium.ui.login_links import consume_login_link
from podium.ui.pages.common import guard_of, viewer_of
from podium.ui.rendering import page
from podium.ui.sessions import COOKIE_NAME, SESSION_SECONDS, Session

__all__ = ["LINK_ACTOR", "routes"]

LINK_ACTOR = "ui:login-link"
# Before there is a session, the login form's CSRF token is a cookie it must match.
_LOGIN_CSRF_COOKIE = "podium_login_csrf"
_MAX_KEY = 200


def login_form(request: Request) -> Response:
    token = request.query_params.get("token")
    if token is not None:
        return _use_link(request, token)
    return _form(request, error=None)


async def login(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=10, max_part_size=4096) as form:
        key = str(form.get("key") or "").strip()
        sent = str(form.get("csrf") or "")
        next_url = str(form.get("next") or "")
    expected = request.cookies.get(_LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, sent):
        raise PermissionDeniedError(
            "this login form carries no valid CSRF token",
            code="csrf-failed",
            remedy="open /ui/login again and log in from there",
        )
    if len(key) > _MAX_KEY:
        return _form(request, error=AuthenticationError("that is not an API key"), status=401)
    try:
        principal = await run_in_threadpool(guard_of(request).installation.keys.authenticate, key)
    except AuthenticationError as exc:
        return _form(request, error=exc, status=401)
    if principal.scopes:  # the UI shows every area: a key limited to some cannot use it
        refused = PermissionDeniedError(
            "a scoped key cannot log in to the web UI",
            remedy="log in with a key without --scope",
        )
        return _form(request, error=refused, status=403)
    return _logged_in(request, principal, _safe_next(next_url))


async def logout(request: Request) -> Response:
    viewer = await run_in_threadpool(viewer_of, request)
    async with request.form(max_files=0, max_fields=10, max_part_size=4096) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    guard_of(request).check_form(viewer, fields)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/ui", httponly=True, samesite="strict")
    return response


def home(request: Request) -> Response:
    viewer = viewer_of(request)
    p = viewer.platform
    return page(
        request,
        viewer,
        "home.html",
        experiments=p.tracking.list_experiments(),
        models=p.registry.list_models(),
        pending=p.registry.list_requests(status="pending"),
        deployments=p.deployments.list(),
        alerts=[a for a in p.monitoring.alerts() if a.state == "firing"],
    )


def _use_link(request: Request, token: str) -> Response:
    guard = guard_of(request)
    grant = consume_login_link(guard.installation.settings.home, token)
    if grant is None:
        error = AuthenticationError(
            "this login link was used already, has expired or is not one",
            remedy="log in with an API key, or restart `podium up` for a new link",
        )
        return _form(request, error=error, status=401)
    project = guard.installation.projects.get(grant.project)
    principal = Principal(actor=LINK_ACTOR, project_id=project.id, project=project.name,
                          role=Role.ADMIN)  # fmt: skip
    return _logged_in(request, principal, "/ui/")


def _logged_in(request: Request, principal: Principal, next_url: str) -> Response:
    session = Session.start(principal)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        guard_of(request).codec.encode(session),
        max_age=SESSION_SECONDS,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(_LOGIN_CSRF_COOKIE, path="/ui/login")
    return response


def _form(request: Request, *, error: PodiumError | None, status: int = 200) -> Response:
    csrf = request.cookies.get(_LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(16)
    next_url = _safe_next(request.query_params.get("next", ""))
    response = page(request, None, "login.html", status=status, error=error, csrf=csrf,
                    next=next_url)  # fmt: skip
    response.set_cookie(
        _LOGIN_CSRF_COOKIE,
        csrf,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _safe_next(url: str) -> str:
    """Only a UI path of this server: never an open redirect elsewhere."""
    ok = url.startswith("/ui/") and not url.startswith("/ui//") and "\\" not in url
    return url if ok else "/ui/"


routes = [
    Route("/ui/", home, name="home"),
    Route("/ui/login", login_form, name="login_form"),
    Route("/ui/login", login, methods=["POST"], name="login"),
    Route("/ui/logout", logout, methods=["POST"], name="logout"),
]
