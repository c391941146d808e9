"""The facts about a table (:class:`TableInfo`) read from its Delta log, without a data scan.

Row counts come from the ``numRecords`` statistics delta-rs writes into every add action;
only when some file lacks them (tables written by other engines) are the Parquet footers
counted through a pyarrow dataset, which still reads no column data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from deltalake import DeltaTable

from podium.data.checks import arrow_schema
from podium.data.history import read_commits
from podium.data.listing import read_log_entry
from podium.data.names import TableName
from podium.data.types import ColumnInfo, TableInfo

__all__ = ["table_info"]


def _moment(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def _created_at(target: DeltaTable, storage_options: dict[str, str] | None) -> datetime:
    """Version 0's commit time; the table's ``createdTime`` once that log entry is gone.

    Read from the first log entry itself: ``DeltaTable.history()`` walks back from the
    newest commit, so reaching version 0 through it costs a read of the whole log.
    """
    entry = read_log_entry(target.table_uri, storage_options, 0)
    for line in (entry or b"").splitlines():
        action = json.loads(line) if line.strip() else {}
        timestamp = action.get("commitInfo", {}).get("timestamp")
        if timestamp is not None:
            return _moment(int(timestamp))
    created: Any = target.metadata().created_time
    return _moment(int(created))


def _row_count(target: DeltaTable, files: pa.Table) -> int:
    records = files.column("num_records") if "num_records" in files.column_names else None
    if records is not None and records.null_count == 0:
        return int(pc.sum(records).as_py() or 0)
    return int(target.to_pyarrow_dataset().count_rows())


def table_info(
    table: TableName, target: DeltaTable, *, storage_options: dict[str, str] | None = None
) -> TableInfo:
    """The facts about the table's newest version (``target`` is brought up to date)."""
    latest = read_commits(target, limit=1)[0]
    files = pa.table(target.get_add_actions(flatten=True))
    return TableInfo(
        name=str(table),
        version=target.version(),
        schema=[
            ColumnInfo(field.name, str(field.type), field.nullable)
            for field in arrow_schema(target)
        ],
        row_count=_row_count(target, files),
        size_bytes=int(pc.sum(files.column("size_bytes")).as_py() or 0),
        num_files=files.num_rows,
        partition_columns=list(target.metadata().partition_columns),
        created_at=_created_at(target, storage_options),
        last_modified=_moment(int(latest["timestamp"])),
    )
