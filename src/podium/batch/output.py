"""The output table of a job: each part one Delta append carrying an idempotency marker.

Every part's append records the Delta application transaction ``podium-batch:<job>:<part>``
in the same commit as its rows (the Delta protocol's ``txn`` action, made for exactly
this), so whether a part reached the table is read from the table itself: a job killed
between a part's commit and its row in the metadata DB does not score that part again on
resume. Commits are recorded in the catalog like any lake write (``table.updated``).

The output's columns: the row key (the source's ``key`` column, or ``row_number``),
``prediction``, ``probability`` (null for a regressor) and ``model_version``
(``name/version``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from podium.data.catalog import Catalog
from podium.data.names import parse_table_name
from podium.data.service import DataService
from podium.errors import InvalidInputError

__all__ = ["ROW_NUMBER", "OutputTable", "PartAppender", "output_schema"]

ROW_NUMBER = "row_number"
"""The key column of an output whose source has no key: the row's stable number."""

_PART_MARKER = "podium.batch_part"
_ACTOR_KEY = "podium.actor"  # what the lake's own commits record the committer under


def output_schema(key: pa.Field, prediction: pa.DataType) -> pa.Schema:
    """The output table's columns for a key column and a prediction type."""
    return pa.schema(
        [
            key,
            pa.field("prediction", prediction),
            pa.field("probability", pa.float64()),
            pa.field("model_version", pa.string()),
        ]
    )


class OutputTable:
    """The Delta table a job writes: checked and created here, appended by :attr:`appender`
    (in this process or in Ray workers), each commit recorded in the catalog."""

    def __init__(self, data: DataService, catalog: Catalog, name: str, *, actor: str) -> None:
        table = parse_table_name(name)
        lake = data.lake
        self.name = str(table)
        self._data = data
        self._catalog = catalog
        self._actor = actor
        uri = f"{lake.root_url}/{table.zone}/{table.name}"
        self.appender = PartAppender(uri, lake.storage_options, actor)

    def check(self, schema: pa.Schema) -> None:
        """Refuse an existing table whose columns differ from ``schema``'s."""
        if self.name not in self._data.tables():
            return
        names = [column.name for column in self._data.table_info(self.name).schema]
        if names != schema.names:
            raise InvalidInputError(
                f"the output table '{self.name}' exists with the columns {names}; this job "
                f"writes {schema.names}",
                field="output",
                remedy="name a new output table, or one written by a job of the same kind",
            )

    def create(self, schema: pa.Schema) -> None:
        """Create the table (empty, version 0) unless it exists."""
        if self.name not in self._data.tables():
            self._data.write(self.name, schema.empty_table())

    def record(self, version: int) -> None:
        """Note a committed part's version in the catalog (``table.updated``)."""
        self._catalog.record_write(self.name, version, actor=self._actor, operation="append")


@dataclass(frozen=True)
class PartAppender:
    """Appends parts to the table at ``uri`` (picklable: Ray workers append their parts)."""

    uri: str
    storage_options: dict[str, str] | None
    actor: str

    def committed(self, job_id: str, parts: Iterable[int]) -> set[int]:
        """Those of ``parts`` of job ``job_id`` that are in the table (their marker is)."""
        table = DeltaTable(self.uri, storage_options=self.storage_options)
        return {p for p in parts if table.transaction_version(_app_id(job_id, p)) is not None}

    def append(
        self, job_id: str, part: int, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> int:
        """Append ``batches`` (streamed, never all in memory) as one commit marked as
        part ``part`` of job ``job_id``; the table version committed. Concurrent appends
        of other parts are retried by deltalake (appends never conflict)."""
        marker = _app_id(job_id, part)
        properties = CommitProperties(
            custom_metadata={_ACTOR_KEY: self.actor, _PART_MARKER: marker},
            app_transactions=[Transaction(app_id=marker, version=1)],
            max_commit_retries=100,
        )
        reader = pa.RecordBatchReader.from_batches(schema, batches)
        write_deltalake(
            self.uri,
            reader,
            mode="append",
            storage_options=self.storage_options,
            commit_properties=properties,
        )
        table = DeltaTable(self.uri, storage_options=self.storage_options)
        for commit in table.history(limit=100):  # others may have committed meanwhile
            if commit.get(_PART_MARKER) == marker:
                return int(commit["version"])
        return table.version()


def _app_id(job_id: str, part: int) -> str:
    return f"podium-batch:{job_id}:{part}"
