"""The monitoring report of a deployment: one self-contained HTML page and its JSON twin.

:func:`build_report` gathers drift, data quality, performance, accuracy, the reference vs
current distributions of every feature and the deployment's alerts into one JSON
document; :func:`render_html` draws it (inline SVG charts, no scripts); :func:`write_report`
writes both files. ``podium monitor report DEPLOYMENT`` does all three.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from podium.monitoring.drift.status import DriftStatus, drift_status
from podium.monitoring.report_svg import PAGE, bar_pairs, line_chart, score_bars

__all__ = ["distributions", "render_html", "report_document", "write_report"]

_TOP_CATEGORIES = 10
_STATUS_HTML: dict[str, str] = {
    "drift": '<span class="drift">drift</span>',
    "ok": '<span class="ok">ok</span>',
    "n/a": '<span class="note">n/a</span>',
}


def _shares(counts: Sequence[float]) -> list[float]:
    total = float(sum(counts))
    return [float(c) / total if total else 0.0 for c in counts]


def _numeric(column: Mapping[str, Any], values: np.ndarray) -> dict[str, Any] | None:
    histogram = column.get("histogram") or {}
    edges = [float(e) for e in histogram.get("edges", [])]
    counts = [float(c) for c in histogram.get("counts", [])]
    if len(edges) < 2 or len(counts) != len(edges) - 1:
        return None
    values = values[np.isfinite(values)]
    inside = np.clip(values, edges[0], edges[-1])
    current, _ = np.histogram(inside, bins=np.asarray(edges))
    labels = [f"{(a + b) / 2:.3g}" for a, b in itertools.pairwise(edges)]
    return {
        "kind": "numeric",
        "labels": labels,
        "reference": _shares(counts),
        "current": _shares(current.tolist()),
        "current_rows": int(values.size),
    }


def _categorical(column: Mapping[str, Any], values: list[Any]) -> dict[str, Any] | None:
    raw = column.get("categories") or []
    pairs = raw.items() if isinstance(raw, Mapping) else raw  # to_dict: [value, count] pairs
    reference = {str(k): float(v) for k, v in pairs}
    if not reference:
        return None
    present = [str(v) for v in values if v is not None]
    seen: dict[str, int] = {}
    for value in present:
        seen[value] = seen.get(value, 0) + 1
    labels = sorted(set(reference) | set(seen), key=lambda k: -(reference.get(k, 0.0)))
    labels = labels[:_TOP_CATEGORIES]
    return {
        "kind": "categorical",
        "labels": labels,
        "reference": _shares([reference.get(k, 0.0) for k in labels]),
        "current": [seen.get(k, 0) / len(present) if present else 0.0 for k in labels],
        "current_rows": len(present),
    }


def distributions(profile: Mapping[str, Any], current: pa.Table) -> dict[str, Any]:
    """Reference vs current shares per feature: histograms on the reference's bin edges,
    the reference's most frequent categories."""
    out: dict[str, Any] = {}
    columns = profile.get("columns") or []
    named = columns.items() if isinstance(columns, Mapping) else ((c["name"], c) for c in columns)
    for name, column in named:
        if name not in current.column_names:
            continue
        values = current.column(name)
        shown: dict[str, Any] | None
        if column.get("kind") == "numeric":
            array = values.to_numpy(zero_copy_only=False).astype(np.float64)
            shown = _numeric(column, array)
        else:
            shown = _categorical(column, values.to_pylist())
        if shown is not None:
            out[name] = shown
    return out


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def report_document(
    deployment: str,
    *,
    start: datetime,
    end: datetime,
    sections: Mapping[str, Any],
) -> dict[str, Any]:
    """The report as plain JSON: ``sections`` are drift, quality, performance, accuracy,
    distributions and alerts (each already plain data)."""
    document: dict[str, Any] = _json_safe(
        {
            "deployment": deployment,
            "generated_at": datetime.now(UTC),
            "window": {"start": start, "end": end},
            **sections,
        }
    )
    return document


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return '<span class="note">n/a</span>'
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return escape(str(value))


def _status(column: Mapping[str, Any]) -> DriftStatus:
    """The column's ``status`` as the JSON states it (derived the same way if absent)."""
    found = column.get("status")
    if found in ("drift", "ok", "n/a"):
        status: DriftStatus = found
        return status
    return drift_status(column.get("score"), bool(column.get("drifted")))


def _verdict(drift: Mapping[str, Any]) -> str:
    status = drift.get("status")
    if status not in ("drift", "ok", "n/a"):
        tested = any(c.get("score") is not None for c in drift.get("columns", []))
        status = ("drift" if drift.get("dataset_drift") else "ok") if tested else "n/a"
    if status == "n/a":
        return '<p class="note">n/a: no feature could be tested, so no dataset verdict</p>'
    if status == "drift":
        return '<p class="drift">dataset drift</p>'
    return '<p class="ok">no dataset drift</p>'


def _drift_row(column: Mapping[str, Any], name: str) -> tuple[str, ...]:
    return (
        name,
        escape(str(column["test"])),
        _number(column["score"]),
        _number(column["threshold"]),
        _STATUS_HTML[_status(column)],
        escape(str(column["reason"])),
    )


