"""The data catalog of one project: what each lake table is, who owns it, where it came from.

>>> catalog = Catalog(db, lake, project)                              # doctest: +SKIP
>>> catalog.update("raw.customers", owner="ana", tags=["churn"])      # doctest: +SKIP
>>> catalog.describe("raw.customers").row_count                       # doctest: +SKIP
1000
>>> catalog.lineage("raw.customers@3").edges                          # doctest: +SKIP
[LineageEdge(source='table:raw.customers@3', target='run:0f3a...', kind='read_by'), ...]
"""

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

if TYPE_CHECKING:
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

# The models alone (the HTTP client's) must not load the catalog service and the lake.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Catalog": "podium.data.catalog.service",
        "parse_node": "podium.data.catalog.lineage",
        "CatalogHit": "podium.data.catalog.models",
        "ColumnDescription": "podium.data.catalog.models",
        "LineageEdge": "podium.data.catalog.models",
        "LineageGraph": "podium.data.catalog.models",
        "LineageNode": "podium.data.catalog.models",
        "TableDescription": "podium.data.catalog.models",
    },
)

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
