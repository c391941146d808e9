"""Accuracy and fairness over time: a window cut into slices, each judged on its own.

``p.monitoring.accuracy`` and ``p.monitoring.fairness`` answer for one window; a chart
over time asks them once per slice of the page's window (6 slices: 6 DuckDB queries over
the inference log, none of them on a prediction's path). A slice without labels has no
point, so a line has gaps rather than made-up zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from markupsafe import Markup

from podium.monitoring.protocol import Metric, MonitoringAPI
from podium.ui import charts

__all__ = ["SLICES", "Series", "accuracy_over_time", "fairness_over_time", "series_charts"]

SLICES = 6
Series = dict[str, list[tuple[float, float]]]
"""Per metric name, ``(hours before the window's end, value)`` points, oldest first."""


def _slices(start: datetime, end: datetime, count: int) -> list[tuple[datetime, datetime]]:
    step = (end - start) / count
    return [(start + step * i, start + step * (i + 1)) for i in range(count)]


def _collect(
    start: datetime,
    end: datetime,
    count: int,
    metrics_of: Callable[[tuple[datetime, datetime]], Mapping[str, Metric]],
) -> Series:
    series: Series = {}
    for window in _slices(start, end, count):
        x = (window[1] - end).total_seconds() / 3600.0
        for name, metric in metrics_of(window).items():
            if metric.value is not None:
                series.setdefault(name, []).append((x, metric.value))
    return series


def accuracy_over_time(
    monitoring: MonitoringAPI,
    deployment: str,
    *,
    start: datetime,
    end: datetime,
    count: int = SLICES,
) -> Series:
    """The overall accuracy metrics of ``deployment`` in each of ``count`` slices."""
    return _collect(start, end, count, lambda w: monitoring.accuracy(deployment, window=w).overall)


def fairness_over_time(
    monitoring: MonitoringAPI,
    deployment: str,
    attribute: str,
    *,
    start: datetime,
    end: datetime,
    count: int = SLICES,
) -> Series:
    """The fairness metrics of ``deployment`` for ``attribute`` in each of ``count`` slices."""
    return _collect(
        start,
        end,
        count,
        lambda w: monitoring.fairness(deployment, attribute, window=w).metrics,
    )


def series_charts(series: Series, *, hours: float, prefix: str = "") -> list[Markup]:
    """One small line chart per metric (their scales differ: AUC vs log loss), each over
    the whole window of ``hours``."""
    return [
        charts.line_chart(
            {name: points},
            title=f"{prefix}{name}",
            x_label="hours before the window's end",
            width=320,
            height=200,
            x_range=(-hours, 0.0),
        )
        for name, points in sorted(series.items())
    ]
