"""The lake and warehouse over HTTP: the same interface as the embedded DataService.

Tables travel as Arrow IPC streams both ways, so what :meth:`HttpData.read` and
:meth:`HttpData.sql` return has exactly the types the embedded service returns. What
``write`` accepts is turned into Arrow here, on the client: a file path names a file on
this machine, never one on the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.data.inputs import WriteData, to_arrow
from podium.data.lake import SchemaMode, WriteMode
from podium.data.maintenance import MIN_RETAIN_HOURS, Progress
from podium.data.names import parse_table_name
from podium.data.service import ViewMode
from podium.data.streaming import StreamBatch, append_stream
from podium.data.types import ColumnInfo, HistoryEntry, OptimizeResult, TableInfo, TableVersion
from podium.errors import BackendUnavailableError

__all__ = ["HttpData", "arrow_bytes", "read_arrow"]

_HISTORY = TypeAdapter(list[HistoryEntry])
_OPTIMIZE = TypeAdapter(OptimizeResult)
_ARROW = {"format": "arrow"}


def arrow_bytes(data: pa.Table | pa.RecordBatchReader) -> bytes:
    """``data`` as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        if isinstance(data, pa.RecordBatchReader):
            for batch in data:
                writer.write_batch(batch)
        else:
            writer.write_table(data)
    return bytes(sink.getvalue().to_pybytes())


def read_arrow(body: bytes, *, what: str) -> pa.Table:
    """The Arrow table of an IPC stream the server sent."""
    try:
        return pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise BackendUnavailableError(
            f"the server's answer to {what} is not an Arrow stream: {exc}",
            remedy="check that the URL given to podium.connect() is a podium server",
        ) from exc


def _url(name: str, tail: str = "") -> str:
    # Checked here as the server checks it, so a bad name fails the same way as embedded.
    return url_path("/v1/tables/{}", parse_table_name(name)) + tail


def _version(answer: Any) -> TableVersion:
    return TableVersion(str(answer["name"]), int(answer["version"]), int(answer["rows_written"]))


