"""Deployments: traffic split, canary state, circuit breakers, and their history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.serving.control.spec import Traffic
from podium.ui import charts
from podium.ui.pages.common import guard_of, viewer_of
from podium.ui.rendering import page

__all__ = ["routes", "traffic_split"]


def traffic_split(traffic: Traffic) -> list[tuple[str, float]]:
    """The share of live requests each version gets: the canary's weight, the rest stable."""
    if traffic.canary is None:
        return [(f"v{traffic.stable} (stable)", 1.0)]
    weight = traffic.canary.weight
    return [
        (f"v{traffic.stable} (stable)", 1.0 - weight),
        (f"v{traffic.canary.version} (canary)", weight),
    ]


def deployments(request: Request) -> Response:
    viewer = viewer_of(request)
    found = viewer.platform.deployments.list()
    return page(request, viewer, "deployments.html", deployments=found, split=traffic_split)


def deployment(request: Request) -> Response:
    viewer = viewer_of(request)
    api = viewer.platform.deployments
    found = api.get(request.path_params["name"])
    # The live state (breakers, cache, canary verdict) exists only where a serving runtime
    # is loaded; the UI never loads models just to show a page.
    live = None
    if guard_of(request).installation.loaded_runtime(viewer.principal.project) is not None:
        live = api.status(found.name).status
    split = traffic_split(found.traffic)
    return page(
        request,
        viewer,
        "deployment.html",
        deployment=found,
        live=live,
        split=split,
        split_svg=charts.bar_chart(
            [(label, share) for label, share in split], title="traffic share"
        ),
        history=list(reversed(api.history(found.name)))[:50],
    )


routes = [
    Route("/ui/deployments", deployments, name="deployments"),
    Route("/ui/deployments/{name}", deployment, name="deployment"),
]
