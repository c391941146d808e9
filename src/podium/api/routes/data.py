"""``/v1/tables``, ``/v1/sql`` and ``/v1/views``: the project's lake and warehouse over HTTP.

Rows are read and written as JSON or Arrow IPC (and uploaded as Parquet, CSV or JSON
lines); :mod:`podium.api.tabular` says how each is encoded. Table names in paths are
``zone.name``; a bad one is a 400 before anything is opened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from podium.access.roles import Role
from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of
from podium.api.tabular import (
    TABULAR_RESPONSES,
    UPLOAD_TYPES,
    AnswerFormat,
    ColumnOut,
    UploadFormat,
    answer_format,
    page,
    parse_upload,
    upload_format,
)
from podium.data import names
from podium.data.lake import SchemaMode, WriteMode
from podium.data.maintenance import MIN_RETAIN_HOURS
from podium.data.names import parse_table_name
from podium.data.service import ViewMode
from podium.data.types import HistoryEntry, OptimizeResult, TableVersion

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["data"])

_DEFAULT_SQL_ROWS = 1_000


class TableVersionOut(BaseModel):
    """A committed version: ``ref`` (``raw.customers@3``) is what a run records."""

    name: str
    version: int
    rows_written: int
    ref: str

    @classmethod
    def of(cls, committed: TableVersion) -> TableVersionOut:
        return cls(
            name=committed.name,
            version=committed.version,
            rows_written=committed.rows_written,
            ref=committed.ref,
        )


class TableRef(BaseModel):
    name: str
    version: int
    ref: str


class TableInfoOut(BaseModel):
    name: str
    version: int
    columns: list[ColumnOut]
    row_count: int
    size_bytes: int
    num_files: int
    partition_columns: list[str]
    created_at: datetime
    last_modified: datetime


class DeleteIn(RequestBody):
    where: str


class RestoreIn(RequestBody):
    version: int = Field(ge=0, strict=True)


class OptimizeIn(RequestBody):
    target_size: int | None = Field(default=None, gt=0)


class VacuumIn(RequestBody):
    retain_hours: int = Field(default=MIN_RETAIN_HOURS, ge=0)
    dry_run: bool = True
    enforce_retention: bool = True


class VacuumOut(BaseModel):
    files: list[str]
    dry_run: bool


class SqlIn(RequestBody):
    query: str
    limit: int | None = Field(default=None, ge=1)


class ViewIn(RequestBody):
    name: str
    query: str
    mode: ViewMode = "overwrite"


def _table(name: str) -> str:
    return str(parse_table_name(name))  # 400 before anything is opened


# -- routes ------------------------------------------------------------------------------


@router.get("/tables")
def list_tables(request: Request, who: Reader) -> list[TableRef]:
    data = platform_of(request, who).data
    refs = [data.ref(name) for name in data.tables()]
    return [_table_ref(ref) for ref in refs]


@router.get("/tables/{name}/version")
def table_version(name: str, request: Request, who: Reader) -> TableRef:
    ref = platform_of(request, who).data.ref(_table(name))
    return _table_ref(ref)


def _table_ref(ref: str) -> TableRef:
    parsed = names.TableRef.parse(ref)
    return TableRef(name=parsed.table, version=parsed.version or 0, ref=ref)


@router.get("/tables/{name}/info")
def table_info(name: str, request: Request, who: Reader) -> TableInfoOut:
    info = platform_of(request, who).data.table_info(_table(name))
    return TableInfoOut(
        name=info.name,
        version=info.version,
        columns=[ColumnOut(name=c.name, type=c.type, nullable=c.nullable) for c in info.schema],
        row_count=info.row_count,
        size_bytes=info.size_bytes,
        num_files=info.num_files,
        partition_columns=info.partition_columns,
        created_at=info.created_at,
        last_modified=info.last_modified,
    )


@router.get("/tables/{name}/history")
def table_history(name: str, request: Request, who: Reader) -> list[HistoryEntry]:
    return platform_of(request, who).data.history(_table(name))


@router.get("/tables/{name}/rows", response_class=Response, responses=TABULAR_RESPONSES)
def read_rows(
    name: str,
    request: Request,
    who: Reader,
    version: Annotated[int | None, Query(ge=0)] = None,
    as_of: datetime | None = None,
    columns: Annotated[list[str] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
    format: AnswerFormat | None = None,
) -> Response:
    """A page of the table's rows, now, at ``version`` or as of a time (ISO 8601)."""
    data = platform_of(request, who).data
    table = _table(name)
    if version is None and as_of is None:
        version = data.version(table)  # the page names the exact version it shows
    rows = data.read(table, version=version, as_of=as_of, columns=columns)
    return page(
        request, rows, asked=format, offset=offset, limit=limit, name=table, version=version
    )


