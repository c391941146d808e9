"""Monitoring: drift per feature of each deployment, and the alerts."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.ui.drift_charts import drift_charts
from podium.ui.pages.common import viewer_of
from podium.ui.rendering import page

__all__ = ["routes"]

WINDOWS_HOURS = (1, 24, 168, 720)


def monitoring(request: Request) -> Response:
    viewer = viewer_of(request)
    names = [d.name for d in viewer.platform.deployments.list()]
    return page(
        request,
        viewer,
        "monitoring.html",
        deployments=names,
        alerts=viewer.platform.monitoring.alerts(),
    )


def drift(request: Request) -> Response:
    viewer = viewer_of(request)
    name = request.path_params["name"]
    hours = request.query_params.get("hours", "24")
    window = int(hours) if hours.isdigit() and int(hours) in WINDOWS_HOURS else 24
    viewer.platform.deployments.get(name)  # 404 for an unknown deployment, before any read
    result = viewer.platform.monitoring.drift(name, window=timedelta(hours=window))
    columns = [*result.columns, *([result.prediction] if result.prediction else [])]
    return page(
        request,
        viewer,
        "drift.html",
        name=name,
        result=result,
        columns=columns,
        hours=window,
        windows=WINDOWS_HOURS,
        charts=drift_charts(columns),
    )


routes = [
    Route("/ui/monitoring", monitoring, name="monitoring"),
    Route("/ui/monitoring/{name}", drift, name="drift"),
]
