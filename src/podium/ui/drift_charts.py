"""Drift per feature as bar charts, shared by the UI's drift page and notebooks."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from podium.monitoring.protocol import ColumnDriftResult
from podium.ui import charts

__all__ = ["drift_charts"]


def drift_charts(columns: Sequence[ColumnDriftResult]) -> list[Markup]:
    """One bar chart per kind of test, each with the tests' threshold: p-value tests as
    ``-log10(p)`` (higher is more drift), distances as they are (higher is more drift)."""
    found = []
    for kind, title in (("p_value", "-log10(p-value)"), ("distance", "distance")):
        mine = [c for c in columns if c.statistic_kind == kind]
        if not mine:
            continue
        thresholds = {_strength(kind, c.threshold) for c in mine}
        found.append(
            charts.bar_chart(
                [(c.column, _strength(kind, c.score)) for c in mine],
                title=f"drift per feature: {title}, higher is more drift",
                flagged=[c.column for c in mine if c.drifted],
                threshold=thresholds.pop() if len(thresholds) == 1 else None,
            )
        )
    return found


def _strength(kind: str, score: float | None) -> float | None:
    if score is None or kind != "p_value":
        return score
    return -math.log10(max(score, 1e-300))
