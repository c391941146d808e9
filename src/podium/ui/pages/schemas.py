"""The event schema registry: subjects with their mode, and a subject's versions."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.ui.pages.common import viewer_of
from podium.ui.rendering import page

__all__ = ["routes"]


def subjects(request: Request) -> Response:
    viewer = viewer_of(request)
    found = viewer.platform.events.schemas.subjects()
    return page(request, viewer, "schemas.html", subjects=found)


def subject(request: Request) -> Response:
    viewer = viewer_of(request)
    schemas = viewer.platform.events.schemas
    name = request.path_params["name"]
    found = schemas.subject(name)
    versions = sorted(schemas.versions(name), key=lambda v: v.version, reverse=True)
    shown = [(v, json.dumps(v.json_schema, indent=2, sort_keys=True)) for v in versions]
    return page(request, viewer, "schema.html", subject=found, versions=shown)


routes = [
    Route("/ui/schemas", subjects, name="schemas"),
    Route("/ui/schemas/{name}", subject, name="schema"),
]
