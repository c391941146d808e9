"""Monitoring: per deployment, drift per feature with its distributions, accuracy and
fairness over time, and the alerts."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.monitoring.protocol import DriftResult
from podium.ui.drift_charts import distribution_charts, drift_charts
from podium.ui.monitoring_series import (
    SLICES,
    accuracy_over_time,
    fairness_over_time,
    series_charts,
)
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
    monitoring = viewer.platform.monitoring
    name = request.path_params["name"]
    hours = request.query_params.get("hours", "24")
    window = int(hours) if hours.isdigit() and int(hours) in WINDOWS_HOURS else 24
    viewer.platform.deployments.get(name)  # 404 for an unknown deployment, before any read
    # One report: drift, each feature's distributions and the window's accuracy together.
    report = monitoring.report(name, window=timedelta(hours=window))
    result = DriftResult.model_validate(report["drift"])
    start, end = result.start, result.end
    columns = [*result.columns, *([result.prediction] if result.prediction else [])]
    features = [c.column for c in result.columns]
    attribute = request.query_params.get("attribute", "")
    if attribute not in features:
        attribute = ""
    labeled = int((report.get("accuracy") or {}).get("labeled") or 0)
    accuracy = accuracy_over_time(monitoring, name, start=start, end=end) if labeled else {}
    fairness = (
        fairness_over_time(monitoring, name, attribute, start=start, end=end)
        if labeled and attribute
        else {}
    )
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
        distributions=distribution_charts(report.get("distributions") or {}),
        labeled=labeled,
        accuracy_reason=(report.get("accuracy") or {}).get("reason", ""),
        accuracy_charts=series_charts(accuracy, hours=window),
        features=features,
        attribute=attribute,
        fairness_charts=(
            series_charts(fairness, hours=window, prefix=f"{attribute}: ") if attribute else []
        ),
        slices=SLICES,
        alerts=[a for a in monitoring.alerts() if a.deployment == name],
    )


routes = [
    Route("/ui/monitoring", monitoring, name="monitoring"),
    Route("/ui/monitoring/{name}", drift, name="drift"),
]
