"""Monitoring over HTTP: the same interface as the embedded Monitoring service.

``set_reference`` takes a lake table name (``raw.customers@3``), sent as JSON, or a frame,
uploaded as one Arrow IPC stream; its ``predictions`` is a column name of that data here
(values would have to be uploaded too: add them as a column). ``evaluate_alerts(now=...)``
sends ``now`` as ISO 8601; the server treats a naive one as UTC, as embedded does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
from pydantic import TypeAdapter

from podium.client.data import arrow_bytes
from podium.client.http import ApiClient, url_path
from podium.data.inputs import to_arrow
from podium.errors import InvalidInputError
from podium.monitoring.alerts.rules import AlertRule, parse_rule
from podium.monitoring.alerts.state import Alert
from podium.monitoring.feedback import FeedbackReceipt, Label
from podium.monitoring.frames import Frame, materialize
from podium.monitoring.inference import TimeWindow, Window
from podium.monitoring.protocol import (
    AccuracyResult,
    DriftResult,
    FairnessResult,
    PerformanceResult,
    QualityResult,
    ReferenceInfo,
)

__all__ = ["HttpMonitoring"]

_RULES = TypeAdapter(list[AlertRule])
_ALERTS = TypeAdapter(list[Alert])


def _window(window: Window | None) -> dict[str, Any]:
    if window is None:
        return {}
    if isinstance(window, timedelta):
        TimeWindow.resolve(window)  # fails here as it fails embedded
        return {"window": window.total_seconds()}
    span = TimeWindow.resolve(window)
    return {"start": span.start.isoformat(), "end": span.end.isoformat()}


class HttpMonitoring:
    """The monitoring of a podium server's project."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def _get(self, deployment: str, what: str, params: dict[str, Any]) -> Any:
        path = url_path("/v1/monitoring/deployments/{}/{}", deployment, what)
        return self._api.json("GET", path, params=params)

    def drift(
        self,
        deployment: str,
        *,
        window: Window | None = None,
        reference: str | None = None,
    ) -> DriftResult:
        params = _window(window)
        if reference is not None:
            if not isinstance(reference, str):
                raise InvalidInputError(
                    "over HTTP the reference must be a model ref or a lake table name",
                    field="reference",
                    remedy="write the frame to a lake table and name it",
                )
            params["reference"] = reference
        return DriftResult.model_validate(self._get(deployment, "drift", params))

    def quality(self, deployment: str, *, window: Window | None = None) -> QualityResult:
        return QualityResult.model_validate(self._get(deployment, "quality", _window(window)))

    def performance(
        self, deployment: str, *, window: Window | None = None, by_version: bool = True
    ) -> PerformanceResult:
        params = {**_window(window), "by_version": by_version}
        return PerformanceResult.model_validate(self._get(deployment, "performance", params))

    def accuracy(self, deployment: str, *, window: Window | None = None) -> AccuracyResult:
        return AccuracyResult.model_validate(self._get(deployment, "accuracy", _window(window)))

    def fairness(
        self,
        deployment: str,
        attribute: str,
        *,
        window: Window | None = None,
        positive: Label = 1,
        privileged: str | None = None,
    ) -> FairnessResult:
        params: dict[str, Any] = {**_window(window), "attribute": attribute}
        params["positive"] = str(positive)
        if privileged is not None:
            params["privileged"] = privileged
        return FairnessResult.model_validate(self._get(deployment, "fairness", params))

    def report(self, deployment: str, *, window: Window | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self._get(deployment, "report", _window(window))
        return answer

    def feedback(self, request_id: str, label: Label) -> FeedbackReceipt:
        body = {"request_id": request_id, "label": label}
        return FeedbackReceipt.model_validate(self._api.json("POST", "/v1/feedback", json=body))

    def feedback_many(
        self, labels: Mapping[str, Label] | Iterable[tuple[str, Label]]
    ) -> FeedbackReceipt:
        items = labels.items() if isinstance(labels, Mapping) else labels
        body = {"labels": [{"request_id": r, "label": label} for r, label in items]}
        return FeedbackReceipt.model_validate(self._api.json("POST", "/v1/feedback", json=body))

    def reference(self, model: str, version: int) -> ReferenceInfo:
        path = url_path("/v1/monitoring/references/{}/{}", model, int(version))
        return ReferenceInfo.model_validate(self._api.json("GET", path))

    def set_reference(
        self, model: str, version: int, data: Frame | str, *, predictions: str | None = None
    ) -> ReferenceInfo:
        if predictions is not None and not isinstance(predictions, str):
            raise InvalidInputError(
                "over HTTP the predictions must be a column name of the reference data",
                field="predictions",
                remedy="add the predictions as a column of the data, then name the column",
            )
        path = url_path("/v1/monitoring/references/{}/{}", model, int(version))
        if isinstance(data, str):
            body: dict[str, Any] = {"table": data}
            if predictions is not None:
                body["predictions"] = predictions
            return ReferenceInfo.model_validate(self._api.json("PUT", path, json=body))
        params: dict[str, Any] = {"format": "arrow"}
        if predictions is not None:
            params["predictions"] = predictions
        upload = arrow_bytes(_arrow(data))
        return ReferenceInfo.model_validate(
            self._api.json("PUT", path, content=upload, params=params)
        )

    def contract(self, model: str, version: int) -> dict[str, Any]:
        path = url_path("/v1/monitoring/contracts/{}/{}", model, int(version))
        answer: dict[str, Any] = self._api.json("GET", path)
        return answer

    def set_contract(self, model: str, version: int, contract: Mapping[str, Any]) -> ReferenceInfo:
        path = url_path("/v1/monitoring/contracts/{}/{}", model, int(version))
        return ReferenceInfo.model_validate(self._api.json("PUT", path, json=dict(contract)))

    def rules(self) -> list[AlertRule]:
        return _RULES.validate_python(self._api.json("GET", "/v1/monitoring/rules"))

    def create_rule(self, rule: AlertRule | Mapping[str, Any]) -> AlertRule:
        body = parse_rule(rule).model_dump(mode="json")  # a bad field fails before sending
        return AlertRule.model_validate(self._api.json("POST", "/v1/monitoring/rules", json=body))

    def delete_rule(self, name: str) -> None:
        self._api.request("DELETE", url_path("/v1/monitoring/rules/{}", name))

    def alerts(self, *, state: str | None = None) -> list[Alert]:
        params = {} if state is None else {"state": state}
        return _ALERTS.validate_python(
            self._api.json("GET", "/v1/monitoring/alerts", params=params)
        )

    def evaluate_alerts(self, *, now: datetime | None = None) -> list[Alert]:
        body = None if now is None else {"now": _instant(now)}
        return _ALERTS.validate_python(
            self._api.json("POST", "/v1/monitoring/alerts/evaluate", json=body)
        )


def _arrow(data: Frame) -> pa.Table:
    """``data`` as one Arrow table, as the embedded service reads it (a DataFrame's index
    is not a column there, so it is not sent)."""
    frame = materialize(data, field="data")
    if isinstance(frame, pd.DataFrame):
        return to_arrow(frame.reset_index(drop=True))
    return frame


def _instant(now: datetime) -> str:
    if not isinstance(now, datetime):
        raise InvalidInputError(
            f"the 'now' parameter must be a datetime; got {type(now).__name__} instead",
            field="now",
            remedy="pass e.g. datetime.now(timezone.utc)",
        )
    return now.isoformat()
