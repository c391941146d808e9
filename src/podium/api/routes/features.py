"""``/v1/features``: the feature store over HTTP, including the feature server.

Definitions travel as ``{"kind", "name", "spec", "description", "owner", "tags"}``, the
``spec`` being what ``to_spec()`` of the Python object gives; the server rebuilds the
objects, so an on-demand view's function must be importable on the server too.

``POST /v1/features/online`` is the feature server: it reads definitions from the
service's in-memory cache, never the metadata database. ``POST /v1/features/historical``
takes the entity frame as an Arrow IPC stream or as JSON ``{"rows": [...]}``; in JSON,
``event_timestamp`` values are ISO 8601 strings (a time without an offset is UTC). The
answer is an Arrow IPC stream, with the table versions read in ``X-Podium-Inputs`` and
the pinned feature references in ``X-Podium-Features``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StrictBool, field_validator
from starlette.concurrency import run_in_threadpool

from podium.access.roles import Principal, Role
from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, installation, platform_of, set_audit_target
from podium.api.tabular import (
    ARROW_STREAM,
    UPLOAD_TYPES,
    UploadFormat,
    arrow_response,
    json_value,
    parse_upload,
    upload_format,
)
from podium.data.names import parse_table_name
from podium.errors import InvalidInputError, PodiumError
from podium.features.definitions import Definition, definition_from_spec
from podium.features.historical import EVENT_TIMESTAMP, HistoricalFeatures
from podium.features.protocol import Features
from podium.features.stored import Change, StoredDefinition

__all__ = [
    "FEATURES_HEADER",
    "INPUTS_HEADER",
    "SAVED_HEADER",
    "change_json",
    "router",
    "stored_json",
]

router = APIRouter(prefix="/v1/features", tags=["features"])

INPUTS_HEADER = "x-podium-inputs"
"""Comma-separated lake table versions a training set was computed from."""
FEATURES_HEADER = "x-podium-features"
"""Comma-separated pinned feature references (``view@1:feature``) of a training set."""
SAVED_HEADER = "x-podium-saved"
"""The table version (``curated.train@0``) a saved training set was written to."""

Kind = Literal["entity", "feature_view", "on_demand_feature_view", "feature_service"]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            **{kind: {} for kind in UPLOAD_TYPES if kind != "application/json"},
        },
    }
}


class DefinitionIn(RequestBody):
    """One definition as ``to_spec()`` describes it, with its metadata."""

    kind: Kind
    name: str
    spec: dict[str, Any]
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class DefinitionsIn(RequestBody):
    definitions: list[DefinitionIn] = Field(min_length=1)


class OnlineIn(RequestBody):
    """Entity rows and either feature references or the name of a feature service."""

    entity_rows: list[dict[str, Any]]
    features: list[str] | None = None
    feature_service: str | None = None


class MaterializeIn(RequestBody):
    start: datetime | None = None
    end: datetime | None = None
    views: list[str] | None = None
    incremental: StrictBool = False  # 0 or "yes" is a 400, as the schema's boolean says

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # The schema says an ISO 8601 string; pydantic alone would take a number of seconds.
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("start and end must be ISO 8601 times, e.g. '2026-12-06T12:00:00Z'")
        return value


# -- encoding ----------------------------------------------------------------------------


def change_json(change: Change) -> dict[str, Any]:
    """A planned change with everything needed to rebuild it on the client."""
    return {
        **change.to_dict(),
        "spec": change.spec,
        "fingerprint": change.fingerprint,
        "description": change.description,
        "owner": change.owner,
        "tags": dict(change.tags),
    }


def stored_json(stored: StoredDefinition) -> dict[str, Any]:
    """A stored definition as JSON (``to_dict()`` plus its fingerprint)."""
    return {**stored.to_dict(), "fingerprint": stored.fingerprint}


def _json(result: BaseModel) -> dict[str, Any]:
    """A feature store result as JSON, times as ``isoformat()`` gives them (``+00:00``),
    as these routes answered before the results were models."""
    answer: dict[str, Any] = json_value(result.model_dump())
    return answer


def _definitions(body: DefinitionsIn) -> list[Definition]:
    built: list[Definition] = []
    for index, item in enumerate(body.definitions):
        where = f"definitions.{index}"
        try:
            built.append(
                definition_from_spec(
                    item.kind,
                    item.name,
                    item.spec,
                    description=item.description,
                    owner=item.owner,
                    tags=item.tags,
                )
            )
        except InvalidInputError as exc:
            if item.kind == "on_demand_feature_view" and exc.field == "function":
                raise InvalidInputError(
                    f"{exc.message}; the server runs on-demand functions itself, so their "
                    "module must be importable where the podium server runs",
                    field=f"{where}.spec.function",
                    remedy="install the module defining the function on the server "
                    "(the same version as the client's), then apply again",
                ) from exc
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(
                f"the spec of {item.kind} '{item.name}' is not what to_spec() gives: "
                f"{type(exc).__name__}: {exc}",
                field=f"{where}.spec",
                remedy="send each definition's kind, name and to_spec(), as the podium client does",
            ) from exc
    return built


def _feature_list(features: Sequence[str] | None, service: str | None) -> list[str] | str:
    if (features is None) == (service is None):
        raise InvalidInputError(
            "name either features (view:feature references) or a feature_service, not "
            f"{'both' if features is not None else 'neither'}",
            field="features",
            remedy="send features=['customer_stats:tenure_months', ...] or feature_service=name",
        )
    if service is not None:
        return service
    assert features is not None
    return list(features)


def _timestamps(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """String columns among ``columns`` parsed as ISO 8601 times (UTC when no offset)."""
    for name in columns:
        if name not in table.column_names:
            continue
        index = table.column_names.index(name)
        column = table.column(index)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        try:
            parsed = pd.to_datetime(pd.Series(column.to_pylist()), utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"column '{name}' must hold ISO 8601 times, e.g. '2024-05-01T12:00:00Z': "
                f"{str(exc).splitlines()[0]}",
                field=name,
                remedy="send times as ISO 8601 strings, or send the rows as Arrow",
            ) from exc
        values = pa.array(parsed, type=pa.timestamp("us", tz="UTC"), from_pandas=True)
        table = table.set_column(index, name, values)
    return table


def _rows_body(body: bytes, upload: UploadFormat, time_columns: Sequence[str]) -> pa.Table:
    table = parse_upload(body, upload)
    return _timestamps(table, time_columns) if upload == "json" else table


def _header(values: Sequence[str]) -> str:
    return ",".join(values)


def _audit_save(request: Request, who: Principal, target: str, outcome: str) -> None:
    installation(request).audit.record(
        project_id=who.project_id,
        actor=who.actor,
        action="save_training_set",
        target="".join(c for c in target if c.isprintable())[:200],
        outcome=outcome,
        request_id=getattr(request.state, "request_id", ""),
        detail={"method": request.method},
    )


def _features_of(request: Request, who: Principal) -> Features:
    return platform_of(request, who).features


# -- definitions -------------------------------------------------------------------------


@router.post("/plan")
def plan(body: DefinitionsIn, request: Request, who: Writer) -> list[dict[str, Any]]:
    """What ``apply`` would change for these definitions; stores nothing."""
    changes = _features_of(request, who).plan(_definitions(body))
    return [change_json(change) for change in changes]


@router.post("/apply")
def apply(body: DefinitionsIn, request: Request, who: Writer) -> list[dict[str, Any]]:
    """Check and store the definitions in one transaction; returns what changed."""
    set_audit_target(request, ",".join(f"{d.kind}:{d.name}" for d in body.definitions)[:500])
    changes = _features_of(request, who).apply(_definitions(body))
    return [change_json(change) for change in changes]


@router.get("/definitions")
def list_definitions(
    request: Request, who: Reader, kind: Kind | None = None
) -> list[dict[str, Any]]:
    """The newest version of every definition, optionally of one ``kind``."""
    stored = _features_of(request, who).list_definitions(kind)
    return [stored_json(item) for item in stored]


@router.get("/definitions/{name}")
def describe(name: str, request: Request, who: Reader) -> dict[str, Any]:
    """A view's, service's or entity's definition, versions, users and freshness."""
    return _json(_features_of(request, who).describe(name))