class HttpData:
    """``p.data`` against a podium server (see :class:`podium.data.protocol.Data`)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

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
        pii: list[str] | None = None,
    ) -> TableVersion:
        """Write ``data`` to table ``name`` in one atomic commit on the server."""
        url = _url(name, "/rows")
        arrow = data if isinstance(data, pa.RecordBatchReader) else to_arrow(data)
        params: dict[str, Any] = {"mode": mode, **_ARROW}
        if keys is not None:
            params["keys"] = list(keys)
        if partition_by is not None:
            params["partition_by"] = list(partition_by)
        if schema_mode is not None:
            params["schema_mode"] = schema_mode
        if pii:
            params["pii"] = list(pii)
        answer = self._api.json("POST", url, content=arrow_bytes(arrow), params=params)
        return _version(answer)

    def pii_columns(self, name: str) -> list[str]:
        """The columns of table ``name`` stored as tokens, sorted."""
        answer = self._api.json("GET", _url(name, "/pii"))
        return [str(column) for column in answer["columns"]]

    def detokenize(self, name: str, column: str, tokens: list[str]) -> list[str | None]:
        """The clear values of ``tokens`` (admins only; the server audits the call)."""
        body = {"column": column, "tokens": list(tokens)}
        answer = self._api.json("POST", _url(name, "/detokenize"), json=body)
        return [None if value is None else str(value) for value in answer["values"]]

    def append_stream(
        self,
        name: str,
        batches: Iterable[StreamBatch],
        *,
        max_rows: int = 10_000,
        max_seconds: float = 5.0,
        on_commit: Callable[[TableVersion], None] | None = None,
    ) -> list[TableVersion]:
        """Append ``batches`` in micro-batches, each one request and one atomic commit.

        Batched here, on the client, with the embedded rules (:mod:`podium.data.streaming`).
        """
        return append_stream(
            lambda rows: self.write(name, rows, mode="append"),
            batches,
            max_rows=max_rows,
            max_seconds=max_seconds,
            on_commit=on_commit,
        )

    def delete(self, name: str, where: str) -> TableVersion:
        """Delete the rows matching the SQL predicate ``where`` (e.g. ``"id = 3"``)."""
        return _version(self._api.json("POST", _url(name, "/delete"), json={"where": where}))

    def restore(self, name: str, version: int) -> TableVersion:
        """Make ``version``'s content the table's newest version (history is kept)."""
        body = {"version": version}
        return _version(self._api.json("POST", _url(name, "/restore"), json=body))

    def create_view(self, name: str, query: str, *, mode: ViewMode = "overwrite") -> TableVersion:
        """Run ``query`` on the server and write its result to table ``name``, with lineage."""
        body = {"name": str(parse_table_name(name)), "query": query, "mode": mode}
        return _version(self._api.json("POST", "/v1/views", json=body))

    def optimize(
        self, name: str, *, target_size: int | None = None, progress: Progress | None = None
    ) -> OptimizeResult:
        """Compact the table's small files; ``progress`` gets one line when it is done."""
        body = {"target_size": target_size}
        result = _OPTIMIZE.validate_python(
            self._api.json("POST", _url(name, "/optimize"), json=body)
        )
        if progress is not None:
            progress(
                f"{result.name}: {result.files_removed} files compacted into "
                f"{result.files_added} (version {result.version})"
            )
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
        body = {
            "retain_hours": retain_hours,
            "dry_run": dry_run,
            "enforce_retention": enforce_retention,
        }
        answer = self._api.json("POST", _url(name, "/vacuum"), json=body)
        return [str(path) for path in answer["files"]]

    # -- reading ---------------------------------------------------------------------
    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """Read the whole table, now or at ``version`` or time ``as_of``."""
        params: dict[str, Any] = dict(_ARROW)
        if version is not None:
            params["version"] = version
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        if columns is not None:
            params["columns"] = list(columns)
        response = self._api.request("GET", _url(name, "/rows"), params=params)
        return read_arrow(response.content, what=f"read({name!r})")

    def changes(
        self, name: str, *, since_version: int, until_version: int | None = None
    ) -> pa.Table:
        """Every row change committed from ``since_version`` to ``until_version`` (or now)."""
        params: dict[str, Any] = {"since_version": since_version, **_ARROW}
        if until_version is not None:
            params["until_version"] = until_version
        response = self._api.request("GET", _url(name, "/changes"), params=params)
        return read_arrow(response.content, what=f"changes({name!r})")

    def sql(self, query: str) -> pa.Table:
        """Run read-only DuckDB SQL on the server; the whole result, as Arrow."""
        response = self._api.request("POST", "/v1/sql", json={"query": query}, params=_ARROW)
        return read_arrow(response.content, what="sql()")

    def history(self, name: str) -> list[HistoryEntry]:
        """Every commit of the table, oldest first."""
        return _HISTORY.validate_python(self._api.json("GET", _url(name, "/history")))

    def table_info(self, name: str) -> TableInfo:
        """Version, schema, row count, size, files, partitioning and times of the table."""
        info = self._api.json("GET", _url(name, "/info"))
        return TableInfo(
            name=str(info["name"]),
            version=int(info["version"]),
            schema=[
                ColumnInfo(str(c["name"]), str(c["type"]), bool(c["nullable"]))
                for c in info["columns"]
            ],
            row_count=int(info["row_count"]),
            size_bytes=int(info["size_bytes"]),
            num_files=int(info["num_files"]),
            partition_columns=[str(c) for c in info["partition_columns"]],
            created_at=datetime.fromisoformat(info["created_at"]),
            last_modified=datetime.fromisoformat(info["last_modified"]),
        )

    def tables(self) -> list[str]:
        """The names of every table of the project, sorted."""
        return [str(table["name"]) for table in self._api.json("GET", "/v1/tables")]

    def version(self, name: str) -> int:
        """The table's current version."""
        return int(self._api.json("GET", _url(name, "/version"))["version"])

    def ref(self, name: str) -> str:
        """The exact reference to the table's current content, e.g. ``raw.customers@3``."""
        return str(self._api.json("GET", _url(name, "/version"))["ref"])
