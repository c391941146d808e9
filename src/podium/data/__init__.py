"""The data layer of one project: the lake (Delta tables), warehouse SQL (DuckDB), catalog.

>>> p = podium.connect()                                          # doctest: +SKIP
>>> p.data.write("raw.customers", df, mode="append")              # doctest: +SKIP
TableVersion(name='raw.customers', version=0, rows_written=100)
>>> p.data.sql("SELECT contract, avg(churned) FROM raw.customers GROUP BY 1")  # doctest: +SKIP
"""

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
