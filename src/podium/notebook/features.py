"""Training sets in a notebook: their size, the exact inputs and feature versions they
were computed from, the first rows, and missing values per column as a chart (a missing
feature is one not yet known as of the row's time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.notebook.html import card, charts, facts, section, table, text
from podium.ui import charts as svg

if TYPE_CHECKING:
    from podium.features.historical import HistoricalFeatures

__all__ = ["training_set_html"]

_SHOWN_ROWS = 10


def training_set_html(training: HistoricalFeatures) -> str:
    """A training set: rows and columns, its lineage, the first rows and nulls per column."""
    data = training.table
    rows = int(data.num_rows)
    about = facts([("rows", f"{rows:,}"), ("columns", f"{data.num_columns:,}")])
    head = data.slice(0, _SHOWN_ROWS).to_pylist()
    sample = table(
        list(data.column_names),
        [[text(row.get(c)) for c in data.column_names] for row in head],
        total=rows,
    )
    missing = [(name, float(data.column(name).null_count)) for name in data.column_names]
    nulls = (
        charts(
            [
                svg.bar_chart(
                    missing, title="missing values per column", flagged=[n for n, v in missing if v]
                )
            ]
        )
        if rows
        else ""
    )
    return card(
        "training set",
        f"{rows:,} rows",
        about,
        section("features", text(", ".join(training.features))),
        section("inputs", text(", ".join(training.inputs))),
        section("first rows", sample),
        nulls,
    )
