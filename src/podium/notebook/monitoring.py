"""Monitoring results in a notebook: drift per feature (the UI's drift charts), accuracy
overall and per version, fairness per group."""

from __future__ import annotations

from podium.monitoring.protocol import AccuracyResult, DriftResult, FairnessResult, Metric
from podium.notebook.html import card, charts, facts, number, section, status, table, text, when
from podium.ui import charts as svg
from podium.ui.drift_charts import drift_charts

__all__ = ["accuracy_html", "drift_html", "fairness_html"]


def drift_html(result: DriftResult) -> str:
    """A drift result: the verdict, the window, a chart per kind of test with its
    threshold (drifted features in red) and the table of every column's test."""
    columns = [*result.columns, *([result.prediction] if result.prediction else [])]
    about = facts(
        [
            ("status", status(result.status)),
            ("window", f"{when(result.start)} to {when(result.end)}"),
            ("rows", f"{result.rows:,}"),
            ("reference", text(result.reference)),
            ("drifted", text(", ".join(result.drifted_columns))),
            ("share drifted", number(result.share_drifted)),
        ]
    )
    rows = [
        [text(c.column), status(c.status), text(c.test), number(c.score), number(c.threshold),
         f"{c.reference_rows:,}", f"{c.current_rows:,}", text(c.reason)]
        for c in columns
    ]  # fmt: skip
    listing = table(
        ["column", "status", "test", "score", "threshold", "reference rows", "rows", "reason"],
        rows,
    )
    return card(
        "drift",
        result.deployment,
        about,
        text(result.reason),
        charts(drift_charts(columns)),
        section("per column", listing),
    )


def accuracy_html(result: AccuracyResult) -> str:
    """An accuracy result: the metrics overall and per version, as a table and a chart
    per metric across versions."""
    about = facts(
        [
            ("task", text(result.task)),
            ("window", f"{when(result.start)} to {when(result.end)}"),
            ("labeled", f"{result.labeled:,}"),
        ]
    )
    names = sorted({*result.overall, *(k for m in result.versions.values() for k in m)})
    scopes: dict[str, dict[str, Metric]] = {"overall": dict(result.overall), **result.versions}
    labeled = {"overall": result.labeled, **result.labeled_by_version}
    rows = [
        [text(scope), text(labeled.get(scope))] + [_metric(metrics.get(n)) for n in names]
        for scope, metrics in scopes.items()
    ]
    listing = table(["", "labeled", *names], rows)
    bars = [
        svg.bar_chart(
            [(scope, _value(metrics.get(n))) for scope, metrics in scopes.items()],
            title=n,
            width=420,
        )
        for n in names
    ]
    return card(
        "accuracy",
        result.deployment,
        about,
        text(result.reason),
        listing,
        charts(bars) if result.labeled else "",
    )


def fairness_html(result: FairnessResult) -> str:
    """A fairness result: the metrics across groups, and each group's rates as a table
    and a chart."""
    about = facts(
        [
            ("attribute", text(result.attribute)),
            ("window", f"{when(result.start)} to {when(result.end)}"),
            ("labeled", f"{result.labeled:,}"),
        ]
    )
    metrics = table(
        ["metric", "value", "reason"],
        [[text(k), _metric(m), text(m.reason)] for k, m in sorted(result.metrics.items())],
    )
    keys = sorted(
        {k for g in result.groups.values() for k, v in g.items() if _is_number(v)} - {"count"}
    )
    rows = [
        [text(name), text(group.get("count", ""))] + [number(_number(group.get(k))) for k in keys]
        for name, group in sorted(result.groups.items())
    ]
    groups = table(["group", "rows", *keys], rows)
    bars = [
        svg.bar_chart(
            [(name, _number(group.get(k))) for name, group in sorted(result.groups.items())],
            title=f"{k} per group",
            width=420,
        )
        for k in keys
        if k.endswith("rate")
    ]
    return card(
        "fairness",
        result.deployment,
        about,
        text(result.reason),
        section("metrics", metrics),
        section("groups", groups) if result.groups else "",
        charts(bars),
    )


def _metric(metric: Metric | None) -> str:
    if metric is None:
        return ""
    if metric.value is None:
        return f'<span title="{text(metric.reason)}">n/a</span>'
    return number(metric.value)


def _value(metric: Metric | None) -> float | None:
    return None if metric is None else metric.value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
