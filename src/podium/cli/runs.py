"""``podium runs``: search, inspect and compare tracked runs, embedded or on a server.

Every command takes a run id or a unique prefix of one (the 8 characters ``runs ls``
shows are enough).
"""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from podium.cli.context import cli_state
from podium.cli.render import (
    SHORT_ID,
    JsonOption,
    WideOption,
    console,
    format_mapping,
    format_ms,
    format_number,
    print_json,
    short_id,
    table,
)
from podium.errors import InvalidInputError, NotFoundError
from podium.tracking.protocol import Tracking
from podium.tracking.types import Run

__all__ = ["app", "resolve_run_id"]

app = typer.Typer(help="Tracked runs: ls (search), show one, compare several.")

_STATUS_STYLE = {"FINISHED": "green", "FAILED": "red", "RUNNING": "yellow", "KILLED": "dim"}
_FULL_ID = 32
_HEX = re.compile(r"^[0-9a-f]+$")
_ORDER_METRIC = re.compile(r"^\s*metrics\.(`[^`]+`|\S+)", re.IGNORECASE)


@app.command("ls")
def list_runs(
    ctx: typer.Context,
    experiment: Annotated[
        list[str] | None,
        typer.Option("--experiment", "-e", help="Only runs of this experiment (repeatable)."),
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.8 AND params.model = 'rf'\"."),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", "-o", help='e.g. "metrics.auc DESC" (repeatable).'),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many runs.")
    ] = 20,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """List runs matching a filter, newest first unless --order-by says otherwise.

    One column per metric (those in --order-by first), as many as the terminal holds;
    --wide shows every metric, the params and the start time.
    """
    platform = cli_state(ctx).platform()
    page = platform.tracking.search_runs(
        experiment or None, filter=filter, order_by=order_by, max_results=limit
    )
    if as_json:
        print_json([run.model_dump(mode="json") for run in page.runs])
        return
    where = ", ".join(experiment) if experiment else "every experiment"
    shown = console()
    if not page.runs:
        shown.print(f"no runs of {where} in project {platform.project!r} match")
        return
    metrics = _metric_columns(page.runs, order_by or [])
    hidden: list[str] = []
    if not wide:
        metrics, hidden = _fitting(metrics, page.runs, shown.width)
    headers = ["run id", "name", "status", *metrics]
    if wide:
        headers += ["params", "started (UTC)"]
    title = f"runs of {where} in project {platform.project!r}"
    out = table(title, *headers, wide=wide, long_text=("params",))
    for run in page.runs:
        status = Text(run.status, style=_STATUS_STYLE.get(run.status, ""))
        cells: list[str | Text] = [short_id(run.id), run.name, status]
        cells += [_metric(run, key) for key in metrics]
        if wide:
            cells += [format_mapping(run.params), format_ms(run.start_time)]
        out.add_row(*cells)
    shown.print(out)
    if hidden:
        more = "1 more metric" if len(hidden) == 1 else f"{len(hidden)} more metrics"
        shown.print(f"{more} ({', '.join(hidden)}): --wide shows every one")
    if page.next_page_token:
        shown.print(f"showing the first {limit}; more runs match (raise --limit)")


app.command("list", hidden=True)(list_runs)  # the name before `ls`, kept working


def _metric_columns(runs: list[Run], order_by: list[str]) -> list[str]:
    """Every metric of ``runs``: those sorted by first, then by name."""
    present = {key for run in runs for key in run.metrics}
    first = [m.group(1).strip("`") for m in map(_ORDER_METRIC.match, order_by) if m]
    return [key for key in first if key in present] + sorted(present - set(first))


def _fitting(metrics: list[str], runs: list[Run], width: int) -> tuple[list[str], list[str]]:
    """The metrics whose columns fit ``width`` beside the id, name and status; the rest."""
    name = max(len(run.name) for run in runs)
    room = width - (SHORT_ID + 2) - (min(name, 24) + 2) - (len("FINISHED") + 2) - 2
    shown = []
    for key in metrics:
        room -= max(len(key), len("0.0000")) + 2
        if room < 0:
            break
        shown.append(key)
    return shown, metrics[len(shown) :]


