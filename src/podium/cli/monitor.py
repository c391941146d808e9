"""``podium monitor``: drift, data quality, performance, accuracy, fairness, alerts, reports.

Every command reads a window of the deployment's inference log: ``--window 1h`` (``90s``,
``30m``, ``6h``, ``2d``; default one hour) up to now. Embedded by default, or against a
server with ``--url``.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from podium.cli.context import cli_state
from podium.cli.render import (
    JsonOption,
    WideOption,
    console,
    format_age,
    format_datetime,
    format_number,
    print_json,
    table,
    working,
)
from podium.errors import InvalidInputError
from podium.monitoring.alerts.rules import METRICS, default_rules
from podium.monitoring.alerts.state import Alert
from podium.monitoring.protocol import AccuracyResult, ColumnDriftResult, DriftResult, Metric
from podium.monitoring.report import write_report
from podium.platform import Platform

__all__ = ["app", "parse_window", "print_accuracy", "print_alerts", "print_drift"]

app = typer.Typer(
    help="Monitoring: drift, quality, performance, accuracy, fairness, alerts and reports."
)
rules_app = typer.Typer(help="Alert rules: ls, add, defaults, rm, metrics.")
app.add_typer(rules_app, name="rules")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_STATE_STYLE = {"firing": "bold red", "pending": "yellow", "resolved": "green"}

DeploymentArgument = Annotated[str, typer.Argument(help="The deployment.")]
WindowOption = Annotated[
    str, typer.Option("--window", "-w", help="How far back from now: 90s, 30m, 1h, 2d.")
]


def parse_window(text: str) -> timedelta:
    """``"30m"`` → 30 minutes; units s, m, h, d."""
    match = _WINDOW.match(text.strip())
    if match is None:
        raise InvalidInputError(
            f"the window must be a number and a unit (s, m, h, d); got {text!r} instead",
            field="window",
            remedy="pass e.g. --window 30m or --window 6h",
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _platform(ctx: typer.Context) -> Platform:
    return cli_state(ctx).platform()


def _score(value: float | None) -> str:
    return "n/a" if value is None else format_number(value)


def _drift_row(column: ColumnDriftResult, *, name: str | None = None) -> list[Any]:
    decision = Text("drift", style="bold red") if column.drifted else Text("ok", style="green")
    if column.score is None:
        decision = Text("n/a", style="dim")
    return [
        name or column.column,
        column.kind,
        column.test,
        _score(column.score),
        format_number(column.threshold),
        decision,
        column.reason,
    ]


@app.command("drift")
def drift(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    window: WindowOption = "1h",
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="A model ref (churn/3) or a lake table to compare with."),
    ] = None,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """Drift of every feature and of the prediction, and which test decided it (--wide: why)."""
    platform = _platform(ctx)
    result = platform.monitoring.drift(deployment, window=parse_window(window), reference=reference)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    print_drift(result, wide=wide)


def print_drift(result: DriftResult, *, wide: bool = False) -> None:
    """The drift table of ``result`` and its verdict (or why there is none); ``wide`` adds
    why each test was chosen and what it found."""
    if not result.enough_data:
        console().print(result.reason)
        return
    headers = ["column", "kind", "test", "score", "threshold", "decision"]
    out = table(
        f"drift of {result.deployment!r}: {result.rows} rows vs {result.reference}",
        *headers,
        *(["why"] if wide else []),
        wide=wide,
        long_text=("why",),
    )
    rows = [_drift_row(column) for column in result.columns]
    if result.prediction is not None:
        rows.append(_drift_row(result.prediction, name="(prediction)"))
    for row in rows:
        out.add_row(*(row if wide else row[:-1]))  # the last cell says why
    console().print(out)
    share = _score(result.share_drifted)
    verdict = "dataset drift" if result.dataset_drift else "no dataset drift"
    console().print(
        f"{verdict}: {len(result.drifted_columns)} of {len(result.columns)} columns drifted "
        f"(share {share})"
    )


@app.command("quality")
def quality(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    window: WindowOption = "1h",
) -> None:
    """Data contract violations and completeness of the deployment's inputs."""
    result = _platform(ctx).monitoring.quality(deployment, window=parse_window(window))
    if not result.rows:
        console().print(result.reason)
        return
    if result.ok:
        console().print(f"{result.rows} rows meet the data contract of {result.reference}")
    else:
        out = table(f"contract violations of {deployment!r}", "column", "kind", "rows", "detail")
        for v in result.violations:
            out.add_row(
                str(v.get("column")), str(v.get("kind")), str(v.get("count")), str(v.get("detail"))
            )
        console().print(out)
    out = table("completeness", "column", "non-null share")
    for column, share in sorted(result.completeness.items()):
        out.add_row(column, _score(share))
    console().print(out)


