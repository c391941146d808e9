"""``/v1/monitoring/...`` and ``POST /v1/feedback``: monitoring over HTTP.

A window is ``?window=SECONDS`` (the last N seconds, default one hour) or
``?start=...&end=...`` (ISO 8601 datetimes, end excluded). Results are the pydantic
models of :mod:`podium.monitoring.protocol`; a number that cannot be computed is ``null``
with a ``reason``. A reference is a lake table named in JSON or rows uploaded as an Arrow
IPC stream (:mod:`podium.api.tabular`), under the server's body size limit.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of, set_audit_target
from podium.api.tabular import ARROW_STREAM, parse_upload
from podium.errors import InvalidInputError
from podium.monitoring.alerts.rules import AlertRule
from podium.monitoring.alerts.state import Alert
from podium.monitoring.feedback import FeedbackReceipt
from podium.monitoring.inference import Window
from podium.monitoring.protocol import (
    AccuracyResult,
    DriftResult,
    FairnessResult,
    PerformanceResult,
    QualityResult,
    ReferenceInfo,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["monitoring"])

WindowSeconds = Annotated[
    float | None, Query(gt=0, le=366 * 24 * 3600, description="the last N seconds")
]
Start = Annotated[datetime | None, Query(description="window start (ISO 8601)")]
End = Annotated[datetime | None, Query(description="window end, excluded (ISO 8601)")]


class LabelIn(RequestBody):
    request_id: Any = None
    label: Any = None


class FeedbackIn(RequestBody):
    """One label (``request_id`` and ``label``) or many (``labels``)."""

    request_id: Any = None
    label: Any = None
    labels: list[LabelIn] | None = Field(default=None, max_length=100_000)


class ReferenceIn(RequestBody):
    """A lake table to profile; ``predictions`` names its column of model predictions
    (by default the model version predicts on the table's rows)."""

    table: str
    predictions: str | None = None


# A version number the metadata database can hold (SQLite and PostgreSQL integers).
ModelVersion = Annotated[int, Path(ge=1, le=2**31 - 1, description="the model version")]


class EvaluateIn(RequestBody):
    """``now``: evaluate as of this time (ISO 8601; without an offset it is UTC)."""

    now: datetime | None = None

    @field_validator("now", mode="before")
    @classmethod
    def _text_only(cls, value: Any) -> Any:
        # The schema says an ISO 8601 string; pydantic alone would take a number of seconds.
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("now must be an ISO 8601 time, e.g. '2026-12-06T12:00:00Z'")
        return value


ReferenceFormat = Literal["json", "arrow"]


def _window(window: WindowSeconds = None, start: Start = None, end: End = None) -> Window | None:
    """The window a route's ``?window=SECONDS`` or ``?start=&end=`` names (None: default)."""
    if start is not None or end is not None:
        if start is None or end is None or window is not None:
            raise InvalidInputError(
                "a window is either ?window=SECONDS or both ?start= and ?end=",
                field="window",
                remedy="pass window=3600, or start and end as ISO 8601 datetimes",
            )
        return (start, end)
    return None if window is None else timedelta(seconds=window)


TimeWindow = Annotated[Window | None, Depends(_window)]


@router.post("/feedback", status_code=201)
def post_feedback(body: FeedbackIn, request: Request, who: Writer) -> FeedbackReceipt:
    """Record the true outcome of a prediction (or many) by its ``request_id``."""
    monitoring = platform_of(request, who).monitoring
    if body.labels is not None:
        if body.request_id is not None or body.label is not None:
            raise InvalidInputError(
                "send either request_id and label, or labels, not both",
                field="labels",
                remedy="put every label into 'labels' as {request_id, label} objects",
            )
        return monitoring.feedback_many([(item.request_id, item.label) for item in body.labels])
    return monitoring.feedback(body.request_id, body.label)


@router.get("/monitoring/deployments/{deployment}/drift")
def drift(
    deployment: str,
    request: Request,
    who: Reader,
    window: TimeWindow,
    reference: str | None = None,
) -> DriftResult:
    monitoring = platform_of(request, who).monitoring
    return monitoring.drift(deployment, window=window, reference=reference)


@router.get("/monitoring/deployments/{deployment}/quality")
def quality(
    deployment: str,
    request: Request,
    who: Reader,
    window: TimeWindow,
) -> QualityResult:
    monitoring = platform_of(request, who).monitoring
    return monitoring.quality(deployment, window=window)


@router.get("/monitoring/deployments/{deployment}/performance")
def performance(
    deployment: str,
    request: Request,
    who: Reader,
    window: TimeWindow,
    by_version: bool = True,
) -> PerformanceResult:
    monitoring = platform_of(request, who).monitoring
    return monitoring.performance(deployment, window=window, by_version=by_version)


@router.get("/monitoring/deployments/{deployment}/accuracy")
def accuracy(
    deployment: str,
    request: Request,
    who: Reader,
    window: TimeWindow,
) -> AccuracyResult:
    monitoring = platform_of(request, who).monitoring
    return monitoring.accuracy(deployment, window=window)


@router.get("/monitoring/deployments/{deployment}/fairness")
def fairness(
    deployment: str,
    attribute: str,
    request: Request,
    who: Reader,
    window: TimeWindow,
    positive: str = "1",
    privileged: str | None = None,
) -> FairnessResult:
    """``positive`` is the positive class; digits mean a number (``1``), else text."""
    label: int | float | str = positive
    with contextlib.suppress(ValueError):  # else a class name
        label = float(positive) if "." in positive else int(positive)
    monitoring = platform_of(request, who).monitoring
    return monitoring.fairness(
        deployment,
        attribute,
        window=window,
        positive=label,
        privileged=privileged,
    )


@router.get("/monitoring/deployments/{deployment}/report")
def report(
    deployment: str,
    request: Request,
    who: Reader,
    window: TimeWindow,
) -> dict[str, Any]:
    """The JSON twin of the HTML report (``podium monitor report`` renders it)."""
    monitoring = platform_of(request, who).monitoring
    return monitoring.report(deployment, window=window)


@router.get("/monitoring/references/{model}/{version}")
def get_reference(
    model: str, version: ModelVersion, request: Request, who: Reader
) -> ReferenceInfo:
    return platform_of(request, who).monitoring.reference(model, version)


@router.put(
    "/monitoring/references/{model}/{version}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ReferenceIn.model_json_schema()},
                ARROW_STREAM: {},
            },
        }
    },
)
async def set_reference(
    model: str,
    version: ModelVersion,
    request: Request,
    who: Writer,
    predictions: Annotated[
        str | None, Query(description="with Arrow rows: their column of predictions")
    ] = None,
    format: ReferenceFormat | None = None,
) -> ReferenceInfo:
    """Profile a lake table (JSON ``{"table": "raw.customers@3"}``) or the rows of an Arrow
    IPC stream (``?format=arrow`` or its ``Content-Type``) as the reference of the version,
    with the version's predictions on them (or those in the column ``predictions`` names)."""
    raw = await request.body()
    data: pa.Table | str
    if (format or _reference_format(request)) == "arrow":
        data = await run_in_threadpool(parse_upload, raw, "arrow")
    else:
        body = _reference_in(raw)
        if predictions is not None:
            raise InvalidInputError(
                "with a JSON body, name the predictions column in the body, not the query",
                field="predictions",
                remedy='send {"table": ..., "predictions": ...}',
            )
        data, predictions = body.table, body.predictions
    monitoring = (await run_in_threadpool(platform_of, request, who)).monitoring
    return await run_in_threadpool(
        monitoring.set_reference, model, version, data, predictions=predictions
    )


