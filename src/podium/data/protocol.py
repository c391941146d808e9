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
    """What ``p.data`` offers: the project's lake tables, time travel and warehouse SQL.

    Tables are named ``zone.name`` (``raw.customers``); a name of another shape is an
    :class:`~podium.errors.InvalidInputError` and a table that does not exist a
    :class:`~podium.errors.NotFoundError`. Every commit is atomic and recorded in the
    catalog with who made it. Over HTTP any method may also raise
    :class:`~podium.errors.AuthenticationError`,
    :class:`~podium.errors.PermissionDeniedError` (a ``reader`` key writing) or
    :class:`~podium.errors.BackendUnavailableError`.
    """

    def write(
        self,
        name: str,
        data: WriteData | pa.RecordBatchReader,
        *,
        mode: WriteMode = "append",
        keys: list[str] | None = None,
        partition_by: list[str] | None = None,
        schema_mode: SchemaMode | None = None,
        pii: list[str] | None = None,
    ) -> TableVersion:
        """Write ``data`` to table ``name`` in one atomic commit; create the table if new.

        ``data`` is a pandas DataFrame, a pyarrow Table, RecordBatch or RecordBatchReader,
        or the path of a ``.parquet``, ``.csv`` or ``.jsonl`` file. ``mode`` is
        ``"append"``, ``"overwrite"`` or ``"merge"`` (an upsert: rows whose ``keys``
        match are updated, the others inserted). ``partition_by`` applies when the table
        is created. The schema is enforced: ``schema_mode="merge"`` adds new columns,
        ``"overwrite"`` (with ``mode="overwrite"``) replaces the schema. Returns the new
        version and the rows written. Raises :class:`~podium.errors.InvalidInputError`
        for data that does not match the schema (listing the differences), a bad mode,
        missing merge keys or a partitioning other than the table's;
        :class:`~podium.errors.NotFoundError` for a file path that does not exist; and
        :class:`~podium.errors.ConflictError` when concurrent writers kept winning.

        ``pii`` marks columns as personal data: they are stored as keyed tokens (``tok_``
        and 32 hex characters, the same value always the same token) in this write and
        every later one to the table; marking a column an existing table holds in clear
        needs ``mode="overwrite"``. See :meth:`detokenize`.
        """
        ...

    def pii_columns(self, name: str) -> list[str]:
        """The columns of table ``name`` stored as tokens (marked pii), sorted."""
        ...

    def detokenize(self, name: str, column: str, tokens: list[str]) -> list[str | None]:
        """The clear values of ``tokens`` of pii column ``column`` of table ``name``, in
        order (None for a token never written). Every call is audited. Raises
        :class:`~podium.errors.PermissionDeniedError` unless the caller is an admin and
        :class:`~podium.errors.NotFoundError` when the column is not pii."""
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
        """Append ``batches`` (Arrow or pandas) in micro-batches, each one atomic commit.

        A micro-batch is committed when it holds ``max_rows`` rows or ``max_seconds``
        after its first row arrived, whichever comes first, and at the end of ``batches``;
        ``on_commit`` is called with each committed version. Readers see whole
        micro-batches only. Returns the versions committed, in order. Raises
        :class:`~podium.errors.InvalidInputError` for non-positive bounds or batches that
        do not match the table's schema (or each other's).
        """
        ...

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """The table as an Arrow table: now, at ``version``, or as it was at ``as_of``.

        ``as_of`` picks the newest version committed at or before that time (a naive
        datetime is UTC); ``columns`` selects some columns. Raises
        :class:`~podium.errors.InvalidInputError` when both ``version`` and ``as_of`` are
        given, for a version that does not exist or an unknown column, and
        :class:`~podium.errors.NotFoundError` for an unknown table or a version whose
        files a vacuum removed.
        """
        ...

    def delete(self, name: str, where: str) -> TableVersion:
        """Delete the rows matching the SQL predicate ``where`` (e.g. ``"id = 3"``) in one
        commit; returns the new version. Raises :class:`~podium.errors.InvalidInputError`
        for an empty or invalid predicate."""
        ...

    def restore(self, name: str, version: int) -> TableVersion:
        """Make ``version``'s content the table's newest version (the history is kept).

        Returns the new version with the row count of the restored content (the current
        version when it already is ``version``). Raises
        :class:`~podium.errors.InvalidInputError` for a version that does not exist and
        :class:`~podium.errors.NotFoundError` when a vacuum removed its files.
        """
        ...

    def history(self, name: str) -> list[HistoryEntry]:
        """Every commit of the table, oldest first: version, time, operation, who, rows.

        Raises :class:`~podium.errors.NotFoundError` for an unknown table.
        """
        ...

    def tables(self) -> list[str]:
        """The names of every table of the project, sorted."""
        ...

    def version(self, name: str) -> int:
        """The table's current version (0 after its first write).

        Raises :class:`~podium.errors.NotFoundError` for an unknown table.
        """
        ...

    def ref(self, name: str) -> str:
        """The exact reference to the table's current content, e.g. ``raw.customers@3``,
        as runs and training sets record it. Raises :class:`~podium.errors.NotFoundError`
        for an unknown table."""
        ...

    def sql(self, query: str) -> pa.Table:
        """Run one read-only DuckDB statement in which every table is visible by its name.

        ``FROM raw.customers`` reads the current version. Raises
        :class:`~podium.errors.InvalidInputError` for a syntax error, more than one
        statement, a statement that writes, or a query over the time limit, and
        :class:`~podium.errors.NotFoundError` for a table that does not exist.
        """
        ...

    def create_view(self, name: str, query: str, *, mode: ViewMode = "overwrite") -> TableVersion:
        """Run the SQL ``query`` and write its result to table ``name``, with lineage.

        ``mode="overwrite"`` replaces the table's content and schema (a new version);
        ``"append"`` adds the rows. Every table version the query read is recorded in the
        catalog as an input of the new version (``derived_from``). Raises
        :class:`~podium.errors.InvalidInputError` for another mode or what :meth:`sql`
        refuses.
        """
        ...

    def table_info(self, name: str) -> TableInfo:
        """Version, schema, row count, size, files, partitioning and times of the table.

        Raises :class:`~podium.errors.NotFoundError` for an unknown table.
        """
        ...

    def optimize(
        self, name: str, *, target_size: int | None = None, progress: Progress | None = None
    ) -> OptimizeResult:
        """Compact the table's small files into files of about ``target_size`` bytes.

        The content stays the same (no rows appear in :meth:`changes`); ``progress``
        receives a line per step. Returns the files removed and added and the new version.
        Raises :class:`~podium.errors.InvalidInputError` for a non-positive size.
        """
        ...

    def vacuum(
        self,
        name: str,
        *,
        retain_hours: int = MIN_RETAIN_HOURS,
        dry_run: bool = True,
        enforce_retention: bool = True,
    ) -> list[str]:
        """The files that only versions older than ``retain_hours`` use; deleted unless dry.

        ``dry_run`` is on by default: pass ``dry_run=False`` to delete, after which those
        versions can no longer be read. Raises :class:`~podium.errors.InvalidInputError`
        for ``retain_hours`` below 168 (one week) unless ``enforce_retention=False``.
        """
        ...

    def changes(
        self, name: str, *, since_version: int, until_version: int | None = None
    ) -> pa.Table:
        """Every row change committed from ``since_version`` to ``until_version`` (or now).

        The table's columns plus ``_change_type`` (``insert``, ``delete``,
        ``update_preimage``, ``update_postimage``), ``_commit_version`` and
        ``_commit_timestamp``, ordered by version: the basis of incremental processing.
        Raises :class:`~podium.errors.InvalidInputError` for versions that do not exist,
        ``until_version`` before ``since_version``, or versions recorded without a change
        feed.
        """
        ...


