"""Drift per feature as bar charts, and each feature's reference and current
distributions side by side; shared by the UI's drift page and notebooks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from podium.monitoring.protocol import ColumnDriftResult
from podium.ui import charts

__all__ = ["distribution_charts", "drift_charts"]


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


def distribution_charts(shown: Mapping[str, Any]) -> dict[str, Markup]:
    """Per feature, a histogram of its reference shares beside its current shares.

    ``shown`` is the ``distributions`` section of ``p.monitoring.report``: per feature,
    ``labels`` (bin centres on the reference's bin edges, or the reference's most
    frequent categories) with ``reference`` and ``current`` shares. A malformed entry is
    left out rather than drawn wrong.
    """
    found = {}
    for name, entry in shown.items():
        if not isinstance(entry, Mapping):
            continue
        labels, reference, current = (entry.get(k) for k in ("labels", "reference", "current"))
        if not (isinstance(labels, list) and isinstance(reference, list)):
            continue
        if not isinstance(current, list):
            continue
        found[str(name)] = charts.paired_histogram(
            [str(label) for label in labels],
            [_share(v) for v in reference],
            [_share(v) for v in current],
            title=f"{name} ({entry.get('kind', '')})",
        )
    return found


def _share(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _strength(kind: str, score: float | None) -> float | None:
    if score is None or kind != "p_value":
        return score
    return -math.log10(max(score, 1e-300))
