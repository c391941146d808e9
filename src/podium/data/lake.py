"""The lake of one project: named Delta tables with schema enforcement and time travel.

Tables live at ``<root>/<zone>/<name>`` as Delta tables (delta-rs). Every write, delete and
restore is one Delta commit, so it lands whole or not at all: a writer that fails or dies
half way leaves the table at its previous version. Concurrent appenders are safe: delta-rs
commits by atomic put-if-absent of the next log entry and rebases appends on conflict; on
top of that an append that still loses the race (``CommitFailedError``) is retried here a
bounded number of times (:data:`APPEND_COMMIT_RETRIES`).

:class:`DataLake` is a facade: streaming (:mod:`podium.data.streaming`), the change feed
(:mod:`podium.data.changes`), maintenance (:mod:`podium.data.maintenance`) and table facts
(:mod:`podium.data.info`) live in their own modules. Every committing method takes an
optional ``actor`` that the table's history records as who made the commit.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as pa_ds  # type: ignore[import-untyped]
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from podium.data import info, maintenance, streaming
from podium.data.changes import change_feed
from podium.data.checks import (
    arrow_schema,
    check_keys,
    check_partitioning,
    check_schema,
    check_version,
    check_write_args,
)
from podium.data.commits import (
    APPEND_COMMIT_RETRIES,
    NEW_TABLE_CONFIGURATION,
    commit_properties,
    delta_call,
    vacuumed,
)
from podium.data.history import history_entries, read_commits, version_at
from podium.data.inputs import WriteData, to_arrow
from podium.data.listing import list_tables, table_exists
from podium.data.names import TableName, parse_table_name
from podium.data.types import HistoryEntry, OptimizeResult, TableInfo, TableVersion
from podium.data.warehouse import run_sql
from podium.errors import InvalidInputError, NotFoundError

__all__ = ["APPEND_COMMIT_RETRIES", "DataLake", "WriteMode"]

WriteMode = Literal["append", "overwrite", "merge"]
SchemaMode = Literal["merge", "overwrite"]

_WRITE_ID = "podium.write_id"


class DataLake:
    """Named Delta tables of one project, plus read-only DuckDB SQL over them.

    ``root_url`` is the project's lake root, e.g. ``file:///home/me/.podium/lake/projects/churn``
    or ``s3://bucket/lake/projects/churn`` (then pass ``storage_options`` as deltalake
    takes them). Every method takes a table name ``zone.name`` such as ``raw.customers``.
    """

    def __init__(self, root_url: str, *, storage_options: dict[str, str] | None = None) -> None:
        self.root_url = root_url.rstrip("/")
        self.storage_options = storage_options
        self._writers: dict[TableName, DeltaTable] = {}
        # One writer per table in this lake object (the platform shares one per project);
        # writers in other processes are ordered by the Delta log.
        self._write_locks: dict[TableName, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- locating tables -------------------------------------------------------------

    def _uri(self, table: TableName) -> str:
        return f"{self.root_url}/{table.zone}/{table.name}"

    def _exists(self, table: TableName) -> bool:
        return table_exists(self.root_url, self.storage_options, f"{table.zone}/{table.name}")

    def _open(self, name: str) -> tuple[TableName, DeltaTable]:
        table = parse_table_name(name)
        if not self._exists(table):
            raise self._not_found(table)
        try:
            return table, DeltaTable(self._uri(table), storage_options=self.storage_options)
        except TableNotFoundError:
            raise self._not_found(table) from None

    def _not_found(self, table: TableName) -> NotFoundError:
        known = self.tables()
        return NotFoundError(
            f"no table '{table}' in this project's lake",
            field="name",
            remedy=f"existing tables: {', '.join(known)}" if known else "write it first",
        )

    def tables(self) -> list[str]:
        """The names of every table of the project, sorted."""
        return list_tables(self.root_url, self.storage_options)

    # -- writing ---------------------------------------------------------------------

    def write(
        self,
        name: str,
        data: WriteData | pa.RecordBatchReader,
        *,
        mode: WriteMode = "append",
        keys: list[str] | None = None,
        partition_by: list[str] | None = None,
        schema_mode: SchemaMode | None = None,
        actor: str | None = None,
    ) -> TableVersion:
        """Write ``data`` to table ``name`` in one atomic commit; create the table if new.

        ``data`` is a pandas DataFrame, a pyarrow Table/RecordBatch/RecordBatchReader or
        a path to a ``.parquet``, ``.csv`` or ``.jsonl`` file. ``mode`` is ``"append"``,
        ``"overwrite"`` or ``"merge"`` (upsert: rows whose ``keys`` match are updated, the
        others inserted). The table's schema is enforced: a mismatch is refused with the
        column-by-column difference; pass ``schema_mode="merge"`` to add new columns
        (or ``"overwrite"`` with ``mode="overwrite"`` to replace the schema).
        ``partition_by`` applies when the table is created; a new table records its change
        data feed (:meth:`changes`). ``actor`` is recorded in the history as who wrote.
        """
        table = parse_table_name(name)
        check_write_args(mode, keys, schema_mode)
        properties = commit_properties(actor)
        arrow: pa.Table | pa.RecordBatchReader = (
            data if isinstance(data, pa.RecordBatchReader) else to_arrow(data)
        )
        with self._write_lock(table):
            if not self._exists(table):
                return self._create(table, arrow, mode, keys, partition_by, actor)
            target = self._writable(table)
            check_partitioning(table, target, partition_by)
            if schema_mode is None:
                check_schema(table, target, arrow.schema)
            if mode == "merge":
                assert keys is not None
                return self._merge(table, target, arrow, keys, schema_mode, actor)
            rows = arrow.num_rows if isinstance(arrow, pa.Table) else -1
            attempts = 0

            def commit() -> None:
                nonlocal attempts
                if attempts:  # a retry after a lost race: catch up with the winner first
                    target.update_incremental()
                attempts += 1
                write_deltalake(
                    target, arrow, mode=mode, schema_mode=schema_mode, commit_properties=properties
                )

            delta_call(commit, retries=APPEND_COMMIT_RETRIES if mode == "append" else 0)
            return TableVersion(str(table), target.version(), rows)

    def _write_lock(self, table: TableName) -> threading.Lock:
        with self._locks_guard:
            return self._write_locks.setdefault(table, threading.Lock())

    def _writable(self, table: TableName) -> DeltaTable:
        """The table opened for writing, kept open between writes and caught up with the log.

        Re-opening reads the whole log (about 1 ms per 10 commits); catching up reads only
        the commits since the last write, by this or any other process.
        """
        target = self._writers.get(table)
        if target is None:
            target = DeltaTable(self._uri(table), storage_options=self.storage_options)
            self._writers[table] = target
        else:
            target.update_incremental()
        return target

    def _create(
        self,
        table: TableName,
        arrow: pa.Table | pa.RecordBatchReader,
        mode: WriteMode,
        keys: list[str] | None,
        partition_by: list[str] | None,
        actor: str | None,
    ) -> TableVersion:
        if not arrow.schema.names:
            raise InvalidInputError(
                f"cannot create '{table}' from data without columns",
                field="data",
                remedy="write data with at least one column",
            )
        if mode == "merge":
            check_keys(table, keys or [], arrow.schema, arrow.schema)
        if partition_by:
            missing = [column for column in partition_by if column not in arrow.schema.names]
            if missing:
                raise InvalidInputError(
                    f"cannot partition '{table}' by {missing}: no such column in the data",
                    field="partition_by",
                    remedy=f"choose among {arrow.schema.names}",
                )
        uri = self._uri(table)
        # Two writers may create the same table at once; the loser's commit is rebased
        # onto the winner's, so the version is found by a marker in the commit info.
        write_id = uuid.uuid4().hex
        delta_call(
            lambda: write_deltalake(
                uri,
                arrow,
                mode="append",
                partition_by=partition_by,
                configuration=NEW_TABLE_CONFIGURATION,
                storage_options=self.storage_options,
                commit_properties=commit_properties(actor, **{_WRITE_ID: write_id}),
            ),
            retries=APPEND_COMMIT_RETRIES,
        )
        created = DeltaTable(uri, storage_options=self.storage_options)
        version = next(
            (int(c["version"]) for c in read_commits(created) if c.get(_WRITE_ID) == write_id),
            created.version(),
        )
        rows = arrow.num_rows if isinstance(arrow, pa.Table) else -1
        return TableVersion(str(table), version, rows)

    def _merge(
        self,
        table: TableName,
        target: DeltaTable,
        arrow: pa.Table | pa.RecordBatchReader,
        keys: list[str],
        schema_mode: SchemaMode | None,
        actor: str | None,
    ) -> TableVersion:
        check_keys(table, keys, arrow_schema(target), arrow.schema)
        predicate = " AND ".join(f'target."{key}" = source."{key}"' for key in keys)
        metrics = delta_call(
            lambda: (
                target.merge(
                    arrow,
                    predicate,
                    source_alias="source",
                    target_alias="target",
                    merge_schema=schema_mode == "merge",
                    commit_properties=commit_properties(actor),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        )
        rows = int(metrics.get("num_target_rows_inserted", 0)) + int(
            metrics.get("num_target_rows_updated", 0)
        )
        return TableVersion(str(table), target.version(), rows)

    def delete(self, name: str, where: str, *, actor: str | None = None) -> TableVersion:
        """Delete the rows matching the SQL predicate ``where`` (e.g. ``"id = 3"``)."""
        properties = commit_properties(actor)
        table, target = self._open(name)
        if not isinstance(where, str) or not where.strip():
            raise InvalidInputError(
                'where must be a SQL predicate such as "customer_id = 7"',
                field="where",
                remedy="to empty the table, write it with mode='overwrite'",
            )
        # delta-rs stops parsing at the first complete expression ("id = 2 garbage" deletes
        # id 2), so the predicate is checked whole, by the sealed warehouse, first.
        try:
            self.sql(f"SELECT count(*) FROM {table} WHERE {where}")
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"cannot delete from '{table}' where {where!r}: {exc.message}",
                field="where",
                remedy=f"write one SQL predicate over the columns {arrow_schema(target).names}",
            ) from exc
        try:
            metrics = target.delete(where, commit_properties=properties)
        except DeltaError as exc:
            raise InvalidInputError(
                f"cannot delete from '{table}' where {where!r}: {exc}",
                field="where",
                remedy=f"use the table's columns: {arrow_schema(target).names}",
            ) from exc
        return TableVersion(str(table), target.version(), int(metrics.get("num_deleted_rows", 0)))

    def restore(self, name: str, version: int, *, actor: str | None = None) -> TableVersion:
        """Make ``version``'s content the table's newest version (history is kept).

        ``rows_written`` is the row count of the restored table.
        """
        properties = commit_properties(actor)
        table, target = self._open(name)
        check_version(table, version, target.version())
        if version != target.version():
            try:
                delta_call(lambda: target.restore(version, commit_properties=properties))
            except DeltaError as exc:
                if "missing file" not in str(exc).lower():
                    raise
                raise vacuumed(table, version) from None
        return TableVersion(str(table), target.version(), target.count())

    def append_stream(
        self,
        name: str,
        batches: Iterable[streaming.StreamBatch],
        *,
        max_rows: int = 10_000,
        max_seconds: float = 5.0,
        on_commit: Callable[[TableVersion], None] | None = None,
        actor: str | None = None,
    ) -> list[TableVersion]:
        """Append ``batches`` in micro-batches, each one atomic commit; the versions committed.

        A micro-batch is committed when it holds ``max_rows`` rows or ``max_seconds`` after
        its first row arrived, whichever comes first, and at the end of ``batches``.
        ``on_commit`` is called with each committed version. Readers see whole micro-batches
        only. See :mod:`podium.data.streaming` for what happens when a batch fails.
        """
        commit_properties(actor)  # refuse a bad actor before the source is read
        return streaming.append_stream(
            lambda rows: self.write(name, rows, mode="append", actor=actor),
            batches,
            max_rows=max_rows,
            max_seconds=max_seconds,
            on_commit=on_commit,
        )

    # -- maintenance -----------------------------------------------------------------

    def optimize(
        self,
        name: str,
        *,
        target_size: int | None = None,
        progress: maintenance.Progress | None = None,
        actor: str | None = None,
    ) -> OptimizeResult:
        """Compact the table's small files into files of about ``target_size`` bytes.

        The content is unchanged (no new rows in :meth:`changes`); ``progress`` receives a
        line per step.
        """
        table, target = self._open(name)
        return maintenance.compact(
            table, target, target_size=target_size, progress=progress, actor=actor
        )

    def vacuum(
        self,
        name: str,
        *,
        retain_hours: int = maintenance.MIN_RETAIN_HOURS,
        dry_run: bool = True,
        enforce_retention: bool = True,
        actor: str | None = None,
    ) -> list[str]:
        """The files that only versions older than ``retain_hours`` use; deleted unless dry.

        ``dry_run`` is on by default: pass ``dry_run=False`` to delete. A ``retain_hours``
        below 168 is refused unless ``enforce_retention=False`` is passed explicitly.
        """
        table, target = self._open(name)
        return maintenance.vacuum(
            table,
            target,
            retain_hours=retain_hours,
            dry_run=dry_run,
            enforce_retention=enforce_retention,
            actor=actor,
        )

    # -- reading ---------------------------------------------------------------------

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """Read the table, now or as it was at ``version`` or at time ``as_of``.

        ``as_of`` picks the newest version committed at or before that time (a naive
        datetime is taken as UTC). ``columns`` selects a subset of columns.
        """
        table, target = self._open(name)
        if version is not None and as_of is not None:
            raise InvalidInputError(
                "pass either version or as_of, not both",
                field="version",
                remedy="use version=N for an exact version, as_of=datetime for a point in time",
            )
        if as_of is not None:
            version = version_at(str(table), read_commits(target), as_of)
        if version is not None:
            check_version(table, version, target.version())
            target.load_as_version(version)
        if columns is not None:
            known = arrow_schema(target).names
            unknown = [column for column in columns if column not in known]
            if unknown:
                raise InvalidInputError(
                    f"no column {unknown} in table '{table}'",
                    field="columns",
                    remedy=f"choose among {known}",
                )
        try:
            return target.to_pyarrow_table(columns=columns)
        except FileNotFoundError:
            raise vacuumed(table, target.version()) from None

    def history(self, name: str) -> list[HistoryEntry]:
        """Every commit of the table, oldest first."""
        _, target = self._open(name)
        return history_entries(read_commits(target))

    def changes(
        self, name: str, *, since_version: int, until_version: int | None = None
    ) -> pa.Table:
        """Every row change committed from ``since_version`` to ``until_version`` (or now).

        The table's columns plus ``_change_type`` (``insert``, ``delete``,
        ``update_preimage``, ``update_postimage``), ``_commit_version`` and
        ``_commit_timestamp``, ordered by version: the basis of incremental processing.
        """
        table, target = self._open(name)
        return change_feed(
            table,
            target,
            since_version=since_version,
            until_version=until_version,
            storage_options=self.storage_options,
        )

    def table_info(self, name: str) -> TableInfo:
        """Version, schema, row count, size, files, partitioning and times of the table.

        Read from the Delta log's statistics: cheap even for big tables.
        """
        table, target = self._open(name)
        return info.table_info(table, target, storage_options=self.storage_options)

    def version(self, name: str) -> int:
        """The table's current version."""
        return self._open(name)[1].version()

    def ref(self, name: str) -> str:
        """The exact reference to the table's current content, e.g. ``raw.customers@3``."""
        table, target = self._open(name)
        return f"{table}@{target.version()}"

    def sql(self, query: str) -> pa.Table:
        """Run read-only DuckDB SQL in which every table is visible by its name.

        ``raw.customers@3`` names version 3 of a table. See :mod:`podium.data.warehouse`
        for what is refused and why.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("the query must be a non-empty SQL string", field="query")
        # Opening a table costs a read of its log: register the tables the query names
        # (all of them only for a query that names none, such as SHOW TABLES).
        names = self.tables()
        named = [name for name in names if _names_table(query, name)] or names
        datasets = {}
        for name in named:
            table, target = self._open(name)
            datasets[table] = target.to_pyarrow_dataset()
        return run_sql(datasets, query, at_version=self._dataset_at)

    def dataset(self, name: str, version: int | None = None) -> tuple[str, pa_ds.Dataset]:
        """``(ref, dataset)``: the Arrow dataset of a table version (the newest by default).

        ``ref`` (``raw.customers@3``) names exactly what the dataset holds; scans of the
        dataset read only the columns and row groups they need.
        """
        table, target = self._open(name)
        if version is not None:
            check_version(table, version, target.version())
            target.load_as_version(version)
        return f"{table}@{target.version()}", target.to_pyarrow_dataset()

    def local_files(self, name: str) -> tuple[str, list[str]] | None:
        """``(ref, paths)``: the Parquet files of the table's newest version, when they can
        be read directly (a local, unpartitioned table with at least one file), else None.

        Engines that read Parquet natively (DuckDB's ``read_parquet``) scan these faster
        than the Arrow dataset of :meth:`dataset`.
        """
        table, target = self._open(name)
        if target.metadata().partition_columns:
            return None
        paths = []
        for uri in target.file_uris():
            if uri.startswith("file://"):
                uri = uri.removeprefix("file://")
            if not uri.startswith("/"):
                return None
            paths.append(uri)
        return (f"{table}@{target.version()}", paths) if paths else None

    def _dataset_at(self, table: TableName, version: int) -> pa_ds.Dataset:
        _, target = self._open(str(table))
        check_version(table, version, target.version())
        target.load_as_version(version)
        return target.to_pyarrow_dataset()


def _names_table(query: str, name: str) -> bool:
    zone, table = name.split(".")
    lowered = query.lower()  # SQL identifiers are case-insensitive; a false hit only costs time
    return name in lowered or f'"{zone}"."{table}"' in lowered
