"""The catalog's commands of ``podium data``: ``ls``, ``describe``, ``search``, ``lineage``.

What the project's tables are, who owns them and where they came from. They live under
``podium data`` (registered by :mod:`podium.cli.data`), not in a group of their own: one
group for everything about tables. Table names are ``zone.name``; lineage nodes are also
``raw.customers@3`` (one version), ``run:<id>`` or ``job:<name>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, short_id, table
from podium.data.catalog import LineageGraph, TableDescription
from podium.data.catalog.lineage import MAX_DEPTH

__all__ = [
    "TableArgument",
    "describe",
    "format_bytes",
    "format_rows",
    "lineage",
    "lineage_tree",
    "list_tables",
    "node_label",
    "search",
    "short_description",
]

TableArgument = Annotated[str, typer.Argument(help="A table, as zone.name (raw.customers).")]
Links = dict[str, list[tuple[str, str]]]

_NODE_STYLE = {
    "table": "bold cyan",
    "table_version": "cyan",
    "run": "magenta",
    "job": "yellow",
    "model": "bold green",
    "deployment": "bold blue",
}
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def list_tables(
    ctx: typer.Context,
) -> None:
    """List the project's tables with their version, size, freshness and owner."""
    platform = cli_state(ctx).platform()
    names = platform.data.tables()
    out = console()
    if not names:
        out.print(f"no tables in project {platform.project!r} yet")
        out.print("  write one with: podium data ingest raw.<name> FILE")
        return
    listing = table(
        f"tables of project {platform.project!r}",
        "name",
        "version",
        "rows",
        "size",
        "last modified (UTC)",
        "owner",
        "description",
    )
    for name in names:
        about = platform.catalog.describe(name)
        listing.add_row(
            name,
            str(about.version),
            format_rows(about.row_count),
            format_bytes(about.size_bytes),
            format_datetime(about.last_modified),
            about.owner or "-",
            short_description(about.description) or "-",
        )
    out.print(listing)


def describe(
    ctx: typer.Context,
    name: TableArgument,
) -> None:
    """Describe a table: owner, tags, freshness, size, schema with column docs, lineage."""
    catalog = cli_state(ctx).platform().catalog
    about = catalog.describe(name)
    console().print(Group(*_description_sections(about)))


def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Words to find, e.g. 'churn contract'.")],
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1_000, help="How many tables at most.")
    ] = 50,
) -> None:
    """Search tables by name, description, tags and column names (every word must match)."""
    platform = cli_state(ctx).platform()
    hits = platform.catalog.search(text, limit=limit)
    out = console()
    if not hits:
        out.print(f"no table of project {platform.project!r} matches {text!r}")
        return
    found = table(f"tables matching {text!r}", "table", "matched", "score", "description")
    for hit in hits:
        about = platform.catalog.describe(hit.name)
        found.add_row(
            hit.name,
            ", ".join(hit.matched),
            f"{hit.score:g}",
            short_description(about.description) or "-",
        )
    out.print(found)


def lineage(
    ctx: typer.Context,
    node: Annotated[
        str,
        typer.Argument(
            help="raw.customers, raw.customers@3, run:<id>, job:<name>, "
            "model:<name>/<version> or deployment:<name>."
        ),
    ],
    depth: Annotated[
        int,
        typer.Option(
            "--depth", "-d", min=0, max=MAX_DEPTH, help="How many edges to follow each way."
        ),
    ] = MAX_DEPTH,
) -> None:
    """Show what fed a table, run, model version or deployment (upstream, down to the raw
    tables) and what it fed (downstream, up to the deployments)."""
    catalog = cli_state(ctx).platform().catalog
    graph = catalog.lineage(node, depth=depth)
    out = console()
    out.print(lineage_tree(graph))
    if graph.truncated:
        out.print("the graph is larger than shown: the walk stopped at its node limit")


