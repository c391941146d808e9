"""The data layer of one project: the lake (Delta tables), warehouse SQL (DuckDB), catalog.

>>> p = podium.connect()                                          # doctest: +SKIP
>>> p.data.write("raw.customers", df, mode="append")              # doctest: +SKIP
TableVersion(name='raw.customers', version=0, rows_written=100)
>>> p.data.sql("SELECT contract, avg(churned) FROM raw.customers GROUP BY 1")  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

if TYPE_CHECKING:
    from podium.data.lake import DataLake
    from podium.data.names import NAME_PART_PATTERN
    from podium.data.service import DataService
    from podium.data.types import (
        ColumnInfo,
        HistoryEntry,
        OptimizeResult,
        TableInfo,
        TableVersion,
    )

# Resolved on first use: importing a data submodule (say, the catalog's models, which the
# HTTP client needs) must not load the lake and warehouse (deltalake, DuckDB).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DataLake": "podium.data.lake",
        "NAME_PART_PATTERN": "podium.data.names",
        "DataService": "podium.data.service",
        "ColumnInfo": "podium.data.types",
        "HistoryEntry": "podium.data.types",
        "OptimizeResult": "podium.data.types",
        "TableInfo": "podium.data.types",
        "TableVersion": "podium.data.types",
    },
)

__all__ = [
    "NAME_PART_PATTERN",
    "ColumnInfo",
    "DataLake",
    "DataService",
    "HistoryEntry",
    "OptimizeResult",
    "TableInfo",
    "TableVersion",
]
