"""Warehouse SQL: read-only DuckDB over the lake's tables, with no way out to files or network.

Each query gets a fresh in-memory DuckDB connection in which every table is a view named
like the table (``raw.customers``) over the Arrow dataset of its current Delta version.
After the views are registered the connection is sealed: external access (files, network,
``COPY``, ``ATTACH``, extension install/load) is disabled, extension auto-install/-load is
off, and the configuration is locked so the query cannot switch any of it back on. Only a
single read statement (``SELECT``/``WITH``/``DESCRIBE``/``SHOW``/``SUMMARIZE``) is run.

A past version is addressed as ``raw.customers@3`` anywhere a table name may stand; such
references (outside string literals and quoted identifiers) are rewritten to a view of that
version, ``"raw"."customers@3"``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as pa_ds  # type: ignore[import-untyped]

from podium.data.names import TableName
from podium.errors import InvalidInputError, NotFoundError

__all__ = ["QUERY_TIMEOUT_SECONDS", "VersionLoader", "run_sql"]

QUERY_TIMEOUT_SECONDS = 60.0
"""How long one warehouse query may run before it is interrupted."""

VersionLoader = Callable[[TableName, int], pa_ds.Dataset]
"""Returns the Arrow dataset of a table at a version (raising podium errors if none)."""

# A string literal, a quoted identifier, or a versioned table reference (group 1-3).
_TOKENS = re.compile(
    r"""
    '(?:[^']|'')*'                                          # string literal: left alone
    | "(?:[^"]|"")*"                                        # quoted identifier: left alone
    | \b([a-z][a-z0-9_]{0,62})\.([a-z][a-z0-9_]{0,62})@(\d+)\b  # zone.name@version
    """,
    re.VERBOSE,
)

_READ_STATEMENTS = {duckdb.StatementType.SELECT}

_SEAL = (
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def _versioned_refs(query: str) -> tuple[str, set[tuple[TableName, int]]]:
    """The query with every ``zone.name@N`` replaced by its view name, and the refs found."""
    found: set[tuple[TableName, int]] = set()

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        zone, name, version = match.group(1), match.group(2), int(match.group(3))
        found.add((TableName(zone, name), version))
        return f'"{zone}"."{name}@{version}"'

    return _TOKENS.sub(replace, query), found


def _connect(
    tables: Mapping[TableName, pa_ds.Dataset],
    versions: Mapping[tuple[TableName, int], pa_ds.Dataset],
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            # No temp folder: DuckDB keeps its temp directory readable after sealing, so a
            # query could read what other queries spilled there.
            "temp_directory": "",
            # One query must not take the whole server down.
            "memory_limit": "4GB",
            "threads": 2,
        },
    )
    views = {(name, name.name): dataset for name, dataset in tables.items()}
    views.update({(name, f"{name.name}@{v}"): dataset for (name, v), dataset in versions.items()})
    for zone in sorted({name.zone for name, _ in views}):
        con.execute(f'CREATE SCHEMA "{zone}"')
    for (name, view), dataset in views.items():
        # Names are validated ([a-z][a-z0-9_]*, digits after '@'), so interpolating is safe.
        arrow_name = f"__podium_{name.zone}__{view}"
        con.register(arrow_name, dataset)
        con.execute(f'CREATE VIEW "{name.zone}"."{view}" AS SELECT * FROM "{arrow_name}"')
    for statement in _SEAL:
        con.execute(statement)
    return con


def _check_read_only(con: duckdb.DuckDBPyConnection, query: str) -> None:
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise InvalidInputError(str(exc), field="query", remedy="fix the SQL syntax") from exc
    if len(statements) != 1:
        raise InvalidInputError(
            f"the query must be exactly one SQL statement; got {len(statements)}",
            field="query",
            remedy="run one SELECT at a time",
        )
    kind = statements[0].type
    if kind not in _READ_STATEMENTS:
        raise InvalidInputError(
            f"warehouse SQL is read-only; {kind.name} statements are refused",
            field="query",
            remedy="use SELECT (or WITH ... SELECT); write tables with data.write",
        )


def run_sql(
    tables: Mapping[TableName, pa_ds.Dataset],
    query: str,
    *,
    at_version: VersionLoader,
    timeout: float = QUERY_TIMEOUT_SECONDS,
) -> pa.Table:
    """Run one read-only query over ``tables`` and return the result as Arrow.

    ``tables`` maps every table to its current dataset; ``at_version`` loads the past
    versions the query names (``raw.customers@3``). A query running longer than
    ``timeout`` seconds is interrupted.

    Raises :class:`~podium.errors.InvalidInputError` (field ``query``) carrying DuckDB's
    message for SQL errors, unknown tables, and any attempt to touch files or the network.
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("the query must be a non-empty SQL string", field="query")
    query, refs = _versioned_refs(query)
    con = _connect(tables, {ref: at_version(*ref) for ref in sorted(refs, key=str)})
    watchdog = threading.Timer(timeout, con.interrupt)
    try:
        _check_read_only(con, query)
        watchdog.start()
        try:
            return con.sql(query).to_arrow_table()
        except duckdb.InterruptException as exc:
            raise InvalidInputError(
                f"the query ran longer than {timeout:g} s and was stopped",
                field="query",
                remedy="filter or aggregate more, or query a smaller version of the data",
            ) from exc
        except duckdb.PermissionException as exc:
            raise InvalidInputError(
                str(exc),
                field="query",
                remedy="warehouse SQL may only read the project's lake tables, "
                "not files, databases, extensions or the network",
            ) from exc
        except duckdb.Error as exc:
            if "IOError" in str(exc):
                # A registered version whose files vacuum removed; never echo storage paths.
                raise NotFoundError(
                    "a table version this query reads can no longer be read: vacuum removed "
                    "its files",
                    field="query",
                    remedy="query a newer version (see the table's history)",
                ) from exc
            raise InvalidInputError(
                str(exc),
                field="query",
                remedy=f"tables visible here: {', '.join(sorted(map(str, tables))) or 'none'}",
            ) from exc
    finally:
        watchdog.cancel()
        con.close()
