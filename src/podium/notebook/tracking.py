"""Runs and pages of runs in a notebook: their facts, params and metrics, and the charts
of the UI's compare page (last value per run, parallel coordinates of params)."""

from __future__ import annotations

from datetime import UTC, datetime

from podium.notebook.html import card, charts, facts, number, section, table, text
from podium.tracking.types import Run, RunPage
from podium.ui import charts as svg

__all__ = ["run_html", "run_page_html"]

_COLUMNS = 8
"""Param and metric columns a page of runs shows (the UI's default)."""
_CHARTED_METRICS = 3
_CHARTED_RUNS = 200


def run_html(run: Run) -> str:
    """A run: who, when and how long, its params, its metrics as a table and a chart."""
    duration = run.duration_ms
    about = facts(
        [
            ("id", text(run.id)),
            ("experiment", text(run.experiment)),
            ("status", text(run.status)),
            ("started", _millis(run.start_time)),
            ("took", "" if duration is None else f"{duration / 1000:.3g} s"),
            ("user", text(run.user)),
            ("parent", text(run.parent_run_id)),
        ]
    )
    params = table(["param", "value"], [[text(k), text(v)] for k, v in sorted(run.params.items())])
    metrics = table(
        ["metric", "last value"], [[text(k), number(v)] for k, v in sorted(run.metrics.items())]
    )
    bars = (
        charts([svg.bar_chart(sorted(run.metrics.items()), title="metrics (last value)")])
        if run.metrics
        else ""
    )
    tags = table(["tag", "value"], [[text(k), text(v)] for k, v in sorted(run.tags.items())])
    inputs = ", ".join(text(i) for i in run.inputs)
    return card(
        "run",
        run.name or run.id,
        about,
        section("params", params),
        section("metrics", metrics),
        bars,
        section("tags", tags) if run.tags else "",
        section("inputs", inputs),
    )


def run_page_html(page: RunPage) -> str:
    """A page of runs: the table the runs page shows, then the compare page's charts of
    the first metrics (last value per run) and parallel coordinates of the params."""
    runs = page.runs
    metric_keys = sorted({k for r in runs for k in r.metrics})
    param_keys = sorted({k for r in runs for k in r.params})
    columns = ([f"metrics.{k}" for k in metric_keys] + [f"params.{k}" for k in param_keys])[
        :_COLUMNS
    ]
    rows = [
        [text(r.name), text(r.id[:8]), text(r.status), _millis(r.start_time)]
        + [_cell(r, c) for c in columns]
        for r in runs
    ]
    listing = table(["name", "id", "status", "started", *columns], rows)
    charted = runs[:_CHARTED_RUNS]
    labels = {r.id: r.name or r.id[:8] for r in charted}
    chosen = metric_keys[:_CHARTED_METRICS]
    finals = [
        svg.bar_chart([(labels[r.id], r.metrics.get(k)) for r in charted], title=f"{k} (last)")
        for k in chosen
        if len(charted) > 1
    ]
    differing = [k for k in param_keys if len({r.params.get(k) for r in charted}) > 1]
    axes = [f"params.{k}" for k in differing or param_keys] + [f"metrics.{k}" for k in chosen]
    parallel = (
        [
            svg.parallel_coordinates(
                axes, {labels[r.id]: _values(r) for r in charted}, title="params and metrics"
            )
        ]
        if len(charted) > 1 and axes
        else []
    )
    more = "more on the next page (pass next_page_token)" if page.next_page_token else ""
    return card(
        "runs",
        f"{len(runs):,} run{'s' if len(runs) != 1 else ''}",
        listing,
        text(more),
        charts([*finals, *parallel]),
    )


def _cell(run: Run, column: str) -> str:
    entity, _, key = column.partition(".")
    if entity == "metrics":
        return number(run.metrics.get(key))
    return text(run.params.get(key))


def _values(run: Run) -> dict[str, float | str | None]:
    values: dict[str, float | str | None] = {f"params.{k}": v for k, v in run.params.items()}
    values.update({f"metrics.{k}": v for k, v in run.metrics.items()})
    return values


def _millis(value: int | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
