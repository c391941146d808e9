"""The data catalog of one project: what each lake table is, who owns it, where it came from.

>>> catalog = Catalog(db, lake, project)                              # doctest: +SKIP
>>> catalog.update("raw.customers", owner="ana", tags=["churn"])      # doctest: +SKIP
>>> catalog.describe("raw.customers").row_count                       # doctest: +SKIP
1000
>>> catalog.lineage("raw.customers@3").edges                          # doctest: +SKIP
[LineageEdge(source='table:raw.customers@3', target='run:0f3a...', kind='read_by'), ...]
"""

from podium.data.catalog.lineage import parse_node
from podium.data.catalog.models import (
    CatalogHit,
    ColumnDescription,
    LineageEdge,
    LineageGraph,
    LineageNode,
    TableDescription,
)
from podium.data.catalog.service import Catalog

__all__ = [
    "Catalog",
    "CatalogHit",
    "ColumnDescription",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "TableDescription",
    "parse_node",
]
