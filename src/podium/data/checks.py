"""Checking lake arguments against a table before anything is committed.

Every check raises :class:`~podium.errors.InvalidInputError` naming the offending field,
what was expected, what came, and what to do instead.
"""

from __future__ import annotations

import pyarrow as pa  # type: ignore[import-untyped]
from deltalake import DeltaTable

from podium.data.names import TableName
from podium.data.schema import diff_schemas
from podium.errors import InvalidInputError

__all__ = [
    "arrow_schema",
    "check_keys",
    "check_partitioning",
    "check_schema",
    "check_version",
    "check_write_args",
]

_MODES = ("append", "overwrite", "merge")
_SCHEMA_MODES = (None, "merge", "overwrite")


def arrow_schema(target: DeltaTable) -> pa.Schema:
    """The table's current schema as a pyarrow schema."""
    return pa.schema(target.schema().to_arrow())


def check_write_args(mode: str, keys: list[str] | None, schema_mode: str | None) -> None:
    if mode not in _MODES:
        raise InvalidInputError(
            f"mode must be one of {', '.join(_MODES)}; got {mode!r} instead", field="mode"
        )
    if schema_mode not in _SCHEMA_MODES:
        raise InvalidInputError(
            f"schema_mode must be None, 'merge' or 'overwrite'; got {schema_mode!r} instead",
            field="schema_mode",
        )
    if schema_mode == "overwrite" and mode != "overwrite":
        raise InvalidInputError(
            "schema_mode='overwrite' replaces the schema and needs mode='overwrite'",
            field="schema_mode",
            remedy="use schema_mode='merge' to add columns while appending",
        )
    if mode == "merge" and not keys:
        raise InvalidInputError(
            "mode='merge' upserts on key columns; keys is missing",
            field="keys",
            remedy="pass keys=[...] naming the columns that identify a row",
        )


def check_keys(table: TableName, keys: list[str], target: pa.Schema, source: pa.Schema) -> None:
    missing = [key for key in keys if key not in target.names or key not in source.names]
    if missing:
        raise InvalidInputError(
            f"merge keys {missing} are not columns of both table '{table}' and the data",
            field="keys",
            remedy=f"choose among {[n for n in source.names if n in target.names]}",
        )


def check_schema(table: TableName, target: DeltaTable, incoming: pa.Schema) -> None:
    differences = diff_schemas(arrow_schema(target), incoming)
    if differences:
        raise InvalidInputError(
            f"the data does not match the schema of '{table}':\n  - " + "\n  - ".join(differences),
            field="data",
            remedy="make the data match, or pass schema_mode='merge' to add the new columns",
            details={"differences": differences},
        )


def check_partitioning(
    table: TableName, target: DeltaTable, partition_by: list[str] | None
) -> None:
    current = target.metadata().partition_columns
    if partition_by is not None and list(partition_by) != list(current):
        raise InvalidInputError(
            f"table '{table}' is partitioned by {current}; got partition_by={partition_by}",
            field="partition_by",
            remedy="omit partition_by for an existing table, or write a new table",
        )


def check_version(table: TableName, version: int, latest: int, *, field: str = "version") -> None:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= latest:
        raise InvalidInputError(
            f"table '{table}' has versions 0 to {latest}; got {field}={version!r}",
            field=field,
            remedy=f"pass a {field} between 0 and {latest}",
        )