@router.get("/definitions/{name}/stored")
def stored(
    name: str,
    request: Request,
    who: Reader,
    kind: Kind = "feature_view",
    version: Annotated[int | None, Query(ge=1)] = None,
) -> DefinitionIn:
    """The definition ``name`` of ``kind`` (newest, or ``version``) as ``apply`` takes it."""
    found = _features_of(request, who).get(name, kind=kind, version=version)
    return DefinitionIn(
        kind=found.kind,
        name=found.name,
        spec=found.to_spec(),
        description=found.description,
        owner=found.owner,
        tags=dict(found.tags),
    )


@router.get("/search")
def search(
    request: Request, who: Reader, q: Annotated[str, Query(min_length=1)]
) -> list[dict[str, Any]]:
    """Definitions and features whose name, description, owner or tags contain ``q``."""
    return [_json(hit) for hit in _features_of(request, who).search(q)]


@router.get("/views/{name}/materializations")
def materializations(name: str, request: Request, who: Reader) -> list[dict[str, Any]]:
    """Every materialization of view ``name``, newest first."""
    return [_json(run) for run in _features_of(request, who).materializations(name)]


# -- reading -----------------------------------------------------------------------------


@router.post("/online")
def online(body: OnlineIn, request: Request, who: Reader) -> dict[str, Any]:
    """The feature server: the latest values of features for a few entities.

    Answers ``{"entities": {key: [...]}, "features": {name: [...]}, "statuses": {name:
    [...]}, "versions": {view: n}}``; a status is ``present``, ``missing`` or
    ``outside_ttl``.
    """
    wanted = _feature_list(body.features, body.feature_service)
    result = _features_of(request, who).get_online_features(body.entity_rows, wanted)
    answer = result.to_json()
    answer["features"] = {name: json_value(values) for name, values in answer["features"].items()}
    columns: dict[str, list[Any]] = {}
    for row in body.entity_rows:
        for key in row:
            columns.setdefault(key, [])
    answer["entities"] = {
        key: [json_value(row.get(key)) for row in body.entity_rows] for key in columns
    }
    return answer