@router.post(
    "/tables/{name}/rows",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                **{kind: {} for kind in UPLOAD_TYPES if kind != "application/json"},
            },
        }
    },
)
async def write_rows(
    name: str,
    request: Request,
    who: Writer,
    mode: WriteMode = "append",
    keys: Annotated[list[str] | None, Query()] = None,
    partition_by: Annotated[list[str] | None, Query()] = None,
    schema_mode: SchemaMode | None = None,
    format: UploadFormat | None = None,
    pii: Annotated[list[str] | None, Query()] = None,
) -> TableVersionOut:
    """Write the body's rows to the table in one atomic commit (created if new); ``pii``
    columns are stored as tokens, now and in every later write (ADR 0045)."""
    table = _table(name)
    upload = format or upload_format(request.headers.get("content-type", ""))
    body = await request.body()
    arrow = await run_in_threadpool(parse_upload, body, upload)
    data = (await run_in_threadpool(platform_of, request, who)).data
    committed = await run_in_threadpool(
        data.write,
        table,
        arrow,
        mode=mode,
        keys=keys,
        partition_by=partition_by,
        schema_mode=schema_mode,
        pii=pii,
    )
    return TableVersionOut.of(committed)


@router.post("/tables/{name}/delete")
def delete_rows(name: str, body: DeleteIn, request: Request, who: Writer) -> TableVersionOut:
    data = platform_of(request, who).data
    return TableVersionOut.of(data.delete(_table(name), body.where))


@router.post("/tables/{name}/restore")
def restore_table(name: str, body: RestoreIn, request: Request, who: Writer) -> TableVersionOut:
    data = platform_of(request, who).data
    return TableVersionOut.of(data.restore(_table(name), body.version))


@router.post("/tables/{name}/optimize")
def optimize_table(
    name: str, request: Request, who: Writer, body: Annotated[OptimizeIn | None, Body()] = None
) -> OptimizeResult:
    size = body.target_size if body else None
    return platform_of(request, who).data.optimize(_table(name), target_size=size)


@router.post("/tables/{name}/vacuum")
def vacuum_table(
    name: str, request: Request, who: Writer, body: Annotated[VacuumIn | None, Body()] = None
) -> VacuumOut:
    args = body or VacuumIn()
    if not args.enforce_retention:
        # Vacuuming below the retention window can erase time travel for everyone.
        who.require(Role.ADMIN, action="vacuum without the retention guard")
    files = platform_of(request, who).data.vacuum(
        _table(name),
        retain_hours=args.retain_hours,
        dry_run=args.dry_run,
        enforce_retention=args.enforce_retention,
    )
    return VacuumOut(files=files, dry_run=args.dry_run)


@router.get("/tables/{name}/changes", response_class=Response, responses=TABULAR_RESPONSES)
def table_changes(
    name: str,
    request: Request,
    who: Reader,
    since_version: Annotated[int, Query(ge=0)],
    until_version: Annotated[int | None, Query(ge=0)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1)] = None,
    format: AnswerFormat | None = None,
) -> Response:
    """Every row change since ``since_version`` (Delta's change data feed)."""
    table = _table(name)
    changes = platform_of(request, who).data.changes(
        table, since_version=since_version, until_version=until_version
    )
    return page(request, changes, asked=format, offset=offset, limit=limit, name=table)


@router.post("/sql", response_class=Response, responses=TABULAR_RESPONSES)
def run_sql(
    body: SqlIn, request: Request, who: Reader, format: AnswerFormat | None = None
) -> Response:
    """Read-only DuckDB SQL over the project's tables (JSON: 1,000 rows unless ``limit``)."""
    result = platform_of(request, who).data.sql(body.query)
    limit = body.limit
    if limit is None and answer_format(request, format) == "json":
        limit = _DEFAULT_SQL_ROWS
    return page(request, result, asked=format, offset=0, limit=limit)


@router.post("/views", status_code=201)
def create_view(body: ViewIn, request: Request, who: Writer) -> TableVersionOut:
    data = platform_of(request, who).data
    return TableVersionOut.of(data.create_view(_table(body.name), body.query, mode=body.mode))
