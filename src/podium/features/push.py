"""Checking pushed rows before anything is written: keys, time, features, source columns;
and that a view's pii features read tokenized columns."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa  # type: ignore[import-untyped]

from podium.data.service import DataService
from podium.errors import InvalidInputError
from podium.features.definitions import FeatureView
from podium.features.planning import arrow_matches
from podium.features.resolve import ResolvedView

__all__ = ["check_push", "mark_pii_sources"]


def check_push(view: ResolvedView, rows: pa.Table, data: DataService) -> pa.Table:
    """``rows`` cast to the source table's column types, or an error naming the column.

    Rows must carry the view's join keys, its timestamp and its features; other columns
    must exist in the source table (missing ones are stored as nulls).
    """
    if view.is_query:
        raise InvalidInputError(
            f"feature view '{view.name}' reads a SQL query; rows can only be pushed to a "
            "view whose source is a table",
            field="view",
            remedy="push to the table the query reads (p.data.write), then materialize",
        )
    if rows.num_rows == 0:
        raise InvalidInputError("no rows to push", field="rows", remedy="pass at least one row")
    _, dataset = data.dataset(view.source)
    schema: pa.Schema = dataset.schema
    required = [*view.join_keys, view.timestamp_field, *view.features]
    missing = [name for name in required if name not in rows.column_names]
    if missing:
        raise InvalidInputError(
            f"rows pushed to '{view.name}' lack column(s) {', '.join(missing)}",
            field=missing[0],
            remedy=f"pass every join key, '{view.timestamp_field}' and the view's features",
        )
    unknown = [name for name in rows.column_names if name not in schema.names]
    if unknown:
        raise InvalidInputError(
            f"column(s) {', '.join(unknown)} are not in the source table {view.source} of "
            f"'{view.name}'",
            field=unknown[0],
            remedy="drop them, or add them to the source table first",
        )
    for key, key_type in zip(view.join_keys, view.key_types, strict=True):
        if not arrow_matches(key_type, rows.schema.field(key).type):
            raise InvalidInputError(
                f"join key '{key}' must be {key_type}; the pushed column is "
                f"{rows.schema.field(key).type}",
                field=key,
            )
    if not pa.types.is_timestamp(rows.schema.field(view.timestamp_field).type):
        raise InvalidInputError(
            f"column '{view.timestamp_field}' must be a timestamp; it is "
            f"{rows.schema.field(view.timestamp_field).type}",
            field=view.timestamp_field,
        )
    for name, dtype in view.features.items():
        if not arrow_matches(dtype, rows.schema.field(name).type):
            raise InvalidInputError(
                f"feature '{view.name}:{name}' is {dtype}; the pushed column is "
                f"{rows.schema.field(name).type}",
                field=name,
            )
    target = pa.schema([schema.field(name) for name in rows.column_names])
    try:
        return rows.select(target.names).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInputError(
            f"rows pushed to '{view.name}' do not fit the source table's types: {exc}",
            field="rows",
        ) from exc


def mark_pii_sources(definitions: Sequence[object], data: DataService) -> None:
    """Check every feature flagged ``pii`` reads a source column stored as tokens (or
    mark it on a source table not written yet); InvalidInputError otherwise (ADR 0045)."""
    for view in definitions:
        if not isinstance(view, FeatureView):
            continue
        pii = [feature.name for feature in view.features if feature.pii]
        if not pii:
            continue
        if view.is_query:
            raise InvalidInputError(
                f"feature view '{view.name}' flags pii features {pii} but reads a SQL query",
                field="features",
                remedy="read the pii columns from a table (source='zone.table') whose "
                "columns were written with p.data.write(..., pii=[...])",
            )
        data.mark_pii(view.source.strip(), pii)