def _reference_format(request: Request) -> ReferenceFormat:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return "arrow" if media == ARROW_STREAM else "json"


def _reference_in(raw: bytes) -> ReferenceIn:
    """The JSON body, refused as FastAPI refuses any invalid body (the same 400s)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        error = {"type": "json_invalid", "loc": ("body", position), "ctx": {"error": reason}}
        raise RequestValidationError([{**error, "msg": "JSON decode error"}]) from None
    try:
        return ReferenceIn.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


@router.get("/monitoring/contracts/{model}/{version}")
def get_contract(
    model: str, version: ModelVersion, request: Request, who: Reader
) -> dict[str, Any]:
    return platform_of(request, who).monitoring.contract(model, version)


@router.put("/monitoring/contracts/{model}/{version}")
def set_contract(
    model: str, version: ModelVersion, body: dict[str, Any], request: Request, who: Writer
) -> ReferenceInfo:
    return platform_of(request, who).monitoring.set_contract(model, version, body)


@router.get("/monitoring/rules")
def list_rules(request: Request, who: Reader) -> list[AlertRule]:
    return platform_of(request, who).monitoring.rules()


@router.post("/monitoring/rules", status_code=201)
def create_rule(rule: AlertRule, request: Request, who: Writer) -> AlertRule:
    created = platform_of(request, who).monitoring.create_rule(rule)
    set_audit_target(request, f"/v1/monitoring/rules/{created.name}")
    return created


@router.delete("/monitoring/rules/{name}", status_code=204)
def delete_rule(name: str, request: Request, who: Writer) -> Response:
    platform_of(request, who).monitoring.delete_rule(name)
    return Response(status_code=204)


@router.get("/monitoring/alerts")
def list_alerts(
    request: Request, who: Reader, state: Annotated[str | None, Query()] = None
) -> list[Alert]:
    return platform_of(request, who).monitoring.alerts(state=state)


@router.post("/monitoring/alerts/evaluate")
def evaluate_alerts(request: Request, who: Writer, body: EvaluateIn | None = None) -> list[Alert]:
    """Evaluate every rule now (or as of the body's ``now``); the alerts that fired or
    resolved."""
    now = None if body is None else body.now
    return platform_of(request, who).monitoring.evaluate_alerts(now=now)