@app.command("performance")
def performance(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    window: WindowOption = "1h",
) -> None:
    """Latency percentiles, throughput, error and degraded rates per version."""
    result = _platform(ctx).monitoring.performance(deployment, window=parse_window(window))
    if result.overall is None:
        console().print(result.reason)
        return
    out = table(
        f"performance of {deployment!r}",
        "version",
        "requests",
        "req/s",
        "errors",
        "degraded",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    )
    for row in [result.overall, *result.versions]:
        out.add_row(
            "all" if row.version is None else row.version,
            str(row.requests),
            format_number(row.throughput_rps),
            format_number(row.error_rate),
            format_number(row.degraded_rate),
            _score(row.p50_ms),
            _score(row.p95_ms),
            _score(row.p99_ms),
        )
    console().print(out)


def _metric_cell(metric: Metric | None) -> str:
    if metric is None:
        return "-"
    return _score(metric.value) if metric.value is not None else f"n/a ({metric.reason})"


@app.command("accuracy")
def accuracy(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    window: WindowOption = "1h",
) -> None:
    """Accuracy metrics from feedback labels, overall and per version (canary vs stable)."""
    result = _platform(ctx).monitoring.accuracy(deployment, window=parse_window(window))
    print_accuracy(result)


def print_accuracy(result: AccuracyResult) -> None:
    """The accuracy table of ``result``, overall and per version (or why there is none)."""
    if not result.labeled:
        console().print(result.reason)
        return
    names = list(result.overall)
    out = table(
        f"accuracy of {result.deployment!r} ({result.task}, {result.labeled} labels)",
        "version",
        "labels",
        *names,
    )
    out.add_row("all", str(result.labeled), *(_metric_cell(result.overall[n]) for n in names))
    for version, metrics in result.versions.items():
        count = str(result.labeled_by_version.get(version, ""))
        out.add_row(version, count, *(_metric_cell(metrics.get(n)) for n in names))
    console().print(out)


@app.command("fairness")
def fairness(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    attribute: Annotated[str, typer.Option("--attribute", "-a", help="The sensitive feature.")],
    positive: Annotated[str, typer.Option(help="The positive class.")] = "1",
    privileged: Annotated[str | None, typer.Option(help="The privileged group's value.")] = None,
    window: WindowOption = "1h",
) -> None:
    """Demographic parity, equal opportunity and disparate impact for one attribute."""
    label: Any = positive
    with contextlib.suppress(ValueError):  # else a class name
        label = json.loads(positive)
    result = _platform(ctx).monitoring.fairness(
        deployment,
        attribute,
        window=parse_window(window),
        positive=label,
        privileged=privileged,
    )
    if not result.labeled:
        console().print(result.reason)
        return
    out = table(f"fairness of {deployment!r} by {attribute!r}", "metric", "value")
    for name, metric in result.metrics.items():
        out.add_row(name, _metric_cell(metric))
    console().print(out)


@app.command("feedback")
def feedback(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="The prediction's request_id.")],
    label: Annotated[str, typer.Argument(help="The true outcome: 1, 0.5, or text.")],
) -> None:
    """Record the true outcome of one prediction."""
    value: Any = label
    with contextlib.suppress(ValueError):  # else text
        value = json.loads(label)
    _platform(ctx).monitoring.feedback(request_id, value)
    console().print(f"recorded label {label} for request {request_id}")


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option("--state", help="firing, pending or resolved.")
    ] = None,
    evaluate: Annotated[
        bool, typer.Option("--evaluate", help="Evaluate every rule first.")
    ] = False,
    wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """List alerts, newest first (--wide adds the deployment, severity and time)."""
    monitoring = _platform(ctx).monitoring
    if evaluate:
        changed = monitoring.evaluate_alerts()
        if not as_json:
            console().print(f"evaluated the rules: {len(changed)} alerts changed state")
    found = monitoring.alerts(state=state)
    if as_json:
        print_json([alert.model_dump(mode="json") for alert in found])
        return
    print_alerts(found, wide=wide)


