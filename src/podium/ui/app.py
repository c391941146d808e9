"""The UI's ASGI app, and the gateway that puts it at ``/ui/`` in front of the API.

The API authenticates every request by its ``Authorization`` header; a browser has a
session cookie instead. :class:`UiGateway` sits before the API's key check and hands
``/ui`` and everything under it to the UI app, which checks the session itself
(:mod:`podium.ui.guard`) and builds the same per-key platform the API does.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PodiumError,
)
from podium.platform import Installation
from podium.ui.guard import Guard, LoginRequired, Viewer
from podium.ui.headers import SecurityHeaders
from podium.ui.pages import (
    audit,
    batch,
    data,
    deployments,
    login,
    monitoring,
    registry,
    reviews,
    runs,
    schemas,
)
from podium.ui.rendering import error_page
from podium.ui.sessions import SessionCodec, load_server_secret

__all__ = ["PREFIX", "UiGateway", "create_ui"]

PREFIX = "/ui"
_STATIC = Path(__file__).parent / "static"
_MAX_BODY = 64 * 1024


def create_ui(installation: Installation) -> ASGIApp:
    """The web UI of ``installation``, answering paths under ``/ui/``."""
    codec = SessionCodec(load_server_secret(installation.settings.home))
    app = Starlette(
        routes=[
            Route(PREFIX, lambda _: RedirectResponse(f"{PREFIX}/", status_code=307)),
            Mount(f"{PREFIX}/static", StaticFiles(directory=_STATIC), name="static"),
            *login.routes,
            *runs.routes,
            *registry.routes,
            *deployments.routes,
            *monitoring.routes,
            *data.routes,
            *audit.routes,
            *reviews.routes,
            *batch.routes,
            *schemas.routes,
        ],
        exception_handlers={
            LoginRequired: _login_required,
            PodiumError: _podium_error,
            HTTPException: _http_error,
        },
    )
    app.state.guard = Guard(installation, codec)
    return SecurityHeaders(_FormSizeLimit(app), static_prefix=f"{PREFIX}/static/")


class UiGateway:
    """Send ``/ui`` and paths under it to the UI app, everything else on to the API."""

    def __init__(self, app: ASGIApp, *, ui: ASGIApp) -> None:
        self.app = app
        self.ui = ui

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(f"{PREFIX}/")):
            await self.app(scope, receive, send)
            return
        await self.ui(scope, receive, send)


class _FormSizeLimit:
    """Refuse (413) a body over 64 KiB before anything reads it: the UI's forms are a few
    hundred bytes. A body without a length (chunked) is refused too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"0")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if chunked or not length.isdigit() or int(length) > _MAX_BODY:
            error = PayloadTooLargeError(
                f"a UI form is at most {_MAX_BODY} bytes", remedy="send a smaller form"
            )
            await error_page(Request(scope), None, error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _viewer(request: Request) -> Viewer | None:
    found = getattr(request.state, "viewer", None)
    return found if isinstance(found, Viewer) else None


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login_url = f"{PREFIX}/login"
        if target != f"{PREFIX}/":
            login_url += f"?next={quote(target, safe='')}"
        return RedirectResponse(login_url, status_code=303)
    return error_page(
        request,
        None,
        AuthenticationError("you are not logged in", remedy="log in at /ui/login and try again"),
    )


async def _podium_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PodiumError)
    return error_page(request, _viewer(request), exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        missing = NotFoundError(f"there is no page at {request.url.path}", remedy="use the menu")
        return error_page(request, _viewer(request), missing)
    error = InvalidInputError(str(exc.detail), remedy="use the pages' links and forms")
    return error_page(request, _viewer(request), error, status=exc.status_code)
