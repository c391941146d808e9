"""The data interfaces of the SDK: ``p.data`` and ``p.catalog``, embedded or remote.

:class:`~podium.data.service.DataService` and :class:`~podium.data.catalog.Catalog`
implement them in process; :class:`~podium.client.data.HttpData` and
:class:`~podium.client.catalog.HttpCatalog` implement them over the REST API, with the
same arguments, return types and errors, so a notebook runs unchanged against both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

import pyarrow as pa  # type: ignore[import-untyped]

from podium.data.catalog.models import CatalogHit, LineageGraph, TableDescription
from podium.data.inputs import WriteData
from podium.data.lake import SchemaMode, WriteMode
from podium.data.maintenance import MIN_RETAIN_HOURS, Progress
from podium.data.service import ViewMode
from podium.data.streaming import StreamBatch
from podium.data.types import HistoryEntry, OptimizeResult, TableInfo, TableVersion

__all__ = ["CatalogAPI", "Data"]


class Data(Protocol):
    """What ``p.data`` offers: the project's lake tables, time travel and warehouse SQL."""

    def write(
        self,
        name: str,
        data: WriteData | pa.RecordBatchReader,
        *,
        mode: WriteMode = "append",
        keys: list[str] | None = None,
        partition_by: list[str] | None = None,
        schema_mode: SchemaMode | None = None,
    ) -> TableVersion:
        """Write ``data`` (DataFrame, Arrow, file path) to ``name`` in one atomic commit."""
        ...

    def append_stream(
        self,
        name: str,
        batches: Iterable[StreamBatch],
        *,
        max_rows: int = 10_000,
        max_seconds: float = 5.0,
        on_commit: Callable[[TableVersion], None] | None = None,
    ) -> list[TableVersion]:
        """Append ``batches`` in micro-batches (row or time bounded), each one commit."""
        ...

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """The table now, at ``version`` or as it was at time ``as_of``."""
        ...

    def delete(self, name: str, where: str) -> TableVersion:
        """Delete the rows matching the SQL predicate ``where``."""
        ...

    def restore(self, name: str, version: int) -> TableVersion:
        """Make ``version``'s content the table's newest version."""
        ...

    def history(self, name: str) -> list[HistoryEntry]:
        """Every commit of the table, oldest first."""
        ...

    def tables(self) -> list[str]:
        """The names of every table of the project, sorted."""
        ...

    def version(self, name: str) -> int:
        """The table's current version."""
        ...

    def ref(self, name: str) -> str:
        """The exact reference to the table's current content, e.g. ``raw.customers@3``."""
        ...

    def sql(self, query: str) -> pa.Table:
        """Run read-only DuckDB SQL in which every table is visible by its name."""
        ...

    def create_view(self, name: str, query: str, *, mode: ViewMode = "overwrite") -> TableVersion:
        """Materialise the result of ``query`` into table ``name``, with lineage."""
        ...

    def table_info(self, name: str) -> TableInfo:
        """Version, schema, row count, size, files, partitioning and times of the table."""
        ...

    def optimize(
        self, name: str, *, target_size: int | None = None, progress: Progress | None = None
    ) -> OptimizeResult:
        """Compact the table's small files; the content stays the same."""
        ...

    def vacuum(
        self,
        name: str,
        *,
        retain_hours: int = MIN_RETAIN_HOURS,
        dry_run: bool = True,
        enforce_retention: bool = True,
    ) -> list[str]:
        """The files only versions older than ``retain_hours`` use; deleted unless dry."""
        ...

    def changes(
        self, name: str, *, since_version: int, until_version: int | None = None
    ) -> pa.Table:
        """Every row change committed from ``since_version`` to ``until_version`` (or now)."""
        ...


class CatalogAPI(Protocol):
    """What ``p.catalog`` offers: describe, document, search and trace the tables."""

    def describe(self, name: str) -> TableDescription:
        """Everything known about table ``name``: schema with column docs, size, lineage."""
        ...

    def update(
        self,
        name: str,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        column_descriptions: Mapping[str, str] | None = None,
    ) -> TableDescription:
        """Set the owner, description, tags or column descriptions of table ``name``."""
        ...

    def search(self, text: str, *, limit: int = 50) -> list[CatalogHit]:
        """Tables whose name, description, tags or columns contain every word of ``text``."""
        ...

    def lineage(self, node: str, *, depth: int = 10) -> LineageGraph:
        """The ancestors and descendants of ``node``, ``depth`` edges each way (at most 10)."""
        ...