@router.post(
    "/historical",
    response_class=Response,
    responses={200: {"content": {ARROW_STREAM: {}}}},
    openapi_extra=_UPLOAD_BODY,
)
async def historical(
    request: Request,
    who: Reader,
    features: Annotated[list[str] | None, Query()] = None,
    feature_service: str | None = None,
    save: str | None = None,
    format: UploadFormat | None = None,
) -> Response:
    """A point-in-time correct training set for the entity rows of the body.

    The body is an Arrow IPC stream or JSON ``{"rows": [...]}`` with the join keys and
    ``event_timestamp``; in JSON, ``event_timestamp`` is an ISO 8601 string (UTC when it
    has no offset). The answer is an Arrow IPC stream; ``X-Podium-Inputs`` names the table
    versions read and ``X-Podium-Features`` the pinned feature references.

    With ``?save=zone.name`` (writer role) it is also written to that lake table, whose
    version comes back in ``X-Podium-Saved``.
    """
    wanted = _feature_list(features, feature_service)
    if save is None:
        result, headers = await _training_set(request, who, wanted, format)
        return await run_in_threadpool(arrow_response, result.to_arrow(), headers)
    # Saving writes to the lake: it needs a writer and is audited like every mutation.
    outcome = "ok"
    try:
        table_name = str(parse_table_name(save))
        who.require(Role.WRITER, action="saving a training set")
        result, headers = await _training_set(request, who, wanted, format)
        saved = await run_in_threadpool(result.save, table_name)
    except PodiumError as exc:
        outcome = exc.code
        raise
    except Exception:
        outcome = "internal"
        raise
    finally:
        await run_in_threadpool(_audit_save, request, who, save, outcome)
    headers[SAVED_HEADER] = saved.ref
    return await run_in_threadpool(arrow_response, result.to_arrow(), headers)


async def _training_set(
    request: Request, who: Principal, wanted: list[str] | str, asked: UploadFormat | None
) -> tuple[HistoricalFeatures, dict[str, str]]:
    upload = asked or upload_format(request.headers.get("content-type", ""))
    body = await request.body()
    entity = await run_in_threadpool(_rows_body, body, upload, [EVENT_TIMESTAMP])
    store = await run_in_threadpool(_features_of, request, who)
    result = await run_in_threadpool(store.get_historical_features, entity, wanted)
    headers = {INPUTS_HEADER: _header(result.inputs), FEATURES_HEADER: _header(result.features)}
    return result, headers


# -- writing -----------------------------------------------------------------------------


@router.post("/materialize")
def materialize(body: MaterializeIn, request: Request, who: Writer) -> list[dict[str, Any]]:
    """Load each online view's latest values in [start, end] into the online store.

    ``incremental`` starts each view where its last materialization ended (``start`` is
    then not allowed).
    """
    store = _features_of(request, who)
    if body.incremental:
        if body.start is not None:
            raise InvalidInputError(
                "an incremental materialization starts where the last one ended; it takes no start",
                field="start",
                remedy="drop start, or set incremental to false",
            )
        done = store.materialize_incremental(body.end, views=body.views)
    else:
        done = store.materialize(body.start, body.end, views=body.views)
    return [_json(item) for item in done]


@router.post("/push/{view}", openapi_extra=_UPLOAD_BODY)
async def push(
    view: str,
    request: Request,
    who: Writer,
    format: UploadFormat | None = None,
) -> dict[str, Any]:
    """Append rows to the view's source table and write them to the online store.

    In JSON rows, the view's timestamp columns are ISO 8601 strings (UTC without offset).
    """
    set_audit_target(request, f"feature_view:{view}")
    upload = format or upload_format(request.headers.get("content-type", ""))
    body = await request.body()
    store = await run_in_threadpool(_features_of, request, who)
    time_columns: list[str] = []
    if upload == "json":
        spec = (await run_in_threadpool(store.describe, view)).spec
        time_columns = [
            name
            for name in (spec.get("timestamp_field"), spec.get("created_timestamp_field"))
            if isinstance(name, str)
        ]
    rows = await run_in_threadpool(_rows_body, body, upload, time_columns)
    return _json(await run_in_threadpool(store.push, view, rows))