def _drift_html(drift: Mapping[str, Any]) -> str:
    if not drift.get("enough_data"):
        return f'<p class="note">{escape(str(drift.get("reason", "")))}</p>'
    columns = drift.get("columns", [])
    rows = [_drift_row(c, escape(str(c["column"]))) for c in columns]
    prediction = drift.get("prediction")
    if prediction:
        rows.append(_drift_row(prediction, "<b>(prediction)</b>"))
    scored = [
        (c["column"], float(c["score"]), float(c["threshold"]), _status(c))
        for c in columns
        if c.get("score") is not None and c.get("statistic_kind") == "distance"
    ]
    chart = score_bars("drift score (distance) vs threshold", scored) if scored else ""
    reference = escape(str(drift.get("reference", "")))
    return (
        f'<p class="note">reference: {reference}; {drift.get("rows", 0)} rows in the window; '
        f"{len(drift.get('drifted_columns', []))} of {len(columns)} columns drifted</p>"
        + _verdict(drift)
        + chart
        + _table(["column", "test", "score", "threshold", "decision", "why"], rows)
    )


def _distributions_html(shown: Mapping[str, Any]) -> str:
    if not shown:
        return '<p class="note">no reference profile with distributions</p>'
    legend = (
        '<p class="legend"><span style="background:#7a8ca3"></span>reference'
        '<span style="background:#e0823d"></span>current</p>'
    )
    charts = "".join(
        bar_pairs(name, d["labels"], d["reference"], d["current"]) for name, d in shown.items()
    )
    return legend + f'<div class="charts">{charts}</div>'


def _performance_html(performance: Mapping[str, Any]) -> str:
    overall = performance.get("overall")
    if not overall:
        return f'<p class="note">{escape(str(performance.get("reason", "")))}</p>'
    rows = [
        (
            escape(str(v["version"] if v["version"] is not None else "all")),
            v["requests"],
            _number(v["throughput_rps"], 3),
            _number(v["error_rate"], 3),
            _number(v["degraded_rate"], 3),
            _number(v["p50_ms"], 3),
            _number(v["p95_ms"], 3),
            _number(v["p99_ms"], 3),
        )
        for v in [overall, *performance.get("versions", [])]
    ]
    timeline = performance.get("timeline", [])
    xs = [str(t["start"])[11:16] for t in timeline]
    charts = (
        line_chart("requests per interval", xs, [float(t["requests"]) for t in timeline])
        + line_chart("p99 latency", xs, [t["p99_ms"] for t in timeline], unit=" ms")
        if timeline
        else ""
    )
    headers = ["version", "requests", "req/s", "errors", "degraded", "p50 ms", "p95 ms", "p99 ms"]
    return _table(headers, rows) + f'<div class="charts">{charts}</div>'


def _accuracy_html(accuracy: Mapping[str, Any]) -> str:
    if not accuracy.get("labeled"):
        return f'<p class="note">{escape(str(accuracy.get("reason", "")))}</p>'
    groups = {"all": accuracy.get("overall", {}), **accuracy.get("versions", {})}
    names = sorted({name for metrics in groups.values() for name in metrics})
    rows = [
        (escape(str(group)), *(_number(metrics.get(n, {}).get("value")) for n in names))
        for group, metrics in groups.items()
    ]
    return (
        f'<p class="note">{accuracy["labeled"]} labeled predictions ({accuracy["task"]})</p>'
        + _table(["version", *names], rows)
    )


def _quality_html(quality: Mapping[str, Any]) -> str:
    if not quality.get("rows"):
        return f'<p class="note">{escape(str(quality.get("reason", "")))}</p>'
    violations = quality.get("violations", [])
    if not violations:
        return '<p class="ok">every row meets the data contract</p>'
    rows = [
        (
            escape(str(v.get("column"))),
            escape(str(v.get("kind"))),
            _number(v.get("count")),
            escape(str(v.get("detail", ""))),
        )
        for v in violations
    ]
    return _table(["column", "violation", "rows", "detail"], rows)


def _alerts_html(alerts: Sequence[Mapping[str, Any]]) -> str:
    if not alerts:
        return '<p class="note">no alerts</p>'
    rows = [
        (
            escape(a["rule"]),
            escape(a["severity"]),
            escape(a["state"]),
            _number(a["value"]),
            escape(str(a.get("fired_at") or "")),
            escape(a["message"]),
        )
        for a in alerts
    ]
    return _table(["rule", "severity", "state", "value", "fired at", "message"], rows)


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML page with inline SVG charts."""
    window = report.get("window", {})
    body = "".join(
        f"<h2>{escape(title)}</h2>{html}"
        for title, html in (
            ("Drift", _drift_html(report.get("drift", {}))),
            (
                "Distributions: reference vs current",
                _distributions_html(report.get("distributions", {})),
            ),
            ("Performance", _performance_html(report.get("performance", {}))),
            ("Accuracy (feedback labels)", _accuracy_html(report.get("accuracy", {}))),
            ("Data quality", _quality_html(report.get("quality", {}))),
            ("Alerts", _alerts_html(report.get("alerts", []))),
        )
    )
    return PAGE.format(
        title=escape(f"podium monitoring report: {report.get('deployment', '')}"),
        subtitle=escape(
            f"window {window.get('start', '')} to {window.get('end', '')} (UTC); generated "
            f"{report.get('generated_at', '')}"
        ),
        body=body,
        drift="#c0392b",
        ok="#2e8b57",
    )


def write_report(report: Mapping[str, Any], path: Path) -> tuple[Path, Path]:
    """Write ``path`` (HTML) and its JSON twin beside it (``.json``); both paths."""
    html_path = path if path.suffix == ".html" else path.with_suffix(".html")
    json_path = html_path.with_suffix(".json")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(report), encoding="utf-8")
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False), encoding="utf-8")
    return html_path, json_path
