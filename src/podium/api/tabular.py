"""Rows over HTTP: Arrow tables as JSON pages or Arrow IPC streams, and uploads back to Arrow.

Answers: ``Accept: application/vnd.apache.arrow.stream`` or ``?format=arrow`` asks for
an Arrow IPC stream (exact types; every row unless ``limit`` is given); otherwise the
answer is a JSON page of records (``limit`` 100 by default, at most :data:`MAX_PAGE`).
JSON only approximates Arrow's types, as follows: timestamps, dates and times are ISO
8601 strings, durations are seconds, decimals are strings, binary values are base64
strings, and NaN or infinite floats are ``null``.

Uploads: an Arrow IPC stream, JSON ``{"rows": [{...}, ...]}`` (JSON's types: int64,
double, string, bool; send Arrow for any other), or a Parquet, CSV or JSON-lines file as
the raw body, chosen by ``?format=`` or else by ``Content-Type``.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from podium.errors import InvalidInputError

__all__ = [
    "ARROW_STREAM",
    "MAX_PAGE",
    "TABULAR_RESPONSES",
    "UPLOAD_TYPES",
    "AnswerFormat",
    "ColumnOut",
    "RowsPage",
    "UploadFormat",
    "answer_format",
    "arrow_response",
    "json_value",
    "page",
    "parse_upload",
    "upload_format",
]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
MAX_PAGE = 10_000
DEFAULT_PAGE = 100

AnswerFormat = Literal["json", "arrow"]
UploadFormat = Literal["json", "arrow", "parquet", "csv", "jsonl"]
UPLOAD_TYPES: dict[str, UploadFormat] = {
    "application/json": "json",
    ARROW_STREAM: "arrow",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}
_FILE_READERS: dict[str, Any] = {
    "parquet": pq.read_table,
    "csv": pa_csv.read_csv,
    "jsonl": pa_json.read_json,
}


class ColumnOut(BaseModel):
    """A column: its name, its Arrow type as text (``int64``), and nullability."""

    name: str
    type: str
    nullable: bool = True


class RowsPage(BaseModel):
    """A page of rows as JSON records; ``next_offset`` is ``null`` on the last page."""

    name: str | None = None
    version: int | None = None
    columns: list[ColumnOut]
    rows: list[dict[str, Any]]
    row_count: int
    offset: int
    total_rows: int
    next_offset: int | None


TABULAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": RowsPage, "content": {ARROW_STREAM: {}}}
}


def json_value(value: Any) -> Any:
    """One Arrow value (as ``to_pylist`` gives it) as JSON: see the module docstring."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def answer_format(request: Request, asked: AnswerFormat | None) -> AnswerFormat:
    """``?format=`` if given, else Arrow when the ``Accept`` header names it, else JSON."""
    if asked is not None:
        return asked
    return "arrow" if ARROW_STREAM in request.headers.get("accept", "") else "json"


def arrow_response(table: pa.Table, headers: dict[str, str] | None = None) -> Response:
    """``table`` as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return Response(sink.getvalue().to_pybytes(), media_type=ARROW_STREAM, headers=headers)


def page(
    request: Request,
    table: pa.Table,
    *,
    asked: AnswerFormat | None,
    offset: int = 0,
    limit: int | None = None,
    name: str | None = None,
    version: int | None = None,
) -> Response:
    """Rows ``offset`` to ``offset + limit`` of ``table`` in the format the caller asked for.

    Arrow answers carry the total row count and the version in ``X-Podium-Total-Rows``
    and ``X-Podium-Table-Version``.
    """
    answer = answer_format(request, asked)
    if answer == "json":
        limit = DEFAULT_PAGE if limit is None else limit
        if limit > MAX_PAGE:
            raise InvalidInputError(
                f"limit must be at most {MAX_PAGE} for JSON rows; got {limit} instead",
                field="limit",
                remedy=f"page with offset, or ask for Arrow ('Accept: {ARROW_STREAM}')",
            )
    part = table.slice(offset, limit) if limit is not None else table.slice(offset)
    if answer == "arrow":
        headers = {"x-podium-total-rows": str(table.num_rows)}
        if version is not None:
            headers["x-podium-table-version"] = str(version)
        return arrow_response(part, headers)
    end = offset + part.num_rows
    body = {
        "name": name,
        "version": version,
        "columns": [
            {"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in table.schema
        ],
        "rows": [{k: json_value(v) for k, v in row.items()} for row in part.to_pylist()],
        "row_count": part.num_rows,
        "offset": offset,
        "total_rows": table.num_rows,
        "next_offset": end if end < table.num_rows else None,
    }
    return JSONResponse(body)


def upload_format(content_type: str) -> UploadFormat:
    """The upload format a ``Content-Type`` names (400 for any other)."""
    media = content_type.split(";")[0].strip().lower()
    if media not in UPLOAD_TYPES:
        raise InvalidInputError(
            f"cannot read a body of type {media or '(none)'!r}",
            field="content-type",
            remedy=f"send one of {', '.join(UPLOAD_TYPES)}, or say ?format=parquet|csv|jsonl",
        )
    return UPLOAD_TYPES[media]


def parse_upload(body: bytes, upload: UploadFormat) -> pa.Table:
    """The Arrow table of an uploaded body; anything unreadable is a 400 naming why."""
    if not body:
        raise InvalidInputError("the request body is empty", field="body")
    try:
        if upload == "json":
            return _json_rows(body)
        if upload == "arrow":
            return pa.ipc.open_stream(body).read_all()
        return _FILE_READERS[upload](pa.BufferReader(body))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InvalidInputError(
            f"cannot read the body as {upload}: {exc}",
            field="body",
            remedy="check the body against its format (?format= or Content-Type)",
        ) from exc


def _json_rows(body: bytes) -> pa.Table:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"the body is not valid JSON: {exc}", field="body") from exc
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise InvalidInputError(
            'the body must be {"rows": [{...}, ...]} with at least one row object',
            field="rows",
            remedy="send one JSON object per row, with the column names as keys",
        )
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowException, OverflowError, RecursionError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the rows cannot form a table: {str(exc)[:300]}",
            field="body",
            remedy="send flat rows with one type per column; numbers within 64 bits",
        ) from exc
