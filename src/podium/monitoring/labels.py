"""From labeled predictions to accuracy and fairness results.

The input is what :meth:`InferenceLogReader.labeled` returns: one row per prediction that got
a feedback label, with prediction and label as text plus their JSON types. A model whose
predictions include a fractional number is a regressor (MAE, RMSE, R²); any other is a
classifier (accuracy, precision, recall, F1, AUC and log loss when probabilities were
logged). Metrics come overall and per version, so a canary is compared with the stable
version on the same window.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from podium.monitoring.accuracy import MetricValue, classification_metrics, regression_metrics
from podium.monitoring.fairness import fairness_metrics
from podium.monitoring.feedback import Label
from podium.monitoring.inference import TimeWindow
from podium.monitoring.protocol import AccuracyResult, FairnessResult, Metric

__all__ = ["accuracy_metrics", "fairness_result"]

Task = Literal["classification", "regression", "unknown"]
_NUMBER_TYPES = {"BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN"}
_NO_LABELS = "not enough data: no prediction of the window has a feedback label yet"


def _task(types: list[str], predictions: list[str]) -> Task:
    fractional = any(
        t == "DOUBLE" and not float(p).is_integer() for t, p in zip(types, predictions, strict=True)
    )
    return "regression" if fractional else "classification"


def _values(texts: list[str], types: list[str], *, numeric: bool) -> np.ndarray[Any, Any]:
    if not numeric:
        return np.asarray(texts, dtype=object)
    array = np.asarray(
        [
            (1.0 if text == "true" else 0.0) if type_ == "BOOLEAN" else float(text)
            for text, type_ in zip(texts, types, strict=True)
        ],
        dtype=np.float64,
    )
    return array.astype(np.int64) if np.all(np.mod(array, 1) == 0) else array


def _metric(value: MetricValue) -> Metric:
    number = value.value
    if number is None or not math.isfinite(number):
        return Metric(value=None, reason=value.reason or "not enough data")
    return Metric(value=float(number), reason=value.reason)


def _metrics(
    task: Task,
    y_true: np.ndarray[Any, Any],
    y_pred: np.ndarray[Any, Any],
    proba: np.ndarray[Any, Any] | None,
) -> dict[str, Metric]:
    if task == "regression":
        raw = regression_metrics(y_true.astype(np.float64), y_pred.astype(np.float64))
    else:
        raw = classification_metrics(y_true, y_pred, proba=proba)
    return {name: _metric(value) for name, value in raw.items()}


class _Labeled:
    """The columns of a labeled window as arrays."""

    def __init__(self, labeled: pa.Table) -> None:
        columns = labeled.to_pydict()
        predictions, labels = columns["prediction"], columns["label"]
        pred_types, label_types = columns["prediction_type"], columns["label_type"]
        self.task = _task(pred_types, predictions)
        numeric = all(t in _NUMBER_TYPES for t in [*pred_types, *label_types])
        self.y_pred = _values(predictions, pred_types, numeric=numeric)
        self.y_true = _values(labels, label_types, numeric=numeric)
        probability = columns.get("probability") or []
        known = bool(probability) and all(p is not None and math.isfinite(p) for p in probability)
        self.proba = np.asarray(probability, dtype=np.float64) if known else None
        self.versions = np.asarray(columns["version"], dtype=object)


def accuracy_metrics(deployment: str, window: TimeWindow, labeled: pa.Table) -> AccuracyResult:
    """Accuracy metrics of ``labeled`` overall and per version."""
    if labeled.num_rows == 0 or "prediction" not in labeled.column_names:
        return AccuracyResult(
            deployment=deployment,
            start=window.start,
            end=window.end,
            task="unknown",
            labeled=0,
            reason=_NO_LABELS,
        )
    rows = _Labeled(labeled)
    per_version: dict[str, dict[str, Metric]] = {}
    counts: dict[str, int] = {}
    for version in sorted({str(v) for v in rows.versions.tolist()}):
        mask = rows.versions == version
        counts[version] = int(mask.sum())
        proba = None if rows.proba is None else rows.proba[mask]
        per_version[version] = _metrics(rows.task, rows.y_true[mask], rows.y_pred[mask], proba)
    return AccuracyResult(
        deployment=deployment,
        start=window.start,
        end=window.end,
        task=rows.task,
        labeled=labeled.num_rows,
        overall=_metrics(rows.task, rows.y_true, rows.y_pred, rows.proba),
        versions=per_version,
        labeled_by_version=counts,
    )


def fairness_result(
    deployment: str,
    attribute: str,
    window: TimeWindow,
    labeled: pa.Table,
    *,
    positive: Label,
    privileged: str | None,
) -> FairnessResult:
    """Group fairness of ``labeled`` (which carries the ``attribute`` column)."""
    if labeled.num_rows == 0 or "attribute" not in labeled.column_names:
        return FairnessResult(
            deployment=deployment,
            attribute=attribute,
            start=window.start,
            end=window.end,
            labeled=0,
            reason=_NO_LABELS,
        )
    rows = _Labeled(labeled)
    sensitive = np.asarray(labeled.column("attribute").to_pylist(), dtype=object)
    report = fairness_metrics(
        rows.y_true, rows.y_pred, sensitive, positive=positive, privileged=privileged
    )
    return FairnessResult(
        deployment=deployment,
        attribute=attribute,
        start=window.start,
        end=window.end,
        labeled=labeled.num_rows,
        metrics={name: _metric(value) for name, value in report.metrics.items()},
        groups={name: group.to_dict() for name, group in report.groups.items()},
    )
