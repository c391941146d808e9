"""Data and features: lake tables (schema, history), and feature definitions (freshness)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.ui import charts
from podium.ui.pages.common import viewer_of
from podium.ui.rendering import page

__all__ = ["routes"]


def tables(request: Request) -> Response:
    viewer = viewer_of(request)
    text = request.query_params.get("q", "").strip()
    hits = viewer.platform.catalog.search(text) if text else None
    return page(
        request, viewer, "tables.html", tables=viewer.platform.data.tables(), q=text, hits=hits
    )


def table(request: Request) -> Response:
    viewer = viewer_of(request)
    name = request.path_params["name"]
    data, catalog = viewer.platform.data, viewer.platform.catalog
    info = data.table_info(name)
    lineage = catalog.lineage(f"{name}@{info.version}", depth=3)
    return page(
        request,
        viewer,
        "table.html",
        info=info,
        history=list(reversed(data.history(name)))[:100],
        description=catalog.describe(name),
        lineage_svg=charts.graph(
            [(n.id, n.kind, n.label) for n in lineage.nodes],
            [(e.source, e.target, e.kind) for e in lineage.edges],
            title=f"lineage of {name}@{info.version}",
            highlight=lineage.root,
        ),
    )


def features(request: Request) -> Response:
    viewer = viewer_of(request)
    definitions = viewer.platform.features.list_definitions()
    return page(request, viewer, "features.html", definitions=definitions)


def feature(request: Request) -> Response:
    viewer = viewer_of(request)
    found = viewer.platform.features.describe(request.path_params["name"])
    return page(request, viewer, "feature.html", d=found)


routes = [
    Route("/ui/data", tables, name="tables"),
    Route("/ui/data/{name}", table, name="table"),
    Route("/ui/features", features, name="features"),
    Route("/ui/features/{name}", feature, name="feature"),
]
