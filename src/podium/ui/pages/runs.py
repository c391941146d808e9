"""Experiments and runs: the runs table, a run, its artifacts, and runs compared."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from podium.errors import InvalidInputError, PodiumError
from podium.tracking.types import Run
from podium.ui import charts
from podium.ui.pages.common import viewer_of
from podium.ui.rendering import page

__all__ = ["MAX_COMPARED", "routes"]

PAGE_SIZES = (25, 50, 100, 500)
MAX_COMPARED = 200
_DEFAULT_COLUMNS = 8
_BASE_SORTS = {"name": "attributes.run_name", "status": "attributes.status",
               "started": "attributes.start_time"}  # fmt: skip


def experiments(request: Request) -> Response:
    viewer = viewer_of(request)
    found = viewer.platform.tracking.list_experiments()
    return page(request, viewer, "experiments.html", experiments=found)


def runs(request: Request) -> Response:
    viewer = viewer_of(request)
    args = request.query_params
    experiment = args.get("experiment") or None
    filter_text = args.get("filter", "").strip()
    order = args.get("order", "").strip() or "attributes.start_time DESC"
    size = int(args["size"]) if args.get("size", "").isdigit() else 50
    size = size if size in PAGE_SIZES else 50
    wanted = args.getlist("cols")
    state = {"experiment": experiment, "filter": filter_text, "order": order, "size": size,
             "cols": wanted}  # fmt: skip
    error: PodiumError | None = None
    try:
        found = viewer.platform.tracking.search_runs(
            experiment,
            filter=filter_text or None,
            order_by=[order],
            max_results=size,
            page_token=args.get("page") or None,
        )
        shown, next_token = found.runs, found.next_page_token
    except InvalidInputError as exc:  # a bad filter or order: say so above the table
        error, shown, next_token = exc, [], None
    available = _keys(shown)
    chosen = [c for c in wanted if c.startswith(("params.", "metrics."))]
    columns = chosen or available[:_DEFAULT_COLUMNS]
    return page(
        request,
        viewer,
        "runs.html",
        status=error.status if error else 200,
        runs=shown,
        state=state,
        columns=columns,
        available=sorted(set(available) | set(columns)),
        next_token=next_token,
        first_page=not args.get("page"),
        error=error,
        sizes=PAGE_SIZES,
        base_sorts=_BASE_SORTS,
        experiments=viewer.platform.tracking.list_experiments(),
        max_compared=MAX_COMPARED,
    )


def run_detail(request: Request) -> Response:
    viewer = viewer_of(request)
    tracking = viewer.platform.tracking
    run = tracking.get_run(request.path_params["run_id"])
    histories = {key: tracking.metric_history(run.id, key) for key in sorted(run.metrics)}
    # A metric logged once is in the table already; only a history makes a chart.
    metric_charts = [
        charts.line_chart(
            {key: [(p.step, p.value) for p in points]}, title=key, width=460, height=220
        )
        for key, points in histories.items()
        if len(points) > 1
    ]
    return page(
        request,
        viewer,
        "run.html",
        run=run,
        metric_charts=metric_charts,
        artifacts=tracking.list_artifacts(run.id),
        inputs=[_input(ref) for ref in run.inputs],
    )


def artifact(request: Request) -> Response:
    viewer = viewer_of(request)
    run_id, path = request.path_params["run_id"], request.path_params["path"]
    data = viewer.platform.tracking.read_artifact(run_id, path)
    name = path.rsplit("/", 1)[-1].replace('"', "")
    # Always a download, never rendered: an artifact is user content, not a page.
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def compare(request: Request) -> Response:
    viewer = viewer_of(request)
    ids = list(dict.fromkeys(i for i in request.query_params.getlist("run") if i))
    if not ids:
        return RedirectResponse("/ui/runs", status_code=303)
    if len(ids) > MAX_COMPARED:
        raise InvalidInputError(
            f"compare takes at most {MAX_COMPARED} runs; got {len(ids)} instead",
            field="run",
            remedy=f"tick at most {MAX_COMPARED} runs on the runs page",
        )
    tracking = viewer.platform.tracking
    quoted = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    found = tracking.search_runs(
        None, filter=f"attributes.run_id IN ({quoted})", max_results=MAX_COMPARED
    ).runs
    if len(found) < len(ids):
        missing = sorted(set(ids) - {r.id for r in found})
        tracking.get_run(missing[0])  # raises NotFoundError naming it
    metric_keys = sorted({k for r in found for k in r.metrics})
    param_keys = sorted({k for r in found for k in r.params})
    chosen = [m for m in request.query_params.getlist("metric") if m in metric_keys]
    chosen = chosen or metric_keys[:3]
    labels = {r.id: r.name or r.id[:8] for r in found}
    histories = {
        key: {
            labels[r.id]: [(p.step, p.value) for p in tracking.metric_history(r.id, key)]
            for r in found
            if key in r.metrics
        }
        for key in chosen
    }
    # Metrics logged once per run are charted by their last values below only.
    metric_charts = [
        charts.line_chart(series, title=key)
        for key, series in histories.items()
        if any(len(points) > 1 for points in series.values())
    ]
    finals = [
        charts.bar_chart([(labels[r.id], r.metrics.get(key)) for r in found], title=f"{key} (last)")
        for key in chosen
    ]
    differing = [k for k in param_keys if len({r.params.get(k) for r in found}) > 1]
    # Params every run shares would be flat lines: only the differing ones get an axis.
    axes = [f"params.{k}" for k in differing or param_keys] + [f"metrics.{k}" for k in chosen]
    rows = {labels[r.id]: _values(r) for r in found}
    return page(
        request,
        viewer,
        "compare.html",
        runs=found,
        ids=ids,
        metric_keys=metric_keys,
        chosen=chosen,
        param_keys=param_keys,
        differing=differing,
        metric_charts=metric_charts,
        finals=finals,
        parallel=charts.parallel_coordinates(axes, rows, title="params and metrics"),
    )


def _keys(runs: list[Run]) -> list[str]:
    metrics = sorted({k for r in runs for k in r.metrics})
    params = sorted({k for r in runs for k in r.params})
    return [f"metrics.{k}" for k in metrics] + [f"params.{k}" for k in params]


def _values(run: Run) -> dict[str, float | str | None]:
    values: dict[str, float | str | None] = {f"params.{k}": v for k, v in run.params.items()}
    values.update({f"metrics.{k}": v for k, v in run.metrics.items()})
    return values


def _input(ref: str) -> dict[str, str]:
    """A run input such as ``raw.customers@3``: the table and its version, if any."""
    table, _, version = ref.partition("@")
    return {"ref": ref, "table": table, "version": version}


routes = [
    Route("/ui/experiments", experiments, name="experiments"),
    Route("/ui/runs", runs, name="runs"),
    Route("/ui/runs/{run_id}", run_detail, name="run"),
    Route("/ui/runs/{run_id}/artifacts/{path:path}", artifact, name="artifact"),
    Route("/ui/compare", compare, name="compare"),
]