def print_alerts(found: list[Alert], *, wide: bool = False) -> None:
    """A table of alerts (or ``no alerts``): by default what fits a terminal, the message
    cut to the room left; ``wide`` adds the deployment, severity and time, in full."""
    if not found:
        console().print("no alerts")
        return
    if wide:
        columns = ["rule", "deployment", "severity", "state", "value", "since (UTC)", "message"]
    else:
        columns = ["rule", "state", "value", "for", "message"]
    out = table("alerts", *columns, wide=wide, long_text=("message",))
    for alert in found:
        since = alert.fired_at or alert.since
        cells: dict[str, str | Text] = {
            "rule": alert.rule,
            "deployment": alert.deployment,
            "severity": alert.severity,
            "state": Text(alert.state, style=_STATE_STYLE.get(alert.state, "")),
            "value": _score(alert.value),
            "since (UTC)": format_datetime(since),
            "for": format_age(since),
            "message": Text(alert.message),
        }
        out.add_row(*(cells[name] for name in columns))
    console().print(out)


@app.command("report")
def report(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file; the JSON goes beside it.")
    ] = None,
    window: WindowOption = "1h",
) -> None:
    """Write a self-contained HTML report (charts, no scripts) and its JSON twin."""
    monitoring = _platform(ctx).monitoring
    with working(f"computing the monitoring report of {deployment!r}"):
        document = monitoring.report(deployment, window=parse_window(window))
    html_path, json_path = write_report(document, out or Path(f"{deployment}-report.html"))
    console().print(f"wrote {html_path} and {json_path}")


# -- rules ---------------------------------------------------------------------------------


@rules_app.command("ls")
def list_rules(
    ctx: typer.Context,
) -> None:
    """List the alert rules."""
    found = _platform(ctx).monitoring.rules()
    if not found:
        console().print(
            "no alert rules; add the ready-made ones with `podium monitor rules defaults`"
        )
        return
    out = table("alert rules", "name", "deployment", "rule", "severity")
    for rule in found:
        out.add_row(rule.name, rule.deployment, rule.describe(), rule.severity)
    console().print(out)


@rules_app.command("add")
def add_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the rule.")],
    deployment: Annotated[str, typer.Option("--deployment", "-d", help="The deployment.")],
    metric: Annotated[str, typer.Option("--metric", "-m", help="See `rules metrics`.")],
    condition: Annotated[str, typer.Option("--condition", "-c", help=">, >=, <, <=, ==, !=")],
    threshold: Annotated[
        float, typer.Option("--threshold", "-t", help="The value the metric is compared with.")
    ],
    window: WindowOption = "1h",
    for_: Annotated[str, typer.Option("--for", help="How long it must hold: 0s, 5m.")] = "0s",
    severity: Annotated[str, typer.Option(help="info, warning or critical.")] = "warning",
    min_requests: Annotated[
        int,
        typer.Option("--min-requests", help="Judge only windows of N requests or more."),
    ] = 0,
) -> None:
    """Add an alert rule."""
    body = {
        "name": name,
        "deployment": deployment,
        "metric": metric,
        "condition": condition,
        "threshold": threshold,
        "window": parse_window(window),
        "for_seconds": int(parse_window(for_).total_seconds()),
        "severity": severity,
        "min_requests": min_requests,
    }
    monitoring = _platform(ctx).monitoring
    created = monitoring.create_rule(body)
    console().print(f"added rule {created.name}: {created.describe()}")


@rules_app.command("defaults")
def add_defaults(
    ctx: typer.Context,
    deployment: DeploymentArgument,
) -> None:
    """Add the ready-made rules (drift, latency, errors, breaker, contract, accuracy)."""
    monitoring = _platform(ctx).monitoring
    existing = {rule.name for rule in monitoring.rules()}
    for rule in default_rules(deployment):
        if rule.name in existing:
            console().print(f"kept existing rule {rule.name}")
            continue
        monitoring.create_rule(rule)
        console().print(f"added rule {rule.name}: {rule.describe()}")


@rules_app.command("rm")
def remove_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rule to delete.")],
) -> None:
    """Delete an alert rule and its alerts."""
    _platform(ctx).monitoring.delete_rule(name)
    console().print(f"deleted rule {name}")


@rules_app.command("metrics")
def metrics() -> None:
    """List the metrics a rule can watch."""
    out = table("metrics", "metric", "meaning")
    for name, meaning in METRICS.items():
        out.add_row(name, meaning)
    console().print(out)
