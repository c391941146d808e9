"""Loading the latest value per entity into the online store, in bulk, in DuckDB.

One DuckDB query per view version picks each entity's latest row in the time range (ties
by created timestamp) and builds, for every row, the online key (join keys as text), the
event time in microseconds, and the JSON payload; Python only streams the resulting
record batches into :meth:`OnlineStore.write`. The same query shape loads pushed rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb

from podium.features.keys import KEY_SEPARATOR
from podium.features.online.protocol import OnlineStore
from podium.features.resolve import ResolvedView

__all__ = ["BATCH_ROWS", "Progress", "latest_query", "load_latest"]

BATCH_ROWS = 50_000
"""Rows per online-store write."""

Progress = Callable[[int, int], None]
"""Called with (rows written so far, rows in all) after each batch."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def latest_query(
    view: ResolvedView, relation: str, *, start: datetime | None, end: datetime | None
) -> tuple[str, list[Any]]:
    """SQL (and parameters) of key, ts_us, payload: each entity's latest row in the range."""
    keys = ", ".join(f"CAST({_quote(k)} AS VARCHAR)" for k in view.join_keys)
    key = keys if len(view.join_keys) == 1 else f"concat_ws(chr({ord(KEY_SEPARATOR)}), {keys})"
    ts = f"CAST({_quote(view.timestamp_field)} AS TIMESTAMP)"
    payload = ", ".join(f"{_quote(name)} := {_quote(name)}" for name in view.features)
    order = [f"{ts} DESC"]
    if view.created_timestamp_field:
        order.append(f"{_quote(view.created_timestamp_field)} DESC NULLS LAST")
    where = [f"{ts} IS NOT NULL"] + [f"{_quote(k)} IS NOT NULL" for k in view.join_keys]
    params: list[Any] = []
    if start is not None:
        where.append(f"{ts} >= ?")
        params.append(_naive_utc(start))
    if end is not None:
        where.append(f"{ts} <= ?")
        params.append(_naive_utc(end))
    partition = ", ".join(_quote(k) for k in view.join_keys)
    sql = (
        f"SELECT {key} AS key, epoch_us({ts}) AS ts_us, "
        f"CAST(to_json(struct_pack({payload})) AS VARCHAR) AS payload "
        f"FROM ({relation}) AS src WHERE {' AND '.join(where)} "
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {', '.join(order)}) = 1"
    )
    return sql, params


def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": "4GB",
            "threads": 2,
        },
    )
    con.execute("SET TimeZone = 'UTC'")
    return con


def load_latest(
    view: ResolvedView,
    source: Any,
    store: OnlineStore,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
) -> int:
    """Write each entity's latest row of ``source`` (an Arrow dataset or table) to the store.

    Returns the number of rows the store accepted (rows older than what it holds are not
    counted: the store keeps the newest event per key).
    """
    con = _connection()
    try:
        con.register("source_rows", source)
        sql, params = latest_query(view, "SELECT * FROM source_rows", start=start, end=end)
        con.execute(f"CREATE TEMP TABLE latest AS {sql}", params).fetchall()
        total = int(con.execute("SELECT count(*) FROM latest").fetchall()[0][0])
        reader: Any = con.sql("SELECT key, ts_us, payload FROM latest").to_arrow_reader(BATCH_ROWS)
        written = done = 0
        for batch in reader:
            keys = batch.column(0).to_pylist()
            written += store.write(
                view.online_table, keys, batch.column(1).to_pylist(), batch.column(2).to_pylist()
            )
            done += len(keys)
            if progress is not None:
                progress(done, total)
        if progress is not None and total == 0:
            progress(0, 0)
        return written
    finally:
        con.close()
