"""Deployments: traffic split, canary state, circuit breakers, live traffic and history.

The live panel (request rate, latency percentiles per version, breakers, the canary's
verdict) is also served alone at ``/ui/deployments/NAME/live``, which the page's script
fetches every few seconds; without the script the page shows it as of the page load.
Traffic and latency come from the inference log (``p.monitoring.performance``, a DuckDB
query of the window), breakers and the verdict from the serving runtime's memory: nothing
is added to a prediction's path.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.serving.control.spec import Traffic
from podium.ui import charts
from podium.ui.guard import Viewer
from podium.ui.pages.common import guard_of, viewer_of
from podium.ui.rendering import page

__all__ = ["LIVE_MINUTES", "REFRESH_SECONDS", "routes", "traffic_split"]

LIVE_MINUTES = (5, 15, 60)
"""The windows the live panel offers, in minutes (15 unless asked)."""
REFRESH_SECONDS = 5


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


def _minutes(request: Request) -> int:
    asked = request.query_params.get("minutes", "15")
    return int(asked) if asked.isdigit() and int(asked) in LIVE_MINUTES else 15


def _live(request: Request, viewer: Viewer, name: str) -> dict[str, Any]:
    """What the live panel shows for the deployment ``name`` (already checked to exist)."""
    minutes = _minutes(request)
    runtime = guard_of(request).installation.loaded_runtime(viewer.principal.project)
    # The breakers, cache and canary verdict exist only where a serving runtime is loaded;
    # the UI never loads models just to show a page.
    status = viewer.platform.deployments.status(name).status if runtime is not None else None
    verdict = runtime.judge.verdicts.get(name) if runtime is not None else None
    performance = viewer.platform.monitoring.performance(name, window=timedelta(minutes=minutes))
    # The log's timeline has a row per bucket that saw requests; a quiet bucket is a zero.
    buckets, seconds = 24, max(1, minutes * 60 // 24)
    seen = {int(b["bucket"]): b for b in performance.timeline}
    rate: dict[str, list[tuple[float, float]]] = {"requests/s": []}
    p99: dict[str, list[tuple[float, float]]] = {"p99 ms": []}
    for i in range(buckets):
        x = (i + 1 - buckets) * seconds / 60.0
        bucket = seen.get(i)
        rate["requests/s"].append((x, bucket["requests"] / seconds if bucket else 0.0))
        if bucket is not None and bucket["p99_ms"] is not None:
            p99["p99 ms"].append((x, float(bucket["p99_ms"])))
    return {
        "name": name,
        "minutes": minutes,
        "choices": LIVE_MINUTES,
        "live": status,
        "verdict_stats": verdict.stats if verdict is not None else None,
        "performance": performance,
        "rate_svg": charts.line_chart(
            rate, title="requests per second", x_label="minutes from now", width=420, height=200
        ),
        "p99_svg": charts.line_chart(
            p99,
            title="p99 latency (ms)",
            x_label="minutes from now",
            width=420,
            height=200,
            x_range=(-float(minutes), 0.0),
        ),
    }


def deployment(request: Request) -> Response:
    viewer = viewer_of(request)
    api = viewer.platform.deployments
    found = api.get(request.path_params["name"])
    split = traffic_split(found.traffic)
    return page(
        request,
        viewer,
        "deployment.html",
        deployment=found,
        split=split,
        split_svg=charts.bar_chart(
            [(label, share) for label, share in split], title="traffic share"
        ),
        history=list(reversed(api.history(found.name)))[:50],
        refresh_seconds=REFRESH_SECONDS,
        **_live(request, viewer, found.name),
    )


def live_panel(request: Request) -> Response:
    """The live panel alone (an HTML fragment), for the page's script to swap in."""
    viewer = viewer_of(request)
    found = viewer.platform.deployments.get(request.path_params["name"])
    return page(request, viewer, "_live.html", **_live(request, viewer, found.name))


routes = [
    Route("/ui/deployments", deployments, name="deployments"),
    Route("/ui/deployments/{name}", deployment, name="deployment"),
    Route("/ui/deployments/{name}/live", live_panel, name="deployment_live"),
]
