"""DataService: the project's data facade (``p.data``): the lake, with the catalog kept current.

Every method the lake has is here with the same signature and meaning; on top, each
commit is noted in the catalog (the table's entry, owned by whoever wrote it first, and
the ``version_of`` lineage edge), :meth:`DataService.create_view` materialises SQL into a
table with lineage to the exact input versions, and runs record what they read. Every
commit that changes rows also records the platform event ``table.updated`` (see
:meth:`podium.data.catalog.Catalog.record_write`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as pa_ds  # type: ignore[import-untyped]

from podium.data.catalog import Catalog
from podium.data.catalog.lineage import parse_node
from podium.data.inputs import WriteData, to_arrow
from podium.data.lake import DataLake, SchemaMode, WriteMode
from podium.data.maintenance import MIN_RETAIN_HOURS, Progress
from podium.data.names import TableRef, parse_table_name
from podium.data.pii import PiiVault
from podium.data.streaming import StreamBatch
from podium.data.types import HistoryEntry, OptimizeResult, TableInfo, TableVersion
from podium.errors import InvalidInputError, NotFoundError

__all__ = ["DataService", "ViewMode", "query_inputs"]

ViewMode = Literal["overwrite", "append"]

# String literals and comments, blanked before looking for table names in a query.
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
# zone.name or "zone"."name", optionally @version, not part of a longer dotted name.
_TABLE_REF = re.compile(
    r'(?<![\w."@])(?:([A-Za-z_]\w*)\.([A-Za-z_]\w*)|"([a-z]\w*)"\."([a-z]\w*)")(?:@(\d+))?(?![\w"@])'
)


def query_inputs(query: str, tables: list[str]) -> list[tuple[str, int | None]]:
    """The lake tables ``query`` names, each with the version it pins (``None``: current)."""
    known = set(tables)
    code = _NOT_CODE.sub("''", query)
    found: dict[tuple[str, int | None], None] = {}
    for match in _TABLE_REF.finditer(code):
        zone, name = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
        table = f"{zone.lower()}.{name.lower()}" if match.group(1) else f"{zone}.{name}"
        if table in known:
            found[(table, int(match.group(5)) if match.group(5) else None)] = None
    return list(found)


class DataService:
    """The lake of one project, with every commit recorded in its catalog.

    ``actor`` (``"local:ana"``, an API key's identity) owns the tables it creates and is
    recorded as the committer of every write.
    """

    def __init__(
        self, lake: DataLake, catalog: Catalog, *, actor: str, pii: PiiVault | None = None
    ) -> None:
        self._lake = lake
        self._catalog = catalog
        self._actor = actor
        self._pii = pii  # pii columns are tokenized on write (ADR 0045)

    @property
    def lake(self) -> DataLake:
        """The lake underneath (its writes bypass the catalog)."""
        return self._lake

    # -- writing -------------------------------------------------------------------
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
        """Write ``data`` to table ``name`` in one atomic commit (see :meth:`DataLake.write`).

        ``pii`` marks columns as personal data: they are stored as keyed tokens, in this
        write and every later one to the table (the mark is kept); see :meth:`detokenize`.
        """
        data = self._tokenized(name, data, mark=pii, mode=mode)
        committed = self._lake.write(
            name,
            data,
            mode=mode,
            keys=keys,
            partition_by=partition_by,
            schema_mode=schema_mode,
            actor=self._actor,
        )
        return self._recorded(committed, mode)

    def delete(self, name: str, where: str) -> TableVersion:
        """Delete the rows matching the SQL predicate ``where`` (e.g. ``"id = 3"``)."""
        return self._recorded(self._lake.delete(name, where, actor=self._actor), "delete")

    def restore(self, name: str, version: int) -> TableVersion:
        """Make ``version``'s content the table's newest version (history is kept)."""
        before = self._lake.version(name)
        restored = self._recorded(self._lake.restore(name, version, actor=self._actor), "restore")
        if restored.version != before:
            self._catalog.record_lineage(
                f"table:{restored.name}@{version}", f"table:{restored.ref}", "restored_from"
            )
        return restored

    def append_stream(
        self,
        name: str,
        batches: Iterable[StreamBatch],
        *,
        max_rows: int = 10_000,
        max_seconds: float = 5.0,
        on_commit: Callable[[TableVersion], None] | None = None,
    ) -> list[TableVersion]:
        """Append ``batches`` in micro-batches, each one atomic commit (see the lake's)."""

        def committed(version: TableVersion) -> None:
            self._recorded(version, "append")
            if on_commit is not None:
                on_commit(version)

        if self._pii is not None and self._pii.columns(self._table_name(name)):
            batches = (self._tokenized(name, to_arrow(batch)) for batch in batches)
        return self._lake.append_stream(
            name,
            batches,
            max_rows=max_rows,
            max_seconds=max_seconds,
            on_commit=committed,
            actor=self._actor,
        )

    def optimize(
        self, name: str, *, target_size: int | None = None, progress: Progress | None = None
    ) -> OptimizeResult:
        """Compact the table's small files; the content stays the same."""
        result = self._lake.optimize(
            name, target_size=target_size, progress=progress, actor=self._actor
        )
        self._catalog.record_write(result.name, result.version, actor=self._actor)
        return result

    def vacuum(
        self,
        name: str,
        *,
        retain_hours: int = MIN_RETAIN_HOURS,
        dry_run: bool = True,
        enforce_retention: bool = True,
    ) -> list[str]:
        """The files only versions older than ``retain_hours`` use; deleted unless dry."""
        removed = self._lake.vacuum(
            name,
            retain_hours=retain_hours,
            dry_run=dry_run,
            enforce_retention=enforce_retention,
            actor=self._actor,
        )
        if not dry_run:  # Delta records a vacuum as commits of its own
            self._catalog.record_write(name, self._lake.version(name), actor=self._actor)
        return removed

    def create_view(self, name: str, query: str, *, mode: ViewMode = "overwrite") -> TableVersion:
        """Write the result of ``query`` to table ``name``; each table version it read is
        recorded as ``table:<input>@<v> -> table:<name>@<new v>`` (``derived_from``)."""
        if mode not in ("overwrite", "append"):
            raise InvalidInputError(
                f"the 'mode' parameter of create_view must be 'overwrite' or 'append'; "
                f"got {mode!r} instead",
                field="mode",
            )
        table = str(parse_table_name(name))
        inputs = [
            (input_table, self._lake.version(input_table) if version is None else version)
            for input_table, version in query_inputs(query, self._lake.tables())
        ]
        result = self._lake.sql(query)
        created = self.write(
            table,
            result,
            mode=mode,
            schema_mode="overwrite" if mode == "overwrite" else None,
        )
        for input_table, version in inputs:
            self._catalog.record_lineage(
                f"table:{input_table}@{version}", f"table:{created.ref}", "derived_from"
            )
        return created

    # -- pii -----------------------------------------------------------------------
    def pii_columns(self, name: str) -> list[str]:
        """The columns of table ``name`` stored as tokens, sorted (NotFoundError: no table)."""
        self._lake.version(name)  # an unknown table is a NotFoundError, as everywhere
        return self._pii.columns(self._table_name(name)) if self._pii is not None else []

    def mark_pii(self, name: str, columns: list[str]) -> None:
        """Mark ``columns`` of table ``name`` pii before it holds them: a new table's first
        write tokenizes them. Columns already marked are fine; marking columns an existing
        table holds in clear is refused (rewrite it with ``write(..., pii=[...])``)."""
        table = self._table_name(name)
        if self._pii is None:
            raise InvalidInputError(
                "this data service cannot tokenize pii columns (it has no vault)",
                field="pii",
                remedy="use podium.connect(), whose p.data keeps the vault",
            )
        new = sorted(set(columns) - set(self._pii.columns(table)))
        if new and table in self._lake.tables():
            raise InvalidInputError(
                f"columns {new} of table '{table}' are stored in clear, not as pii tokens",
                field="pii",
                remedy=f"rewrite the table with p.data.write('{table}', rows, "
                f"mode='overwrite', pii={new})",
            )
        self._pii.mark(table, new)

    def tokenize(self, name: str, data: pa.Table) -> pa.Table:
        """``data`` as a write to table ``name`` would store it: its pii columns as tokens
        (for copies of the rows that bypass the lake, such as the online store)."""
        tokenized = self._tokenized(name, data)
        return tokenized if isinstance(tokenized, pa.Table) else to_arrow(tokenized)

    def detokenize(self, name: str, column: str, tokens: list[str]) -> list[str | None]:
        """The clear values of ``tokens`` of pii column ``column``, in order (None for a
        token never written). Admins only (PermissionDeniedError otherwise); audited."""
        if self._pii is None:
            raise NotFoundError(
                f"column '{column}' of table '{name}' is not a pii column",
                remedy="this data service has no pii vault (open the project with podium.connect)",
            )
        return self._pii.detokenize(self._table_name(name), column, list(tokens))

    def _table_name(self, name: str) -> str:
        return str(parse_table_name(name))

    def _tokenized(
        self,
        name: str,
        data: WriteData | pa.RecordBatchReader,
        *,
        mark: list[str] | None = None,
        mode: WriteMode = "append",
    ) -> WriteData | pa.RecordBatchReader:
        """``data`` with its pii columns tokenized; untouched when the table has none."""
        if self._pii is None:
            if mark:
                raise InvalidInputError(
                    "this data service cannot tokenize pii columns (it has no vault)",
                    field="pii",
                    remedy="write through podium.connect(), whose p.data keeps the vault",
                )
            return data
        table = self._table_name(name)
        marked = self._pii.columns(table)
        if not marked and not mark:
            return data
        arrow = data.read_all() if isinstance(data, pa.RecordBatchReader) else to_arrow(data)
        if mark:
            missing = [c for c in mark if c not in arrow.column_names]
            if missing:
                raise InvalidInputError(
                    f"the 'pii' parameter of write names columns the data lacks: {missing}",
                    field="pii",
                    remedy=f"name columns of the data: {arrow.column_names}",
                )
            new = [c for c in mark if c not in marked]
            if new and mode != "overwrite" and table in self._lake.tables():
                raise InvalidInputError(
                    f"table '{table}' already holds columns {new} in clear; marking them pii "
                    "on an append would leave the old values readable",
                    field="pii",
                    remedy="rewrite the whole table with mode='overwrite' and pii=[...]",
                )
            self._pii.mark(table, new)
            marked = sorted({*marked, *new})
        return self._pii.tokenize(arrow, marked)

    def _recorded(self, committed: TableVersion, operation: str) -> TableVersion:
        """Note the commit in the catalog and record ``table.updated`` with it (in one
        transaction); a table's first version is its ``create``. Maintenance commits
        (optimize, vacuum) change no rows and record no event."""
        self._catalog.record_write(
            committed.name,
            committed.version,
            actor=self._actor,
            operation="create" if committed.version == 0 else operation,
        )
        return committed

    # -- reading -------------------------------------------------------------------
    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """Read the table, now or at ``version`` or time ``as_of`` (see :meth:`DataLake.read`)."""
        return self._lake.read(name, version=version, as_of=as_of, columns=columns)

    def changes(
        self, name: str, *, since_version: int, until_version: int | None = None
    ) -> pa.Table:
        """Every row change committed from ``since_version`` to ``until_version`` (or now)."""
        return self._lake.changes(name, since_version=since_version, until_version=until_version)

    def table_info(self, name: str) -> TableInfo:
        """Version, schema, row count, size, files, partitioning and times of the table."""
        return self._lake.table_info(name)

    def history(self, name: str) -> list[HistoryEntry]:
        """Every commit of the table, oldest first."""
        return self._lake.history(name)

    def tables(self) -> list[str]:
        """The names of every table of the project, sorted."""
        return self._lake.tables()

    def version(self, name: str) -> int:
        """The table's current version."""
        return self._lake.version(name)

    def ref(self, name: str) -> str:
        """The exact reference to the table's current content, e.g. ``raw.customers@3``."""
        return self._lake.ref(name)

    def dataset(self, name: str, version: int | None = None) -> tuple[str, pa_ds.Dataset]:
        """``(ref, dataset)`` of a table version, for engines that scan it themselves."""
        return self._lake.dataset(name, version)

    def local_files(self, name: str) -> tuple[str, list[str]] | None:
        """``(ref, paths)`` of a local, unpartitioned table's Parquet files, else None."""
        return self._lake.local_files(name)

    def sql(self, query: str) -> pa.Table:
        """Run read-only DuckDB SQL in which every table is visible by its name."""
        return self._lake.sql(query)

    # -- inputs of runs ------------------------------------------------------------
    def resolve_input(self, ref: str) -> str:
        """The exact version a reference means: ``raw.customers`` -> ``raw.customers@3``.

        ``raw.customers@2`` is checked to exist and returned as is. An unknown table or
        version is a :class:`NotFoundError`.
        """
        node = parse_node(ref.removeprefix("table:") if isinstance(ref, str) else ref)
        if not node.startswith("table:"):
            raise InvalidInputError(
                f"an input must be a table reference such as 'raw.customers' or "
                f"'raw.customers@3'; got {ref!r} instead",
                field="ref",
            )
        table = TableRef.parse(node.removeprefix("table:"), field="ref")
        name, version = table.table, table.version
        latest = self._lake.version(name)
        if version is None:
            return f"{name}@{latest}"
        if version > latest:
            raise NotFoundError(
                f"table '{name}' has versions 0 to {latest}; there is no version {version}",
                field="ref",
                remedy=f"use '{name}' for the current version or '{name}@{latest}'",
            )
        return str(table)

    def record_run_input(self, run_id: str, ref: str) -> str:
        """Record that run ``run_id`` read ``ref``; returns the exact version recorded."""
        resolved = self.resolve_input(ref)
        self._catalog.record_lineage(f"table:{resolved}", f"run:{run_id}", "read_by")
        return resolved
