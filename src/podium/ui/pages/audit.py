"""The audit log (admins only, as ``GET /v1/audit``), and pipeline runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.access.roles import Role
from podium.ui.pages.common import guard_of, viewer_of
from podium.ui.rendering import page

__all__ = ["routes"]


def audit(request: Request) -> Response:
    viewer = viewer_of(request)
    viewer.principal.require(Role.ADMIN, action="read_audit")
    action = request.query_params.get("action", "").strip() or None
    entries = guard_of(request).installation.audit.list(
        viewer.principal.project_id, limit=200, action=action
    )
    return page(request, viewer, "audit.html", entries=entries, action=action or "")


def pipelines(request: Request) -> Response:
    viewer = viewer_of(request)
    runs = viewer.platform.pipelines.runs(limit=100)
    return page(request, viewer, "pipelines.html", runs=runs)


routes = [
    Route("/ui/audit", audit, name="audit"),
    Route("/ui/pipelines", pipelines, name="pipelines"),
]
