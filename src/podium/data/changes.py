"""What changed in a table between two versions, from its Delta change data feed.

Tables podium creates record a change data feed (see
:data:`podium.data.commits.NEW_TABLE_CONFIGURATION`): appends and overwrites as inserts and
deletes, merges and updates as ``update_preimage``/``update_postimage`` pairs, deletes as
deletes. Compactions change no data and add no changes.

delta-rs refuses a feed starting at a version without change data only for version 0; for
later versions it silently makes up changes from whole rewritten files. So availability is
checked here, from the table configuration at the first version asked for, before reading.
"""

from __future__ import annotations

import json

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from podium.data.checks import check_version
from podium.data.history import read_commits
from podium.data.names import TableName
from podium.errors import InvalidInputError

__all__ = ["CHANGE_COLUMNS", "change_feed"]

CHANGE_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
_FEED_KEY = "delta.enableChangeDataFeed"
_PROPERTY_OPERATIONS = ("SET TBLPROPERTIES", "UNSET TBLPROPERTIES")


def _records_changes(target: DeltaTable, version: int, options: dict[str, str] | None) -> bool:
    at_version = DeltaTable(target.table_uri, version=version, storage_options=options)
    return at_version.metadata().configuration.get(_FEED_KEY, "false").lower() == "true"


def _first_feed_version(target: DeltaTable, since_version: int) -> int | None:
    """The version after ``since_version`` from which the table records changes, if any."""
    commits = read_commits(target, limit=target.version() - since_version + 1)
    enabled = None
    for commit in sorted(commits, key=lambda c: int(c["version"])):
        if commit.get("operation") not in _PROPERTY_OPERATIONS:
            continue
        properties = json.loads(commit.get("operationParameters", {}).get("properties", "{}"))
        if str(properties.get(_FEED_KEY, "")).lower() == "true":
            enabled = int(commit["version"])
    return enabled


def _no_feed(table: TableName, version: int, first: int | None) -> InvalidInputError:
    if first is not None:
        remedy = f"changes are recorded from version {first} on; pass since_version={first}"
    else:
        remedy = (
            "the table was created without a change data feed (before podium turned it on); "
            "copy it into a new table with write(), which records changes from then on"
        )
    return InvalidInputError(
        f"table '{table}' has no change data feed at version {version}",
        field="since_version",
        remedy=remedy,
    )


def _plain_types(changes: pa.Table) -> pa.Table:
    """The feed with view types made plain and commit metadata typed like the lake's."""
    fields = []
    for field in changes.schema:
        dtype = field.type
        if pa.types.is_string_view(dtype) or pa.types.is_large_string(dtype):
            dtype = pa.string()
        elif pa.types.is_binary_view(dtype) or pa.types.is_large_binary(dtype):
            dtype = pa.binary()
        elif field.name == "_commit_version":
            dtype = pa.int64()
        elif field.name == "_commit_timestamp":
            dtype = pa.timestamp("ms", tz="UTC")
        fields.append(pa.field(field.name, dtype, field.nullable))
    return changes.cast(pa.schema(fields))


def change_feed(
    table: TableName,
    target: DeltaTable,
    *,
    since_version: int,
    until_version: int | None = None,
    storage_options: dict[str, str] | None = None,
) -> pa.Table:
    """Every row change committed in versions ``since_version`` to ``until_version``.

    The table's columns plus :data:`CHANGE_COLUMNS`, ordered by commit version.
    """
    latest = target.version()
    check_version(table, since_version, latest, field="since_version")
    if until_version is not None:
        check_version(table, until_version, latest, field="until_version")
        if until_version < since_version:
            raise InvalidInputError(
                f"until_version={until_version} is before since_version={since_version}",
                field="until_version",
                remedy=f"pass an until_version between {since_version} and {latest}",
            )
    if not _records_changes(target, since_version, storage_options):
        raise _no_feed(table, since_version, _first_feed_version(target, since_version))
    try:
        reader = target.load_cdf(starting_version=since_version, ending_version=until_version)
        changes = pa.RecordBatchReader.from_stream(reader).read_all()
    except DeltaError as exc:
        if "change data" not in str(exc):
            raise
        raise _no_feed(table, since_version, None) from exc
    changes = _plain_types(changes)
    return changes.take(pc.sort_indices(changes, [("_commit_version", "ascending")]))