def _metric(run: Run, key: str) -> str:
    return format_number(run.metrics[key]) if key in run.metrics else "-"


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A run id or a unique prefix of one.")],
) -> None:
    """Show one run: params, metrics, tags, inputs, artifacts and environment."""
    tracking = cli_state(ctx).platform().tracking
    run = tracking.get_run(resolve_run_id(tracking, run_id))
    console().print(Group(*_run_sections(tracking, run)))


@app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (or prefixes).")],
) -> None:
    """Compare runs side by side: one column per run, params then metrics."""
    tracking = cli_state(ctx).platform().tracking
    comparison = tracking.compare_runs([resolve_run_id(tracking, r) for r in run_ids])
    out = table("run comparison", "")
    out.caption = "* the param differs between the runs"
    for run in comparison.runs:
        out.add_column(f"{short_id(run.id)}\n{run.name}")
    differing = set(comparison.differing_params)
    for key in comparison.param_keys:
        values = [run.params.get(key, "-") for run in comparison.runs]
        if key in differing:
            out.add_row(f"params.{key} *", *values, style="bold yellow")
        else:
            out.add_row(f"params.{key}", *values)
    if comparison.param_keys:
        out.rows[-1].end_section = True
    for key in comparison.metric_keys:
        cells = [
            format_number(run.metrics[key]) if key in run.metrics else "-"
            for run in comparison.runs
        ]
        out.add_row(f"metrics.{key}", *cells)
    console().print(out)


def resolve_run_id(tracking: Tracking, run_id: str) -> str:
    """The full id of the one run whose id starts with ``run_id``."""
    if len(run_id) >= _FULL_ID or not _HEX.match(run_id):
        return run_id
    page = tracking.search_runs(filter=f"attributes.run_id LIKE '{run_id}%'", max_results=2)
    if not page.runs:
        raise NotFoundError(
            f"no run id starts with {run_id!r}",
            remedy="list runs with `podium runs ls`",
        )
    if len(page.runs) > 1:
        raise InvalidInputError(
            f"more than one run id starts with {run_id!r}",
            field="run_id",
            remedy="give more characters of the id",
        )
    return page.runs[0].id


def _run_sections(tracking: Tracking, run: Run) -> list[RenderableType]:
    summary = table(f"run {run.id}", "", "", wide=True)
    summary.show_header = False
    duration = run.duration_ms
    for label, value in (
        ("name", run.name),
        ("experiment", run.experiment),
        ("status", Text(run.status, style=_STATUS_STYLE.get(run.status, ""))),
        ("user", run.user or "-"),
        ("started (UTC)", format_ms(run.start_time)),
        ("ended (UTC)", format_ms(run.end_time)),
        ("duration", "-" if duration is None else f"{duration / 1000:.1f} s"),
        ("parent run", run.parent_run_id or "-"),
    ):
        summary.add_row(label, value)
    sections: list[RenderableType] = [summary]

    params = table("params", "key", "value", wide=True)
    for key in sorted(run.params):
        params.add_row(key, run.params[key])
    metrics = table("metrics", "key", "latest", "points")
    for key in sorted(run.metrics):
        points = len(tracking.metric_history(run.id, key))
        metrics.add_row(key, format_number(run.metrics[key]), str(points))
    tags = table("tags", "key", "value", wide=True)
    for key in sorted(run.tags):
        tags.add_row(key, run.tags[key])
    inputs = table("inputs", "reference", wide=True)
    for ref in run.inputs:
        inputs.add_row(ref)
    artifacts = table("artifacts", "path", "bytes", "sha256")
    for artifact in tracking.list_artifacts(run.id):
        artifacts.add_row(artifact.path, str(artifact.size), artifact.digest[:12])
    environment = table("environment", "key", "value", wide=True)
    for key, value in sorted(run.environment.items()):
        shown = format_mapping(value) if isinstance(value, dict) else str(value)
        environment.add_row(key, shown)
    for section in (params, metrics, tags, inputs, artifacts, environment):
        if section.row_count:
            sections.append(section)
    return sections
