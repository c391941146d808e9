"""Lake tables in a notebook: a table's facts and schema, its commit history (rows added
per version as a chart), and lineage graphs (the UI's graph)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from podium.data.catalog.models import LineageGraph
from podium.data.types import HistoryEntry, TableInfo
from podium.notebook.html import card, charts, facts, section, table, text, when
from podium.ui import charts as svg

__all__ = [
    "TableHistory",
    "history_entry_html",
    "history_html",
    "lineage_html",
    "table_history",
    "table_info_html",
]


def table_info_html(info: TableInfo) -> str:
    """A table's current version: size, files, times and schema."""
    about = facts(
        [
            ("version", text(info.version)),
            ("rows", f"{info.row_count:,}"),
            ("size", f"{info.size_bytes:,} bytes"),
            ("files", f"{info.num_files:,}"),
            ("partitioned by", text(", ".join(info.partition_columns))),
            ("created", when(info.created_at)),
            ("modified", when(info.last_modified)),
        ]
    )
    schema = table(
        ["column", "type", "nullable"],
        [[text(c.name), text(c.type), "yes" if c.nullable else "no"] for c in info.schema],
    )
    return card("table", info.name, about, section("schema", schema))


def history_entry_html(entry: HistoryEntry) -> str:
    """One commit of a table."""
    return card(f"commit {entry.version}", entry.operation, _commit_facts(entry))


def history_html(name: str, entries: Sequence[HistoryEntry]) -> str:
    """A table's commits, newest first, and the rows each version added and removed."""
    ordered = sorted(entries, key=lambda e: e.version)
    rows = [
        [text(e.version), when(e.timestamp), text(e.operation), _count(e.rows_added),
         _count(e.rows_removed), _count(e.rows_updated), text(e.actor)]
        for e in reversed(ordered)
    ]  # fmt: skip
    listing = table(["version", "at", "operation", "added", "removed", "updated", "by"], rows)
    series = {
        label: [
            (float(e.version), float(v)) for e in ordered if (v := getattr(e, field)) is not None
        ]
        for label, field in (("rows added", "rows_added"), ("rows removed", "rows_removed"))
    }
    chart = (
        charts([svg.line_chart(series, title="rows per commit", x_label="version")])
        if len(ordered) > 1
        else ""
    )
    return card("history", name, listing, chart)


def lineage_html(graph: LineageGraph) -> str:
    """A lineage graph as the UI draws it, the root highlighted."""
    drawing = svg.graph(
        [(n.id, n.kind, n.label) for n in graph.nodes],
        [(e.source, e.target, e.kind) for e in graph.edges],
        title=f"lineage of {graph.root}",
        highlight=graph.root,
    )
    return card("lineage", graph.root, charts([drawing]))


@dataclass(frozen=True)
class TableHistory:
    """A table's commits, shown as HTML in a notebook (see :func:`table_history`)."""

    name: str
    entries: list[HistoryEntry]

    def _repr_html_(self) -> str:
        return history_html(self.name, self.entries)

    def __repr__(self) -> str:
        return f"TableHistory({self.name!r}, {len(self.entries)} commits)"


def table_history(name: str, entries: Sequence[HistoryEntry]) -> TableHistory:
    """A table's history for display: ``table_history("raw.customers",
    p.data.history("raw.customers"))``."""
    return TableHistory(name, list(entries))


def _commit_facts(entry: HistoryEntry) -> str:
    return facts(
        [
            ("at", when(entry.timestamp)),
            ("added", _count(entry.rows_added)),
            ("removed", _count(entry.rows_removed)),
            ("updated", _count(entry.rows_updated)),
            ("by", text(entry.actor)),
        ]
    )


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
