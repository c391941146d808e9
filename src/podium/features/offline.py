"""The offline store's engine: point-in-time correct joins of an entity frame with feature views.

For each entity row and each view, the feature row with the same join keys and
``event_timestamp - ttl <= row_ts <= event_timestamp`` (both ends inclusive) is joined;
the latest ``row_ts`` wins, then the latest created timestamp, then the greatest feature
values (so the answer never depends on file layout). Where nothing qualifies the features
are NULL. Every entity row comes back exactly once, in input order, with all its columns
unchanged, followed by the features, named by feature name, or ``view__feature`` where
the name clashes with another view's feature or an entity column.

The join runs in DuckDB as one ``ASOF LEFT JOIN`` per view (see :mod:`podium.features.
pit_sql`) over Arrow tables and datasets (a Delta table's ``to_pyarrow_dataset()``), so
only the needed columns are read and no row passes through Python. The engine knows
nothing of feature definitions: the feature store describes each view by a small
:class:`ViewSource`::

    point_in_time_join(
        entity_df,
        [ViewSource("customer_stats", "SELECT * FROM stats", ("customer_id",), "event_ts",
                    None, timedelta(days=30), ("tenure_months", "monthly_charges"))],
        sources={"stats": DeltaTable(uri).to_pyarrow_dataset()},
    )
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as pa_ds  # type: ignore[import-untyped]
from duckdb.sqltypes import DuckDBPyType

from podium.errors import InvalidInputError, NotFoundError
from podium.features.pit_sql import (
    ENTITY_RELATION,
    ROW,
    Ties,
    ViewPlan,
    join_query,
    quote,
    ties_query,
)

__all__ = ["ViewSource", "parquet_connection", "point_in_time_join"]

_TIMESTAMP_TYPES = {
    "timestamp",
    "timestamp with time zone",
    "timestamp_s",
    "timestamp_ms",
    "timestamp_ns",
    "timestamptz_ns",
}
# Join key types that compare with each other (DuckDB casts within a family).
_KEY_FAMILIES = {
    **dict.fromkeys(("tinyint", "smallint", "integer", "bigint", "hugeint"), "an integer"),
    **dict.fromkeys(("utinyint", "usmallint", "uinteger", "ubigint", "uhugeint"), "an integer"),
    **dict.fromkeys(("float", "double", "decimal"), "a number"),
    "varchar": "a string",
    **dict.fromkeys(_TIMESTAMP_TYPES, "a timestamp"),
}
# The engine's own connection: bounded, and sealed once the inputs are registered.
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "temp_directory": "",
    "memory_limit": "4GB",
    "threads": 2,
}
_SEAL = ("SET enable_external_access = false", "SET lock_configuration = true")


def parquet_connection(files: Mapping[str, Sequence[str]]) -> duckdb.DuckDBPyConnection:
    """A sealed join connection in which each key of ``files`` is a view over those
    Parquet files (DuckDB's native reader, faster than scanning an Arrow dataset).

    Only the named files are readable; pass the connection as ``con`` to
    :func:`point_in_time_join` and close it afterwards.
    """
    con = duckdb.connect(":memory:", config=_CONFIG)
    allowed = sorted({path for paths in files.values() for path in paths})
    con.execute("SET allowed_paths = ?", [allowed])
    for alias, paths in files.items():
        listed = ", ".join("'" + path.replace("'", "''") + "'" for path in paths)
        con.execute(
            f"CREATE VIEW {quote(alias)} AS "
            f"SELECT * FROM read_parquet([{listed}], union_by_name = true)"
        )
    for statement in _SEAL:
        con.execute(statement)
    return con


@dataclass(frozen=True)
class ViewSource:
    """What the engine needs to know of one feature view.

    ``relation`` is a DuckDB ``SELECT`` over the names in ``sources`` (for example
    ``"SELECT * FROM customer_stats_src"``); ``join_keys`` name columns that exist under
    the same names in the entity frame; ``ttl`` None means no age limit. ``name`` is used
    for error messages and for ``name__feature`` result columns on a name clash.
    """

    name: str
    relation: str
    join_keys: tuple[str, ...]
    timestamp_field: str
    created_timestamp_field: str | None
    ttl: timedelta | None
    features: tuple[str, ...]


def point_in_time_join(
    entity: pa.Table,
    views: Sequence[ViewSource],
    *,
    sources: Mapping[str, pa_ds.Dataset | pa.Table],
    event_timestamp: str = "event_timestamp",
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """The entity frame with each view's features as of each row's ``event_timestamp``.

    ``entity`` holds ``event_timestamp`` (a timestamp column, tz-aware or naive; naive is
    UTC) and every view's join keys; ``sources`` are the Arrow tables or datasets the
    views' relations read, registered under their keys. Timestamps are compared in UTC
    with microsecond precision. The result has the entity's rows in input order and its
    columns unchanged, plus one column per feature.

    Without ``con`` the join runs in a fresh DuckDB connection (2 threads, 4 GB) that can
    read nothing but ``sources``; with ``con``, ``sources`` are registered on it for the
    duration of the call.

    Raises :class:`~podium.errors.InvalidInputError` when the entity frame lacks the
    timestamp or a join key column, a timestamp column is not a timestamp, a join key's
    type does not match the view's, or a view's relation cannot be read; and
    :class:`~podium.errors.NotFoundError` when a view's source lacks a named column.
    """
    _check_entity(entity, views, event_timestamp)
    key_names = list(dict.fromkeys(k for view in views for k in view.join_keys))
    narrow = {ROW: pa.array(np.arange(entity.num_rows, dtype=np.int64))}
    narrow["__ts"] = entity.column(event_timestamp)
    narrow.update({f"__k{i}": entity.column(k) for i, k in enumerate(key_names)})
    names = _output_names(entity.column_names, views)
    if not views:
        return entity
    own = con is None
    db = duckdb.connect(":memory:", config=_CONFIG) if con is None else con
    registered = [*sources, ENTITY_RELATION]
    try:
        for name, source in sources.items():
            db.register(name, source)
        db.register(ENTITY_RELATION, pa.table(narrow))
        if own:
            for statement in _SEAL:
                db.execute(statement)
        entity_types = db.sql(f"FROM {ENTITY_RELATION}").types
        key_types = dict(zip(key_names, entity_types[2:], strict=True))
        plans = [_plan(db, view, key_types, key_names) for view in views]
        query = join_query(plans, len(key_names), entity_types[1].id)
        try:
            joined = db.sql(query).to_arrow_table()
        except duckdb.Error as exc:
            raise InvalidInputError(
                f"the point-in-time join failed: {exc}",
                remedy="check the feature views' source queries and their data",
            ) from exc
    finally:
        if own:
            db.close()
        else:
            for name in registered:
                db.unregister(name)
    return _attach(entity, joined, names)


def _attach(entity: pa.Table, joined: pa.Table, names: list[str]) -> pa.Table:
    """``entity`` with the feature columns of ``joined`` (any row order) in entity order."""
    if joined.num_rows != entity.num_rows:  # the ASOF LEFT JOIN keeps each row exactly once
        raise RuntimeError(
            f"point-in-time join returned {joined.num_rows} rows for {entity.num_rows}"
        )
    positions = np.empty(entity.num_rows, dtype=np.int64)
    positions[joined.column(0).to_numpy()] = np.arange(entity.num_rows, dtype=np.int64)
    features = joined.drop_columns([ROW]).take(positions)
    result = entity
    for index, name in enumerate(names):
        result = result.append_column(name, features.column(index))
    return result


def _check_entity(entity: pa.Table, views: Sequence[ViewSource], event_timestamp: str) -> None:
    if not isinstance(entity, pa.Table):
        raise InvalidInputError(
            f"the entity frame must be a pyarrow Table; got {type(entity).__name__} instead",
            field="entity_df",
            remedy="convert it with pyarrow.Table.from_pandas(df)",
        )
    columns = set(entity.column_names)
    if event_timestamp not in columns:
        raise InvalidInputError(
            f"the entity frame has no '{event_timestamp}' column",
            field=event_timestamp,
            remedy=f"add the time of each row as a timestamp column '{event_timestamp}'",
        )
    kind = entity.schema.field(event_timestamp).type
    if not pa.types.is_timestamp(kind):
        raise InvalidInputError(
            f"the entity frame's '{event_timestamp}' column must be a timestamp; got {kind}",
            field=event_timestamp,
            remedy="convert it, e.g. pandas.to_datetime(df['event_timestamp'], utc=True)",
        )
    seen: set[str] = set()
    for view in views:
        if view.name in seen:
            raise InvalidInputError(
                f"feature view '{view.name}' is joined twice",
                field="features",
                remedy="name each view once",
            )
        seen.add(view.name)
        if not view.features:
            raise InvalidInputError(
                f"feature view '{view.name}' is joined without features",
                field="features",
                remedy="name at least one feature of the view",
            )
        if view.ttl is not None and view.ttl < timedelta(0):
            raise InvalidInputError(
                f"the ttl of feature view '{view.name}' must not be negative; got {view.ttl}",
                field="ttl",
                remedy="use a positive ttl, or None for no age limit",
            )
        for key in view.join_keys:
            if key not in columns:
                raise InvalidInputError(
                    f"the entity frame has no '{key}' column, the join key of feature view "
                    f"'{view.name}'",
                    field=key,
                    remedy=f"add a '{key}' column to the entity frame",
                )


def _output_names(entity_columns: list[str], views: Sequence[ViewSource]) -> list[str]:
    for view in views:
        repeated = sorted(f for f, n in Counter(view.features).items() if n > 1)
        if repeated:
            raise InvalidInputError(
                f"feature view '{view.name}' names {', '.join(repeated)} more than once",
                field="features",
                remedy="name each feature once",
            )
    owners = Counter(f for view in views for f in view.features)
    taken = set(entity_columns)
    names = [
        f"{view.name}__{f}" if owners[f] > 1 or f in taken else f
        for view in views
        for f in view.features
    ]
    clashes = sorted(n for n, count in Counter([*entity_columns, *names]).items() if count > 1)
    if clashes:
        raise InvalidInputError(
            f"the result would have the column(s) {', '.join(clashes)} twice",
            field="entity_df",
            remedy="rename the entity frame's columns that clash with feature names",
        )
    return names


def _plan(
    con: duckdb.DuckDBPyConnection,
    view: ViewSource,
    entity_types: Mapping[str, DuckDBPyType],
    key_names: list[str],
) -> ViewPlan:
    try:
        relation = con.sql(view.relation)
    except duckdb.Error as exc:
        raise InvalidInputError(
            f"the source of feature view '{view.name}' cannot be read: {exc}",
            field="source",
            remedy="check the view's source table or query",
        ) from exc
    if relation is None:
        raise InvalidInputError(
            f"the source of feature view '{view.name}' is not a query",
            field="source",
            remedy="use a single SELECT over the source tables",
        )
    types = dict(zip(relation.columns, relation.types, strict=True))
    wanted = [*view.join_keys, view.timestamp_field, *view.features]
    if view.created_timestamp_field is not None:
        wanted.append(view.created_timestamp_field)
    for column in wanted:
        if column not in types:
            raise NotFoundError(
                f"feature view '{view.name}' has no column '{column}' in its source",
                field="features" if column in view.features else "source",
                remedy=f"columns of the source: {', '.join(relation.columns)}",
            )
    for field in (view.timestamp_field, view.created_timestamp_field):
        if field is not None and types[field].id not in _TIMESTAMP_TYPES:
            raise InvalidInputError(
                f"column '{field}' of feature view '{view.name}' must be a timestamp; "
                f"got {types[field]}",
                field="timestamp_field",
                remedy="cast it to a timestamp in the view's source",
            )
    for key in view.join_keys:
        ours, theirs = entity_types[key], types[key]
        if _key_family(ours) != _key_family(theirs):
            raise InvalidInputError(
                f"join key '{key}' is {ours} in the entity frame but {theirs} in feature "
                f"view '{view.name}'",
                field=key,
                remedy=f"convert the entity frame's '{key}' column to {theirs}",
            )
    plan = ViewPlan(
        relation=view.relation,
        join_keys=view.join_keys,
        key_slots=tuple(key_names.index(k) for k in view.join_keys),
        timestamp_field=view.timestamp_field,
        timestamp_type=types[view.timestamp_field].id,
        created_timestamp_field=view.created_timestamp_field,
        ttl_us=None if view.ttl is None else view.ttl // timedelta(microseconds=1),
        features=view.features,
    )
    return dataclasses.replace(plan, ties=_ties(con, plan))


def _ties(con: duckdb.DuckDBPyConnection, plan: ViewPlan) -> Ties:
    """How much tie-breaking the view's rows need: a grouping is far cheaper than the sort."""
    if not con.sql(ties_query(plan, with_created=False)).fetchall():
        return "none"
    if plan.created_timestamp_field is None:
        return "full"
    return "full" if con.sql(ties_query(plan, with_created=True)).fetchall() else "created"


def _key_family(kind: DuckDBPyType) -> str:
    return _KEY_FAMILIES.get(kind.id, str(kind))