class CatalogAPI(Protocol):
    """What ``p.catalog`` offers: describe, document, search and trace the tables.

    The catalog is kept current by every commit of ``p.data``; over HTTP any method may
    also raise :class:`~podium.errors.AuthenticationError`,
    :class:`~podium.errors.PermissionDeniedError` or
    :class:`~podium.errors.BackendUnavailableError`.
    """

    def describe(self, name: str) -> TableDescription:
        """Everything known about table ``name``: owner, description, tags, schema with
        column descriptions, version, row count, size and the lineage nodes upstream
        and downstream of it.

        Raises :class:`~podium.errors.InvalidInputError` for a name that is not
        ``zone.name`` and :class:`~podium.errors.NotFoundError` for an unknown table.
        """
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
        """Set the owner, description, tags or column descriptions of table ``name``.

        Only what is passed changes; ``tags`` replaces the tag list, and a column
        description of ``""`` removes it. Returns the table's description after the
        change. Raises :class:`~podium.errors.InvalidInputError` for an owner over 128
        characters, an empty or too long tag, or a column the table does not have, and
        :class:`~podium.errors.NotFoundError` for an unknown table.
        """
        ...

    def search(self, text: str, *, limit: int = 50) -> list[CatalogHit]:
        """Tables whose name, description, tags or column names contain every word of
        ``text``, case-insensitively, best first (a name match outranks a tag, a tag a
        column, a column a description); at most ``limit`` of them.

        Raises :class:`~podium.errors.InvalidInputError` for an empty ``text`` or a
        ``limit`` outside 1 to 1,000.
        """
        ...

    def lineage(self, node: str, *, depth: int = 10) -> LineageGraph:
        """The lineage graph around ``node``: its ancestors and descendants, each up to
        ``depth`` edges away (0 to 10; the default follows a model down to its raw tables
        and up to its deployments).

        ``node`` is ``raw.customers`` (the table and all its versions),
        ``raw.customers@3`` or ``table:raw.customers@3`` (one version), ``run:<id>``,
        ``job:<name>``, ``feature_view:<name>@N``, ``model:<name>/N`` or
        ``deployment:<name>``. Raises :class:`~podium.errors.InvalidInputError` for a node
        of another shape or a bad ``depth``, and :class:`~podium.errors.NotFoundError` for
        a table, version or node the project has never seen.
        """
        ...