def lineage_tree(graph: LineageGraph) -> Tree:
    """The graph as two branches under its root: upstream (what fed it), downstream."""
    upstream: Links = defaultdict(list)
    downstream: Links = defaultdict(list)
    for edge in graph.edges:
        downstream[edge.source].append((edge.target, edge.kind))
        if edge.kind != "version_of":  # a version's table is no input of it
            upstream[edge.target].append((edge.source, edge.kind))
    if "@" not in graph.root and graph.root.startswith("table:"):
        # A table's inputs are those of its versions.
        for version, _ in downstream[graph.root]:
            if upstream[version]:
                upstream[graph.root].append((version, "version"))
    root = Tree(_node_text(graph.root))
    for title, links in (("upstream", upstream), ("downstream", downstream)):
        branch = root.add(Text(title, style="bold"))
        if not links[graph.root]:
            branch.add(Text("(none recorded)", style="dim"))
        _grow(branch, graph.root, links, {graph.root})
    return root


def _grow(branch: Tree, node: str, links: Links, seen: set[str]) -> None:
    for other, kind in sorted(links.get(node, []), key=lambda link: _node_order(link[0])):
        label = Text.assemble(_node_text(other), (f"  {kind}", "dim"))
        if other in seen:
            branch.add(label.append(" (shown above)", style="dim"))
            continue
        seen.add(other)
        _grow(branch.add(label), other, links, seen)


def _node_order(node: str) -> tuple[str, int]:
    name, _, version = node.partition("@")
    return name, int(version) if version.isdigit() else -1


def node_label(node: str) -> str:
    """A lineage node for people: tables without ``table:``, run ids shortened."""
    prefix, _, rest = node.partition(":")
    if prefix == "table":
        return rest
    if prefix == "run":
        return f"run:{short_id(rest)}"
    return node


def _node_text(node: str) -> Text:
    prefix, _, rest = node.partition(":")
    kind = "table_version" if prefix == "table" and "@" in rest else prefix
    return Text(node_label(node), style=_NODE_STYLE.get(kind, ""))


def _description_sections(about: TableDescription) -> list[RenderableType]:
    summary = table(f"table {about.name}", "", "", wide=True)
    summary.show_header = False
    count = "1 version" if about.versions == 1 else f"{about.versions} versions"
    for label, value in (
        ("owner", about.owner or "-"),
        ("description", about.description or "-"),
        ("tags", ", ".join(about.tags) or "-"),
        ("freshness", f"{format_datetime(about.last_modified)} UTC ({_age(about.last_modified)})"),
        ("version", f"{about.name}@{about.version} ({count})"),
        ("rows", format_rows(about.row_count)),
        ("size", format_bytes(about.size_bytes)),
        ("partitioned by", ", ".join(about.partition_columns) or "-"),
        ("created", f"{format_datetime(about.created_at)} UTC"),
    ):
        summary.add_row(label, value)
    schema = table(
        "schema", "column", "type", "nullable", "description", long_text=("description",)
    )
    for column in about.columns:
        nullable = "yes" if column.nullable else "no"
        schema.add_row(column.name, column.type, nullable, column.description or "-")
    links = table("lineage", "direction", "node")
    _add_nodes(links, "upstream", about.upstream)
    _add_nodes(links, "downstream", about.downstream)
    links.caption = f"the whole graph: podium data lineage {about.name}"
    return [summary, schema, links]


def _add_nodes(links: Table, direction: str, nodes: Iterable[str]) -> None:
    shown = [node_label(node) for node in sorted(nodes, key=_node_order)]
    links.add_row(direction, ", ".join(shown) if shown else Text("(none recorded)", style="dim"))


def _age(moment: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"


def format_rows(count: int) -> str:
    """A row count with thousands separators."""
    return f"{count:,}"


def format_bytes(size: int) -> str:
    """A size in bytes in binary units: ``812 B``, ``45.1 KiB``, ``1.2 GiB``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def short_description(text: str, width: int = 60) -> str:
    """A description cut to ``width`` characters, for a cell of a listing."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
